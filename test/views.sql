-- views.sql -- pgTAP: what analysts see (SPEC.md sections 4 and 6, api 0.2):
-- no_disturbance, open_warnings, operator_risk, rule_hits_daily (hits per legal day) and
-- summary (checked against direct counts and against the changes that move them).
-- Operators 'V-...', admitted as of now (clean), warning data in 2030-2031.
-- One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(49);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
CREATE FUNCTION pg_temp.in_no_disturbance(op text) RETURNS boolean LANGUAGE sql AS
$$ SELECT EXISTS (SELECT FROM credit_sandbox.no_disturbance WHERE operator_id = op) $$;
-- summary as one row, and the same figures counted directly
CREATE FUNCTION pg_temp.summary() RETURNS TABLE (sandbox_operators bigint, no_disturbance_operators bigint,
        warning_clues bigint, admin_tips bigint, classified_operators bigint, random_spot_checks bigint,
        triggered_inspections bigint) LANGUAGE sql AS
$$ SELECT sandbox_operators, no_disturbance_operators, warning_clues, admin_tips, classified_operators,
          random_spot_checks, triggered_inspections FROM credit_sandbox.summary $$;
CREATE FUNCTION pg_temp.summary_counted_directly() RETURNS TABLE (sandbox_operators bigint, no_disturbance_operators bigint,
        warning_clues bigint, admin_tips bigint, classified_operators bigint, random_spot_checks bigint,
        triggered_inspections bigint) LANGUAGE sql AS
$$ SELECT (SELECT count(DISTINCT operator_id) FROM credit_sandbox.sandbox_memberships m WHERE m.exited_at IS NULL),
          (SELECT count(DISTINCT m.operator_id) FROM credit_sandbox.sandbox_memberships m
            WHERE m.exited_at IS NULL
              AND NOT EXISTS (SELECT FROM credit_sandbox.warnings w WHERE w.operator_id = m.operator_id
                                 AND w.status IN ('open', 'acknowledged'))),
          (SELECT count(*) FROM credit_sandbox.warnings WHERE list = 'risk_trigger'),
          (SELECT count(*) FROM credit_sandbox.warnings WHERE list = 'admin_tip'),
          (SELECT count(*) FROM (SELECT DISTINCT operator_id FROM credit_sandbox.operator_grades) g),
          (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE reason = 'random'),
          (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE reason = 'triggered') $$;

-- =================================================================== fixtures
CALL pg_temp.admit_new_operator('V-1');                       -- member, nothing open
CALL pg_temp.admit_new_operator('V-2');                       -- member with an RL06 tip
CALL pg_temp.add_sale('V-2', '2030-03-01 04:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.admit_new_operator('V-X');                       -- member, leaves on a warning clue
CALL pg_temp.add_sale('V-X', '2030-03-01 04:00+00', item => 'gun', cat => 'firearms');
CALL pg_temp.add_operator('V-3', region => 'South');        -- not a member, an open warning clue
CALL pg_temp.add_sale('V-3', '2030-03-02 04:00+00', item => 'gun', cat => 'firearms');
CALL pg_temp.add_sale('V-3', '2030-03-05 04:00+00', item => 'knife', title => 'ivory knife');
CALL pg_temp.add_operator('V-4');                           -- never graded
CALL pg_temp.add_sale('V-GHOST', '2030-03-03 04:00+00');  -- not registered: RL01

-- =================================================================== no_disturbance
SELECT is((SELECT format('%s|%s|%s|%s|%s', name, region, admitted_at BETWEEN now() AND clock_timestamp(), class, score)
             FROM credit_sandbox.no_disturbance WHERE operator_id = 'V-1'),
          'test V-1|Test|t|A|100.00', 'no_disturbance: a member with nothing open, with name, region, admission, class, score');
SELECT is(pg_temp.in_no_disturbance('V-2'), false, 'no_disturbance: a member with an open tip is not on it');
SELECT is(credit_sandbox.in_sandbox('V-2'), true, '... though still a member');
SELECT is(pg_temp.in_no_disturbance('V-X'), false, 'no_disturbance: a former member is not on it');
SELECT is(pg_temp.in_no_disturbance('V-3'), false, 'no_disturbance: a non-member is not on it');
SELECT is(pg_temp.in_no_disturbance('V-4'), false, 'no_disturbance: a clean non-member is not on it');
DO $$ BEGIN PERFORM credit_sandbox.acknowledge((pg_temp.latest_warning('V-2', 'RL06')).warning_id); END $$;
SELECT is(pg_temp.in_no_disturbance('V-2'), false, 'no_disturbance: an acknowledged tip still keeps the member off');
DO $$ BEGIN PERFORM credit_sandbox.record_correction((pg_temp.latest_warning('V-2', 'RL06')).warning_id, 'fixed'); END $$;
SELECT is(pg_temp.in_no_disturbance('V-2'), true, 'no_disturbance: back on it once the tip is corrected');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.no_disturbance$$,
              $$SELECT m.operator_id FROM credit_sandbox.sandbox_memberships m WHERE m.exited_at IS NULL
                   AND NOT EXISTS (SELECT FROM credit_sandbox.warnings w WHERE w.operator_id = m.operator_id
                                      AND w.status IN ('open', 'acknowledged'))$$,
              'no_disturbance: exactly the members with no open or acknowledged warning or tip');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.no_disturbance WHERE operator_id LIKE 'V-%'$$,
              $$VALUES ('V-1'), ('V-2')$$, 'no_disturbance: V-1 and V-2');

-- =================================================================== open_warnings
SELECT set_eq($$SELECT warning_id FROM credit_sandbox.open_warnings$$,
              $$SELECT warning_id FROM credit_sandbox.warnings WHERE status IN ('open', 'acknowledged')$$,
              'open_warnings: exactly the open and acknowledged warnings');
SELECT is((SELECT count(*) FROM credit_sandbox.open_warnings WHERE operator_id = 'V-2'), 0::bigint,
          'open_warnings: a corrected tip is not shown');
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', operator_name, region, code, rule_title, list, tolerable, registered,
                         in_sandbox, status)
             FROM credit_sandbox.open_warnings WHERE operator_id = 'V-3' AND code = 'RL03' AND subject_key = 'gun'),
          'test V-3|South|RL03|prohibited goods|risk_trigger|f|t|f|open',
          'open_warnings: operator and rule details');
SELECT is((SELECT count(*) FROM credit_sandbox.open_warnings WHERE operator_id = 'V-3'), 2::bigint,
          'open_warnings: V-3 has two (two items)');
SELECT is((SELECT format('%s|%s|%s|%s', operator_name IS NULL, region IS NULL, registered, rule_title)
             FROM credit_sandbox.open_warnings WHERE operator_id = 'V-GHOST'),
          't|t|f|licence / permit', 'open_warnings: an unregistered operator, registered false');
CALL pg_temp.admit_new_operator('V-5');
CALL pg_temp.add_sale('V-5', '2030-04-01 04:00+00', item => 'ad', title => '最佳 耳机');
SELECT is((SELECT format('%s|%s|%s|%s|%s', list, tolerable, in_sandbox, due_at = '2030-04-08 04:00+00', hits)
             FROM credit_sandbox.open_warnings WHERE operator_id = 'V-5'),
          'admin_tip|t|t|t|1', 'open_warnings: a member''s tip, tolerable, in_sandbox, due_at');
DO $$ BEGIN PERFORM credit_sandbox.acknowledge((pg_temp.latest_warning('V-5', 'RL06')).warning_id); END $$;
SELECT is((SELECT status FROM credit_sandbox.open_warnings WHERE operator_id = 'V-5'), 'acknowledged',
          'open_warnings: an acknowledged tip is still shown');
DO $$ BEGIN PERFORM credit_sandbox.close_warning((pg_temp.latest_warning('V-X', 'RL03')).warning_id, 'closed'); END $$;
SELECT is((SELECT count(*) FROM credit_sandbox.open_warnings WHERE operator_id = 'V-X'), 0::bigint,
          'open_warnings: a closed warning is not shown');

-- =================================================================== operator_risk
SELECT is(credit_sandbox.grade('V-3', '2030-06-01 04:00+00'), 'C', 'setup: V-3 graded C');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.operator_risk$$, $$SELECT operator_id FROM credit_sandbox.operators$$,
              'operator_risk: one row per operator');
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', name, region, class, score, in_sandbox, open_warning_clues, open_tips,
                         last_hit_at IS NULL)
             FROM credit_sandbox.operator_risk WHERE operator_id = 'V-1'),
          'test V-1|Test|A|100.00|t|0|0|t', 'operator_risk: a clean member');
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s', class, score, graded_as_of = '2030-06-01 04:00+00', in_sandbox,
                         open_warning_clues, open_tips)
             FROM credit_sandbox.operator_risk WHERE operator_id = 'V-3'),
          'C|50.00|t|f|2|0', 'operator_risk: V-3 graded C (two clues in the window and open: 100 - 30 - 20), two open clues');
SELECT is((SELECT last_hit_at FROM credit_sandbox.operator_risk WHERE operator_id = 'V-3'), '2030-03-05 04:00+00'::timestamptz,
          'operator_risk: last_hit_at of the latest hit');
SELECT is((SELECT format('%s|%s', r.indicators = g.indicators, r.hard_rules = g.hard_rules)
             FROM credit_sandbox.operator_risk r, credit_sandbox.operator_grades g
            WHERE r.operator_id = 'V-3' AND g.grade_id = (SELECT max(grade_id) FROM credit_sandbox.operator_grades
                                                          WHERE operator_id = 'V-3')),
          't|t', 'operator_risk: indicators and hard rules of the latest grade');
SELECT is((SELECT hard_rules FROM credit_sandbox.operator_risk WHERE operator_id = 'V-3'),
          '["an open warning clue: B or worse"]'::jsonb, 'operator_risk: the hard rules of the latest grade');
SELECT is((SELECT format('%s|%s|%s|%s', class IS NULL, score IS NULL, in_sandbox, open_warning_clues)
             FROM credit_sandbox.operator_risk WHERE operator_id = 'V-4'),
          't|t|f|0', 'operator_risk: an operator never graded has no class');
SELECT is((SELECT format('%s|%s|%s', in_sandbox, open_warning_clues, open_tips) FROM credit_sandbox.operator_risk
            WHERE operator_id = 'V-5'), 't|0|1', 'operator_risk: a member with an acknowledged tip: open_tips 1');
SELECT is((SELECT format('%s|%s', in_sandbox, open_warning_clues) FROM credit_sandbox.operator_risk WHERE operator_id = 'V-X'),
          'f|0', 'operator_risk: a former member with a closed clue');
SELECT is((SELECT class FROM credit_sandbox.operator_risk WHERE operator_id = 'V-X'), 'B',
          'operator_risk: the class cap of V-X''s clue');

-- =================================================================== rule_hits_daily
-- V-6: three RL03 hits on one warning (item gun): 2031-05-01 10:00, 2031-05-03 10:00 and 23:30 Shanghai time,
-- and a fourth on 2031-05-04 00:30 Shanghai (still 05-03 in UTC).  V-7: one RL03 hit on 2031-05-03 09:00 Shanghai.
CALL pg_temp.add_operator('V-6');
CALL pg_temp.add_operator('V-7');
CALL pg_temp.add_sale('V-6', '2031-05-01 10:00+08', item => 'gun', cat => 'firearms');
CALL pg_temp.add_sale('V-6', '2031-05-03 10:00+08', item => 'gun', cat => 'firearms');
CALL pg_temp.add_sale('V-6', '2031-05-03 23:30+08', item => 'gun', cat => 'firearms');
CALL pg_temp.add_sale('V-6', '2031-05-04 00:30+08', item => 'gun', cat => 'firearms');
CALL pg_temp.add_sale('V-7', '2031-05-03 09:00+08', item => 'gun', cat => 'firearms');
SELECT is((SELECT format('%s|%s', count(*), sum(hits)) FROM credit_sandbox.warnings WHERE operator_id IN ('V-6', 'V-7')),
          '2|5', 'setup: two warnings, five hits');
SELECT results_eq(
    $$SELECT day, code, list, hits, warnings, operators FROM credit_sandbox.rule_hits_daily
       WHERE day BETWEEN '2031-04-30' AND '2031-05-05' ORDER BY day, code$$,
    $$VALUES ('2031-05-01'::date, 'RL03', 'risk_trigger', 1::bigint, 1::bigint, 1::bigint),
             ('2031-05-03', 'RL03', 'risk_trigger', 3, 2, 2),
             ('2031-05-04', 'RL03', 'risk_trigger', 1, 1, 1)$$,
    'rule_hits_daily: hits of one warning counted on their own legal days (Asia/Shanghai)');
SET LOCAL credit_sandbox.time_zone = 'UTC';
SELECT results_eq(
    $$SELECT day, hits, warnings, operators FROM credit_sandbox.rule_hits_daily
       WHERE day BETWEEN '2031-04-30' AND '2031-05-05' AND code = 'RL03' ORDER BY day$$,
    $$VALUES ('2031-05-01'::date, 1::bigint, 1::bigint, 1::bigint), ('2031-05-03', 4, 2, 2)$$,
    'rule_hits_daily: the day follows credit_sandbox.time_zone (UTC)');
SET LOCAL credit_sandbox.time_zone = 'Asia/Shanghai';
SELECT is((SELECT sum(hits) FROM credit_sandbox.rule_hits_daily)::bigint,
          (SELECT sum(hits) FROM credit_sandbox.warnings)::bigint,
          'rule_hits_daily: all hits add up to the hits of all warnings');
SELECT results_eq(
    $$SELECT day, code, list, hits FROM credit_sandbox.rule_hits_daily WHERE day BETWEEN '2030-02-28' AND '2030-03-06' ORDER BY 1, 2$$,
    $$VALUES ('2030-03-01'::date, 'RL03', 'risk_trigger', 1::bigint), ('2030-03-01', 'RL06', 'admin_tip', 1),
             ('2030-03-02', 'RL03', 'risk_trigger', 1), ('2030-03-03', 'RL01', 'risk_trigger', 1),
             ('2030-03-05', 'RL03', 'risk_trigger', 1)$$,
    'rule_hits_daily: per code and list (tips too)');

-- =================================================================== summary
SELECT results_eq($$SELECT * FROM pg_temp.summary()$$, $$SELECT * FROM pg_temp.summary_counted_directly()$$,
                  'summary: equal to the direct counts');
SELECT is((SELECT count(*) FROM credit_sandbox.summary), 1::bigint, 'summary: one row');
CREATE TEMP TABLE s0 AS SELECT * FROM pg_temp.summary();
-- a new warning clue (V-4, not a member): warning_clues + 1
CALL pg_temp.add_sale('V-4', '2031-06-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((SELECT warning_clues FROM credit_sandbox.summary), (SELECT warning_clues + 1 FROM s0),
          'summary: a new warning clue counts');
SELECT is((SELECT admin_tips FROM credit_sandbox.summary), (SELECT admin_tips FROM s0), 'summary: admin_tips unchanged');
-- a further hit on an open clue is no new clue
CALL pg_temp.add_sale('V-4', '2031-06-02 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((SELECT warning_clues FROM credit_sandbox.summary), (SELECT warning_clues + 1 FROM s0),
          'summary: a hit on an open clue adds no clue');
-- any status counts
DO $$ BEGIN PERFORM credit_sandbox.close_warning((pg_temp.latest_warning('V-4', 'RL03')).warning_id, 'closed'); END $$;
SELECT is((SELECT warning_clues FROM credit_sandbox.summary), (SELECT warning_clues + 1 FROM s0),
          'summary: a closed clue still counts (rows ever written)');
-- grading: a new operator classified once however many grades
SELECT is((SELECT classified_operators FROM credit_sandbox.summary), (SELECT classified_operators FROM s0),
          'summary: a clue does not classify an ungraded operator');
SELECT is(credit_sandbox.grade('V-4', '2031-06-03 04:00+00'), 'B', 'setup: V-4 graded');
SELECT is(credit_sandbox.grade('V-4', '2031-06-04 04:00+00'), 'B', 'setup: V-4 graded again');
SELECT is((SELECT classified_operators FROM credit_sandbox.summary), (SELECT classified_operators + 1 FROM s0),
          'summary: classified_operators counts operators, not grades');
-- a new member and a tip
CALL pg_temp.admit_new_operator('V-8');
SELECT is((SELECT format('%s|%s', sandbox_operators, no_disturbance_operators) FROM credit_sandbox.summary),
          (SELECT format('%s|%s', sandbox_operators + 1, no_disturbance_operators + 1) FROM s0),
          'summary: a new member, on the no-disturbance list');
CALL pg_temp.add_sale('V-8', '2031-07-01 04:00+00', item => 'ad', title => '最佳 耳机');
SELECT is((SELECT format('%s|%s|%s', sandbox_operators, no_disturbance_operators, admin_tips) FROM credit_sandbox.summary),
          (SELECT format('%s|%s|%s', sandbox_operators + 1, no_disturbance_operators, admin_tips + 1) FROM s0),
          'summary: a member''s tip: still a member, off the no-disturbance list, one more tip');
-- a draw
INSERT INTO credit_sandbox.inspectors (inspector_id) VALUES ('V-INS-1'), ('V-INS-2');
SELECT credit_sandbox.draw_inspections('views', '{"A": 1, "B": 1, "C": 1, "D": 1}') AS vd \gset
SELECT is((SELECT random_spot_checks FROM credit_sandbox.summary),
          (SELECT random_spot_checks FROM s0) + (SELECT count(*) FROM credit_sandbox.inspection_pool WHERE draw_id = :vd AND class IS NOT NULL),
          'summary: random_spot_checks grows by the random tasks of a draw (ratio 1: every graded pool operator)');
SELECT is((SELECT triggered_inspections FROM credit_sandbox.summary),
          (SELECT triggered_inspections FROM s0) + (SELECT count(*) FROM credit_sandbox.inspection_pool WHERE draw_id = :vd AND class IS NULL AND triggered),
          'summary: triggered_inspections grows by the triggered tasks (here: the unregistered operators)');
SELECT results_eq($$SELECT * FROM pg_temp.summary()$$, $$SELECT * FROM pg_temp.summary_counted_directly()$$,
                  'summary: still equal to the direct counts');

SELECT * FROM finish();
ROLLBACK;
