-- inspections.sql -- pgTAP: "dual random" inspections (SPEC.md section 5, api 0.2):
-- the pool (latest classes, ungraded operators graded by the draw, no-disturbance members
-- left out, operators with an open warning clue added even when unregistered), ceil(ratio*n)
-- random tasks per class by sha256(seed || ':' || operator_id), triggered tasks, one task
-- per operator, inspectors by sha256(seed || ':' || operator_id || ':' || inspector_id)
-- skipping conflicts and inactive inspectors, reproducibility (same seed, same tasks;
-- another seed, other tasks), verify_draw against tampering, and every validation error.
-- Operators 'I-...', inspectors 'INS-...'.  Classes come from grades as of now() (the draw
-- grades ungraded operators as of now()); warning data is dated 2030.
-- One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(79);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
-- n operators prefix001, prefix002, ... in one statement
CREATE PROCEDURE pg_temp.add_numbered_operators(prefix text, n int, registered date DEFAULT '2015-01-01', licence date DEFAULT '2040-12-31')
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
    SELECT prefix || lpad(g::text, 3, '0'), 'inspections ' || g, 'Test', registered, licence, '{}'
      FROM generate_series(1, n) g $$;
CREATE FUNCTION pg_temp.draw_hash(seed text, VARIADIC parts text[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT sha256(convert_to(seed || ':' || array_to_string(parts, ':'), 'UTF8')) $$;
-- the tasks of a draw, as text, for comparisons between draws
CREATE FUNCTION pg_temp.draw_tasks(d bigint) RETURNS SETOF text LANGUAGE sql AS
$$ SELECT format('%s|%s|%s', operator_id, reason, inspectors) FROM credit_sandbox.inspection_tasks WHERE draw_id = d $$;

-- =================================================================== operators and inspectors
CALL pg_temp.add_numbered_operators('I-A', 40);                                         -- class A (clean)
CALL pg_temp.add_operator('I-商户');                                           -- class A, a non-ASCII id
CALL pg_temp.add_numbered_operators('I-B', 200, registered => current_date - 100);      -- class B (85: under a year)
CALL pg_temp.add_numbered_operators('I-C', 20);                                         -- class C (abnormal list)
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on)
SELECT operator_id, 'abnormal', '2020-01-01' FROM credit_sandbox.operators WHERE operator_id LIKE 'I-C%';
CALL pg_temp.add_numbered_operators('I-D', 10);                                         -- class D (dishonest list)
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on)
SELECT operator_id, 'dishonest', '2020-01-01' FROM credit_sandbox.operators WHERE operator_id LIKE 'I-D%';
-- sandbox members: I-ND1..5 on the no-disturbance list; I-NDT has an open tip
CALL pg_temp.add_numbered_operators('I-ND', 5);
CALL pg_temp.add_operator('I-NDT');
DO $$ BEGIN
    PERFORM credit_sandbox.admit(operator_id) FROM credit_sandbox.operators WHERE operator_id LIKE 'I-ND%';
END $$;
CALL pg_temp.add_sale('I-NDT', '2030-03-01 04:00+00', item => 'ad', title => '最佳 耳机');
-- open warning clues: I-T1..5 (open), I-TACK (acknowledged), I-TCOR (corrected: not triggered),
-- I-GHOST (not registered: RL01)
CALL pg_temp.add_numbered_operators('I-T', 5);
CALL pg_temp.add_operator('I-TACK');
CALL pg_temp.add_operator('I-TCOR');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, item_id, item_title, category, quantity, unit_price)
SELECT operator_id, '2030-02-01 04:00+00', 'b', 'gun', 'x', 'firearms', 1, 10
  FROM credit_sandbox.operators WHERE operator_id LIKE 'I-T%';
DO $$ BEGIN
    PERFORM credit_sandbox.acknowledge(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'I-TACK';
    PERFORM credit_sandbox.record_correction(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'I-TCOR';
END $$;
CALL pg_temp.add_sale('I-GHOST', '2030-02-01 04:00+00');
SELECT is((SELECT string_agg(operator_id || ':' || code || ':' || status, ',' ORDER BY operator_id)
             FROM credit_sandbox.warnings WHERE operator_id LIKE 'I-%' AND list = 'risk_trigger'),
          'I-GHOST:RL01:open,I-T001:RL03:open,I-T002:RL03:open,I-T003:RL03:open,I-T004:RL03:open,I-T005:RL03:open,'
          'I-TACK:RL03:acknowledged,I-TCOR:RL03:corrected', 'setup: the warning clues');
SELECT is((SELECT string_agg(operator_id || ':' || code || ':' || list, ',') FROM credit_sandbox.warnings
            WHERE operator_id LIKE 'I-ND%'), 'I-NDT:RL06:admin_tip', 'setup: I-NDT has a tip');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.no_disturbance WHERE operator_id LIKE 'I-%'$$,
              $$VALUES ('I-ND001'), ('I-ND002'), ('I-ND003'), ('I-ND004'), ('I-ND005')$$,
              'setup: the no-disturbance list');

INSERT INTO credit_sandbox.inspectors (inspector_id, name, region, active)
SELECT 'INS-' || g, 'inspector ' || g, 'Test', true FROM generate_series(1, 6) g;
INSERT INTO credit_sandbox.inspectors (inspector_id, name, region, active) VALUES ('INS-OFF', 'retired', 'Test', false);
-- I-T001's first inspector under seed-1 has a conflict with it; I-D001 conflicts with all but INS-6
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id, reason)
SELECT inspector_id, 'I-T001', 'relative' FROM credit_sandbox.inspectors WHERE active
 ORDER BY pg_temp.draw_hash('seed-1', 'I-T001', inspector_id) LIMIT 1;
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id, reason)
SELECT inspector_id, 'I-D001', 'former employer' FROM credit_sandbox.inspectors WHERE inspector_id <> 'INS-6';
CREATE TEMP TABLE conflict_t1 AS SELECT inspector_id FROM credit_sandbox.inspector_conflicts WHERE operator_id = 'I-T001';

-- =================================================================== validation (22023), before any draw
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('')$$, '22023', 'draw seed must not be empty', 'draw: empty seed');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections(NULL)$$, '22023', 'draw seed must not be empty', 'draw: NULL seed');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '[0.1]')$$, '22023',
                 'draw ratios must be a JSON object such as {"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}',
                 'draw: ratios an array');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '0.1')$$, '22023', NULL, 'draw: ratios a number');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', NULL)$$, '22023', NULL, 'draw: ratios NULL');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"E": 0.1}')$$, '22023', 'draw ratios: unknown class "E"',
                 'draw: unknown class');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"a": 0.1}')$$, '22023', 'draw ratios: unknown class "a"',
                 'draw: class keys are upper case');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"A": 1.5}')$$, '22023',
                 'draw ratios: the ratio of class A must be a number from 0 to 1, not 1.5', 'draw: ratio above 1');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"B": -0.1}')$$, '22023',
                 'draw ratios: the ratio of class B must be a number from 0 to 1, not -0.1', 'draw: negative ratio');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"C": "0.3"}')$$, '22023',
                 'draw ratios: the ratio of class C must be a number from 0 to 1, not "0.3"', 'draw: ratio a string');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"D": null}')$$, '22023',
                 'draw ratios: the ratio of class D must be a number from 0 to 1, not null', 'draw: ratio null');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', 0)$$, '22023',
                 'inspectors_per_task must be at least 1, not 0', 'draw: inspectors_per_task 0');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', -2)$$, '22023',
                 'inspectors_per_task must be at least 1, not -2', 'draw: inspectors_per_task negative');
SELECT throws_ok($$SELECT credit_sandbox.draw_inspections('s', '{"A": 0.1}', NULL)$$, '22023', NULL,
                 'draw: inspectors_per_task NULL');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_draws), 0::bigint, 'draw: refused draws record nothing');
SELECT throws_ok($$SELECT credit_sandbox.verify_draw(-1)$$, 'P0002', 'draw -1 does not exist', 'verify_draw: unknown draw');

-- =================================================================== the first draw (defaults)
SELECT is((SELECT count(*) FROM credit_sandbox.operator_grades WHERE operator_id = 'I-A001'), 0::bigint,
          'setup: I-A001 not graded yet');
SELECT credit_sandbox.draw_inspections('seed-1') AS d1 \gset
SELECT is((SELECT format('%s|%s|%s', count(*), min(class), min(graded_as_of) = now()) FROM credit_sandbox.operator_grades
            WHERE operator_id = 'I-A001'), '1|A|t', 'draw: an ungraded operator is graded (once) as of now()');
SELECT is((SELECT count(*) FROM credit_sandbox.operators o
            WHERE NOT EXISTS (SELECT FROM credit_sandbox.operator_grades g WHERE g.operator_id = o.operator_id)),
          0::bigint, 'draw: every operator graded');
SELECT is((SELECT format('%s|%s|%s|%s|%s', seed, ratios, inspectors_per_task, drawn_by = current_user, drawn_at = now())
             FROM credit_sandbox.inspection_draws WHERE draw_id = :d1),
          'seed-1|{"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}|2|t|t', 'draw: seed, default ratios and parameters recorded');
SELECT is((SELECT inspector_pool FROM credit_sandbox.inspection_draws WHERE draw_id = :d1),
          '{INS-1,INS-2,INS-3,INS-4,INS-5,INS-6}'::text[], 'draw: the active inspectors recorded (not INS-OFF)');
SELECT set_eq($$SELECT e ->> 0 AS i, e ->> 1 AS o FROM credit_sandbox.inspection_draws d, jsonb_array_elements(d.conflicts) e
                 WHERE d.draw_id = $$ || :d1,
              $$SELECT inspector_id, operator_id FROM credit_sandbox.inspector_conflicts$$,
              'draw: the conflicts recorded');

-- the pool
SELECT set_eq($$SELECT operator_id, class FROM credit_sandbox.inspection_pool WHERE draw_id = $$ || :d1 || $$ AND operator_id LIKE 'I-%'$$,
              $$SELECT c.operator_id, c.class FROM credit_sandbox.operator_classes c WHERE c.operator_id LIKE 'I-%'
                   AND c.operator_id NOT LIKE 'I-ND00%'
                UNION ALL SELECT 'I-GHOST', NULL$$,
              'pool: every operator with its latest class, minus the no-disturbance list, plus the unregistered one');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_pool p JOIN credit_sandbox.no_disturbance n USING (operator_id)
            WHERE p.draw_id = :d1), 0::bigint, 'pool: no no-disturbance member');
SELECT is((SELECT format('%s|%s', class, triggered) FROM credit_sandbox.inspection_pool WHERE draw_id = :d1 AND operator_id = 'I-NDT'),
          'A|f', 'pool: a member with an open tip is in the pool, class A, not triggered');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.inspection_pool WHERE draw_id = $$ || :d1 || $$ AND triggered$$,
              $$SELECT DISTINCT operator_id FROM credit_sandbox.warnings WHERE list = 'risk_trigger'
                   AND status IN ('open', 'acknowledged')$$,
              'pool: triggered = an open or acknowledged warning clue');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.inspection_pool WHERE draw_id = $$ || :d1 || $$ AND triggered AND operator_id LIKE 'I-%'$$,
              $$VALUES ('I-GHOST'), ('I-T001'), ('I-T002'), ('I-T003'), ('I-T004'), ('I-T005'), ('I-TACK')$$,
              'pool: the triggered ones (I-TCOR corrected is not)');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_pool WHERE draw_id = :d1 AND triggered AND class = 'A'), 0::bigint,
          'pool: an operator with an open clue is not class A');
SELECT cmp_ok((SELECT count(*) FROM credit_sandbox.inspection_pool WHERE draw_id = :d1 AND class = 'B'), '>=', 206::bigint,
              'pool: at least 206 operators of class B (200 + 6 with an open clue)');

-- random tasks: ceil(ratio * n) per class, the smallest hashes
CREATE TEMP TABLE per_class AS
SELECT p.draw_id, p.class, count(*) AS n,
       ceil((d.ratios ->> p.class)::numeric * count(*)) AS expected,
       count(t.operator_id) FILTER (WHERE t.reason = 'random') AS drawn
  FROM credit_sandbox.inspection_pool p
  JOIN credit_sandbox.inspection_draws d USING (draw_id)
  LEFT JOIN credit_sandbox.inspection_tasks t USING (draw_id, operator_id)
 WHERE p.draw_id = :d1 AND p.class IS NOT NULL
 GROUP BY p.draw_id, p.class, d.ratios;
SELECT results_eq($$SELECT class, drawn FROM per_class ORDER BY class$$,
                  $$SELECT class, expected::bigint FROM per_class ORDER BY class$$,
                  'random: ceil(ratio * n) random tasks in each class, n from the pool');
SELECT ok((SELECT bool_and(expected > 0 AND expected < n) FROM per_class) AND (SELECT count(*) FROM per_class) = 4,
          'random: the four classes each drawn partly (the test is not trivial)');
SELECT is((SELECT drawn FROM per_class WHERE class = 'A'), ceil(0.03 * (SELECT n FROM per_class WHERE class = 'A'))::bigint,
          'random: class A, ceil(0.03 * n)');
SELECT is((SELECT drawn FROM per_class WHERE class = 'D'), ceil(0.8 * (SELECT n FROM per_class WHERE class = 'D'))::bigint,
          'random: class D, ceil(0.8 * n)');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_pool p JOIN credit_sandbox.inspection_tasks t USING (draw_id, operator_id)
            WHERE p.draw_id = :d1 AND t.reason = 'random'
              AND EXISTS (SELECT FROM credit_sandbox.inspection_pool q
                           WHERE q.draw_id = p.draw_id AND q.class = p.class
                             AND NOT EXISTS (SELECT FROM credit_sandbox.inspection_tasks u
                                              WHERE u.draw_id = q.draw_id AND u.operator_id = q.operator_id AND u.reason = 'random')
                             AND pg_temp.draw_hash('seed-1', q.operator_id) < pg_temp.draw_hash('seed-1', p.operator_id))),
          0::bigint, 'random: every drawn operator hashes below every undrawn one of its class');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = $$ || :d1 || $$ AND reason = 'random'$$,
              $$SELECT operator_id FROM (
                  SELECT p.operator_id, p.class,
                         row_number() OVER (PARTITION BY p.class ORDER BY sha256(convert_to('seed-1' || ':' || p.operator_id, 'UTF8'))) AS r,
                         count(*) OVER (PARTITION BY p.class) AS n
                    FROM credit_sandbox.inspection_pool p WHERE p.draw_id = $$ || :d1 || $$ AND p.class IS NOT NULL) x
                 WHERE r <= ceil(CASE class WHEN 'A' THEN 0.03 WHEN 'B' THEN 0.10 WHEN 'C' THEN 0.30 ELSE 0.80 END * n)$$,
              'random: the operators with the smallest sha256(seed:operator_id) of each class');
-- triggered tasks, one task per operator
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = $$ || :d1 || $$ AND reason = 'triggered'$$,
              $$SELECT p.operator_id FROM credit_sandbox.inspection_pool p WHERE p.draw_id = $$ || :d1 || $$ AND p.triggered
                 AND NOT EXISTS (SELECT FROM credit_sandbox.inspection_tasks t
                                  WHERE t.draw_id = p.draw_id AND t.operator_id = p.operator_id AND t.reason = 'random')$$,
              'triggered: every pool operator with an open clue not drawn at random');
SELECT is((SELECT reason FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-GHOST'), 'triggered',
          'triggered: the unregistered operator with a warning clue');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-TCOR'), 0::bigint,
          'triggered: not for a corrected clue (I-TCOR, class A, not drawn either)')
  WHERE NOT EXISTS (SELECT FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-TCOR' AND reason = 'random')
UNION ALL
SELECT pass('triggered: I-TCOR was drawn at random (nothing to check)')
  WHERE EXISTS (SELECT FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-TCOR' AND reason = 'random');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t WHERE t.draw_id = :d1
              AND NOT EXISTS (SELECT FROM credit_sandbox.inspection_pool p WHERE p.draw_id = t.draw_id AND p.operator_id = t.operator_id)),
          0::bigint, 'tasks: only pool operators');
SELECT is((SELECT count(*) - count(DISTINCT operator_id) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1), 0::bigint,
          'tasks: at most one per operator');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t JOIN credit_sandbox.no_disturbance n USING (operator_id)
            WHERE t.draw_id = :d1), 0::bigint, 'tasks: none for the no-disturbance list');

-- inspectors
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND cardinality(inspectors) <> 2
              AND operator_id <> 'I-D001'), 0::bigint, 'inspectors: two per task');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t, unnest(t.inspectors) i
            WHERE t.draw_id = :d1 AND i NOT IN (SELECT inspector_id FROM credit_sandbox.inspectors WHERE active)),
          0::bigint, 'inspectors: only active ones');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t, unnest(t.inspectors) i
            WHERE EXISTS (SELECT FROM credit_sandbox.inspector_conflicts c WHERE c.inspector_id = i AND c.operator_id = t.operator_id)),
          0::bigint, 'inspectors: never one with a conflict with the operator (all draws)');
SELECT is((SELECT inspectors FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-T001'),
          ARRAY(SELECT inspector_id FROM credit_sandbox.inspectors WHERE active
                 ORDER BY pg_temp.draw_hash('seed-1', 'I-T001', inspector_id) OFFSET 1 LIMIT 2),
          'inspectors: I-T001''s first-ranked inspector is skipped (conflict): the 2nd and 3rd');
SELECT is((SELECT inspectors FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-D001'),
          '{INS-6}'::text[], 'inspectors: only one without a conflict: one inspector');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t
            WHERE t.draw_id = :d1
              AND t.inspectors IS DISTINCT FROM ARRAY(
                    SELECT i.inspector_id FROM credit_sandbox.inspectors i
                     WHERE i.active AND NOT EXISTS (SELECT FROM credit_sandbox.inspector_conflicts c
                                                     WHERE c.inspector_id = i.inspector_id AND c.operator_id = t.operator_id)
                     ORDER BY sha256(convert_to('seed-1' || ':' || t.operator_id || ':' || i.inspector_id, 'UTF8'))
                     LIMIT 2)),
          0::bigint, 'inspectors: the smallest sha256(seed:operator_id:inspector_id), skipping conflicts, for every task');
-- I-商户 is ranked by the sha256 of its UTF-8 bytes: 'seed-1:I-' then U+5546 U+6237 as e5 95 86 e6 88 b7
SELECT is(EXISTS (SELECT FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = 'I-商户' AND reason = 'random'),
          (SELECT count(*) FROM credit_sandbox.inspection_pool p WHERE p.draw_id = :d1 AND p.class = 'A'
              AND pg_temp.draw_hash('seed-1', p.operator_id) < sha256('\x736565642d313a492de59586e688b7'::bytea))
          < (SELECT expected FROM per_class WHERE class = 'A'),
          'random: a non-ASCII id is ranked by the sha256 of its UTF-8 bytes');

-- =================================================================== verify_draw
SELECT is(credit_sandbox.verify_draw(:d1), true, 'verify: a fresh draw verifies');
SELECT results_eq(format('SELECT operator_id, reason, inspectors FROM credit_sandbox.draw_tasks(%s) ORDER BY 1', :d1),
                  format('SELECT operator_id, reason, inspectors FROM credit_sandbox.inspection_tasks WHERE draw_id = %s ORDER BY 1', :d1),
                  'draw_tasks: recomputes the recorded tasks');
SELECT operator_id AS random_op FROM credit_sandbox.inspection_tasks
 WHERE draw_id = :d1 AND reason = 'random' ORDER BY operator_id LIMIT 1 \gset
UPDATE credit_sandbox.inspection_tasks SET reason = 'triggered' WHERE draw_id = :d1 AND operator_id = :'random_op';
SELECT is(credit_sandbox.verify_draw(:d1), false, 'verify: false after a task''s reason was changed');
UPDATE credit_sandbox.inspection_tasks SET reason = 'random' WHERE draw_id = :d1 AND operator_id = :'random_op';
SELECT is(credit_sandbox.verify_draw(:d1), true, 'verify: true again once restored');
CREATE TEMP TABLE saved_task AS SELECT * FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = :'random_op';
DELETE FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = :'random_op';
SELECT is(credit_sandbox.verify_draw(:d1), false, 'verify: false after a task was deleted');
INSERT INTO credit_sandbox.inspection_tasks SELECT * FROM saved_task;
UPDATE credit_sandbox.inspection_tasks SET inspectors = ARRAY['INS-OFF'] || inspectors[2:]
 WHERE draw_id = :d1 AND operator_id = :'random_op';
SELECT is(credit_sandbox.verify_draw(:d1), false, 'verify: false after an inspector was replaced');
UPDATE credit_sandbox.inspection_tasks t SET inspectors = s.inspectors FROM saved_task s
 WHERE t.draw_id = s.draw_id AND t.operator_id = s.operator_id;
INSERT INTO credit_sandbox.inspection_tasks (draw_id, operator_id, reason, inspectors)
SELECT :d1, p.operator_id, 'random', '{INS-1,INS-2}' FROM credit_sandbox.inspection_pool p
 WHERE p.draw_id = :d1 AND NOT EXISTS (SELECT FROM credit_sandbox.inspection_tasks t WHERE t.draw_id = p.draw_id AND t.operator_id = p.operator_id)
 ORDER BY p.operator_id LIMIT 1;
SELECT is(credit_sandbox.verify_draw(:d1), false, 'verify: false after a task was added');
DELETE FROM credit_sandbox.inspection_tasks t WHERE t.draw_id = :d1
   AND NOT EXISTS (SELECT FROM credit_sandbox.draw_tasks(:d1) x WHERE x.operator_id = t.operator_id);
SELECT is(credit_sandbox.verify_draw(:d1), true, 'verify: true once everything is restored');

-- =================================================================== reproducibility
SELECT credit_sandbox.draw_inspections('seed-1') AS d2 \gset
SELECT set_eq(format('SELECT pg_temp.draw_tasks(%s)', :d2), format('SELECT pg_temp.draw_tasks(%s)', :d1),
              'same seed, same data: the same tasks (operators, reasons, inspectors)');
SELECT set_eq(format('SELECT operator_id, class, triggered FROM credit_sandbox.inspection_pool WHERE draw_id = %s', :d2),
              format('SELECT operator_id, class, triggered FROM credit_sandbox.inspection_pool WHERE draw_id = %s', :d1),
              'same seed: the same pool');
SELECT isnt(:d2::bigint, :d1::bigint, 'same seed: a new draw_id');
SELECT credit_sandbox.draw_inspections('seed-2') AS d3 \gset
SELECT is(credit_sandbox.verify_draw(:d3), true, 'another seed: verifies');
SELECT isnt((SELECT array_agg(operator_id ORDER BY operator_id) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d3 AND reason = 'random'),
            (SELECT array_agg(operator_id ORDER BY operator_id) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND reason = 'random'),
            'another seed: other random tasks');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d3 AND reason = 'random'),
          (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND reason = 'random'),
          'another seed: as many random tasks');
SELECT set_eq(format('SELECT operator_id FROM credit_sandbox.inspection_tasks t JOIN credit_sandbox.inspection_pool p USING (draw_id, operator_id) WHERE draw_id = %s AND reason = ''random'' AND p.class = ''B''', :d3),
              $$SELECT operator_id FROM credit_sandbox.inspection_pool WHERE draw_id = $$ || :d3 || $$ AND class = 'B'
                 ORDER BY sha256(convert_to('seed-2:' || operator_id, 'UTF8'))
                 LIMIT (SELECT ceil(0.1 * count(*)) FROM credit_sandbox.inspection_pool WHERE draw_id = $$ || :d3 || $$ AND class = 'B')$$,
              'another seed: class B drawn by sha256(seed-2:operator_id)');
-- a later change of conflicts or inspectors does not change what a recorded draw verifies against
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id)
SELECT unnest(inspectors), operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = :d1 AND operator_id = :'random_op';
UPDATE credit_sandbox.inspectors SET active = true WHERE inspector_id = 'INS-OFF';
SELECT is(credit_sandbox.verify_draw(:d1), true, 'verify: recomputed from the recorded inspectors and conflicts');
UPDATE credit_sandbox.inspectors SET active = false WHERE inspector_id = 'INS-OFF';
DELETE FROM credit_sandbox.inspector_conflicts WHERE operator_id = :'random_op' AND reason IS NULL;

-- =================================================================== ratios and inspectors_per_task
SELECT credit_sandbox.draw_inspections('seed-1', '{"B": 0.1}') AS d4 \gset
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t JOIN credit_sandbox.inspection_pool p USING (draw_id, operator_id)
            WHERE t.draw_id = :d4 AND t.reason = 'random' AND p.class IS DISTINCT FROM 'B'), 0::bigint,
          'ratios {"B": 0.1}: classes left out are not drawn');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d4 AND reason = 'random'),
          (SELECT ceil(0.1 * count(*))::bigint FROM credit_sandbox.inspection_pool WHERE draw_id = :d4 AND class = 'B'),
          'ratios {"B": 0.1}: ceil(0.1 * n_B) random tasks');
SELECT set_eq(format('SELECT operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = %s AND reason = ''random''', :d4),
              format('SELECT operator_id FROM credit_sandbox.inspection_tasks t JOIN credit_sandbox.inspection_pool p USING (draw_id, operator_id) WHERE draw_id = %s AND reason = ''random'' AND p.class = ''B''', :d1),
              'ratios {"B": 0.1}: the same B operators as the default draw with the same seed');
SELECT set_eq(format('SELECT operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = %s AND reason = ''triggered''', :d4),
              format('SELECT operator_id FROM credit_sandbox.inspection_pool p WHERE draw_id = %s AND triggered AND NOT EXISTS (SELECT FROM credit_sandbox.inspection_tasks t WHERE t.draw_id = p.draw_id AND t.operator_id = p.operator_id AND t.reason = ''random'')', :d4),
              'ratios {"B": 0.1}: triggered tasks still added');
SELECT credit_sandbox.draw_inspections('seed-1', '{"A": 1, "B": 0, "C": 0, "D": 0}', 3) AS d5 \gset
SELECT set_eq(format('SELECT operator_id FROM credit_sandbox.inspection_tasks WHERE draw_id = %s AND reason = ''random''', :d5),
              format('SELECT operator_id FROM credit_sandbox.inspection_pool WHERE draw_id = %s AND class = ''A''', :d5),
              'ratio 1: every class-A pool operator; ratio 0: none');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d5 AND cardinality(inspectors) <> 3
              AND operator_id NOT IN ('I-T001', 'I-D001')), 0::bigint, 'inspectors_per_task 3: three per task');
SELECT is((SELECT cardinality(inspectors) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d5 AND operator_id = 'I-T001'),
          3, 'inspectors_per_task 3: I-T001 still gets three of the five without conflict');
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks t, conflict_t1 c
            WHERE t.operator_id = 'I-T001' AND c.inspector_id = ANY (t.inspectors)), 0::bigint,
          'inspectors: I-T001''s conflicting inspector in no draw');
SELECT credit_sandbox.draw_inspections('seed-1', '{}', 10) AS d6 \gset
SELECT is((SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d6 AND reason = 'random'), 0::bigint,
          'ratios {}: no random task');
SELECT is((SELECT cardinality(inspectors) FROM credit_sandbox.inspection_tasks WHERE draw_id = :d6 AND operator_id = 'I-T002'),
          6, 'inspectors_per_task 10 with 6 active inspectors: all 6');
SELECT ok(credit_sandbox.verify_draw(:d4) AND credit_sandbox.verify_draw(:d5) AND credit_sandbox.verify_draw(:d6),
          'verify: the other draws verify');

-- =================================================================== ids shared by inspectors and operators
-- when the two id spaces overlap (plain numbers, say), a conflict (inspector I-QA, operator I-QB)
-- is about that pair only: inspector I-QB may still inspect operator I-QA
INSERT INTO credit_sandbox.inspectors (inspector_id, active) VALUES ('I-QA', false), ('I-QB', true);
CALL pg_temp.add_operator('I-QA');
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id) VALUES ('I-QA', 'I-QB');
SELECT credit_sandbox.draw_inspections('seed-q', '{"A": 1}', 10) AS d7 \gset
SELECT is((SELECT inspectors FROM credit_sandbox.inspection_tasks WHERE draw_id = :d7 AND operator_id = 'I-QA'),
          ARRAY(SELECT i FROM unnest('{INS-1,INS-2,INS-3,INS-4,INS-5,INS-6,I-QB}'::text[]) i ORDER BY pg_temp.draw_hash('seed-q', 'I-QA', i)),
          'conflicts: only the recorded (inspector, operator) pair is skipped, not the reversed one');

SELECT * FROM finish();
ROLLBACK;
