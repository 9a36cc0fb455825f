--
-- validation_0_2: the errors of the 0.2 API, shown in full (message, detail, hint,
-- SQLSTATE): grading_weights and grade_boundaries edits, grade/admit, the warning
-- lifecycle, draw_inspections and verify_draw; plus the analyst views in a session
-- that has not loaded the module yet.  Operators 'VR-...'.  Everything runs in one
-- transaction that is rolled back at the end (psql rolls back to an implicit savepoint
-- after each failing statement), so later tests see nothing of it.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
BEGIN;
\set ON_ERROR_ROLLBACK on
-- ---------------------------------------------------------------- views in a fresh session
-- nothing of the module has run in this session: the views must work all the same
-- (credit_sandbox.time_zone defaults to Asia/Shanghai: 2041-03-14 20:00 UTC is 03-15 there)
WITH w AS (
    INSERT INTO credit_sandbox.warnings (operator_id, code, list, subject_key, source_table, source_id,
                                         occurred_at, rule_version, evidence, last_hit_at)
    VALUES ('VR-V', 'RL03', 'risk_trigger', 'gun', 'transactions', 0, '2041-03-14 20:00+00', 1, '{}', '2041-03-14 20:00+00')
    RETURNING warning_id, operator_id, occurred_at)
INSERT INTO credit_sandbox.warning_hits (warning_id, operator_id, source_table, source_id, hit_at)
SELECT warning_id, operator_id, 'transactions', 0, occurred_at FROM w;
SELECT day, code, list, hits, warnings, operators
  FROM credit_sandbox.rule_hits_daily WHERE day BETWEEN '2041-03-13' AND '2041-03-16';
SELECT operator_id, code, status, registered, in_sandbox
  FROM credit_sandbox.open_warnings WHERE operator_id = 'VR-V';
-- ---------------------------------------------------------------- grading_weights
INSERT INTO credit_sandbox.grading_weights (indicator, weight, description) VALUES ('charm', 1, 'x');
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET indicator = 'admin_tip' WHERE indicator = 'admin_tips';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = -1 WHERE indicator = 'admin_tips';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = -0.01 WHERE indicator = 'warning_clues';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = NULL WHERE indicator = 'admin_tips';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = 'Infinity' WHERE indicator = 'dishonest_list';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = '-Infinity' WHERE indicator = 'dishonest_list';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grading_weights SET weight = 'NaN' WHERE indicator = 'abnormal_list';
\echo :LAST_ERROR_SQLSTATE
-- accepted: 0 and any finite positive weight
UPDATE credit_sandbox.grading_weights SET weight = 0 WHERE indicator = 'admin_tips';
UPDATE credit_sandbox.grading_weights SET weight = 1000.5 WHERE indicator = 'refusals_per_1000_orders';
SELECT indicator, weight FROM credit_sandbox.grading_weights ORDER BY indicator;
-- ---------------------------------------------------------------- grade_boundaries
INSERT INTO credit_sandbox.grade_boundaries (class, min_score) VALUES ('E', 10);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.grade_boundaries (class, min_score) VALUES ('D', 10);
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grade_boundaries SET min_score = 100.01 WHERE class = 'A';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grade_boundaries SET min_score = -1 WHERE class = 'C';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grade_boundaries SET min_score = NULL WHERE class = 'B';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grade_boundaries SET min_score = 95 WHERE class = 'B';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.grade_boundaries SET min_score = 70 WHERE class = 'C';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM credit_sandbox.grade_boundaries WHERE class = 'C';
\echo :LAST_ERROR_SQLSTATE
-- checked when the statement ends: moving all three at once is fine, and so are 0 and 100
UPDATE credit_sandbox.grade_boundaries b SET min_score = d.m
  FROM (VALUES ('A', 100), ('B', 1), ('C', 0)) d(c, m) WHERE b.class = d.c;
SELECT class, min_score FROM credit_sandbox.grade_boundaries ORDER BY class;
UPDATE credit_sandbox.grade_boundaries b SET min_score = d.m
  FROM (VALUES ('A', 90), ('B', 70), ('C', 50)) d(c, m) WHERE b.class = d.c;
UPDATE credit_sandbox.grading_weights g SET weight = d.w
  FROM (VALUES ('admin_tips', 4), ('refusals_per_1000_orders', 5)) d(i, w) WHERE g.indicator = d.i;
-- ---------------------------------------------------------------- grade and admit
INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits) VALUES
    ('VR-A', 'clean', 'Test', '2015-01-01', '2040-12-31', '{}'),
    ('VR-B', 'no licence', 'Test', '2015-01-01', NULL, '{}'),
    ('VR-C', 'abnormal list', 'Test', '2015-01-01', '2040-12-31', '{}'),
    ('VR-D', 'dishonest, no licence', 'Test', '2015-01-01', NULL, '{}');
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES
    ('VR-C', 'abnormal', '2020-01-01'), ('VR-D', 'dishonest', '2020-01-01');
SELECT credit_sandbox.grade('VR-nobody', '2030-06-15 04:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.grade(NULL, '2030-06-15 04:00+00') IS NULL AS strict_null;
SELECT credit_sandbox.admit('VR-nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.admit('VR-B');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.admit('VR-C');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.admit('VR-D');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.admit('VR-A') AS first, credit_sandbox.admit('VR-A') AS again;
-- a refused admission leaves no grade behind; graded explicitly, the four classes
SELECT c.operator_id, c.class, c.score, g.hard_rules, g.cause
  FROM credit_sandbox.operator_classes c JOIN credit_sandbox.operator_grades g USING (grade_id)
 WHERE c.operator_id LIKE 'VR-%' ORDER BY c.operator_id;
SELECT o AS operator_id, credit_sandbox.grade(o, '2030-06-15 04:00+00') AS class
  FROM unnest('{VR-A,VR-B,VR-C,VR-D}'::text[]) o ORDER BY o;
SELECT c.operator_id, c.class, c.score, g.score_class, g.hard_rules, g.cause
  FROM credit_sandbox.operator_classes c JOIN credit_sandbox.operator_grades g USING (grade_id)
 WHERE c.operator_id LIKE 'VR-%' ORDER BY c.operator_id;
SELECT operator_id, exited_at IS NULL AS member FROM credit_sandbox.sandbox_memberships
 WHERE operator_id LIKE 'VR-%' ORDER BY operator_id;
-- ---------------------------------------------------------------- the warning lifecycle
SELECT credit_sandbox.acknowledge(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.record_correction(-1, 'fixed');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.close_warning(-1);
\echo :LAST_ERROR_SQLSTATE
-- wrong states (the warning id in the message replaced by N)
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN format('%s %s (hint: %s)', st, regexp_replace(msg, '^warning \d+ ', 'warning N '), hint);
END $$;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, item_id, item_title, category, quantity, unit_price)
VALUES ('VR-A', '2030-06-01 04:00+00', 'b', 'gun', 'x', 'firearms', 1, 10);
SELECT warning_id AS vr_clue FROM credit_sandbox.warnings WHERE operator_id = 'VR-A' AND code = 'RL03' \gset
SELECT step, pg_temp.try(q) AS outcome FROM (VALUES
    (1, 'SELECT credit_sandbox.acknowledge(' || :vr_clue || ', ''seen'')'),
    (2, 'SELECT credit_sandbox.acknowledge(' || :vr_clue || ')'),
    (3, 'SELECT credit_sandbox.record_correction(' || :vr_clue || ', ''fixed'')'),
    (4, 'SELECT credit_sandbox.record_correction(' || :vr_clue || ')'),
    (5, 'SELECT credit_sandbox.acknowledge(' || :vr_clue || ')'),
    (6, 'SELECT credit_sandbox.close_warning(' || :vr_clue || ', ''closed'')'),
    (7, 'SELECT credit_sandbox.close_warning(' || :vr_clue || ')'),
    (8, 'SELECT credit_sandbox.record_correction(' || :vr_clue || ')')) s(step, q)
 ORDER BY step;
SELECT status, status_note FROM credit_sandbox.warnings WHERE warning_id = :vr_clue;
-- ---------------------------------------------------------------- draw_inspections
SELECT credit_sandbox.draw_inspections('');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '[0.03, 0.1]');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', 'null');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"A": 0.03, "E": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"b": 0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"A": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"B": -0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"C": "0.3"}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"D": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"D": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT credit_sandbox.verify_draw(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS no_tasks FROM credit_sandbox.draw_tasks(-1);
-- the edges are accepted: an empty object, ratios 0 and 1, one inspector per task
SELECT credit_sandbox.draw_inspections('s', '{}', 1) > 0 AS empty_ratios_ok;
SELECT credit_sandbox.draw_inspections('s', '{"A": 0, "B": 1, "C": 0.5, "D": 1.0}', 1) > 0 AS edges_ok;
ROLLBACK;
\set ON_ERROR_ROLLBACK off
