-- grading.sql -- pgTAP: credit classes (SPEC.md section 4, api 0.2): the score from the
-- weighted indicators, every class boundary, every hard rule, the spec's A condition,
-- the legal day of `at`, the 365-day windows, the contributions kept in indicators,
-- the history and operator_classes, regrade, and the validation of grading_weights and
-- grade_boundaries.
-- Operators 'G-...', data times in 2029-2030 (graded with an explicit `at`).
-- One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(117);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
CREATE PROCEDURE pg_temp.set_weight(ind text, w numeric) LANGUAGE sql AS $$
    UPDATE credit_sandbox.grading_weights SET weight = w WHERE indicator = ind $$;
-- score|score_class|class of the latest grade row
CREATE FUNCTION pg_temp.score_and_classes(op text) RETURNS text LANGUAGE sql AS
$$ SELECT format('%s|%s|%s', g.score, g.score_class, g.class) FROM pg_temp.latest_grade(op) g $$;
-- one indicator's value in the latest grade row
CREATE FUNCTION pg_temp.indicator_value(op text, ind text) RETURNS numeric LANGUAGE sql AS
$$ SELECT ((g.indicators -> ind) ->> 'value')::numeric FROM pg_temp.latest_grade(op) g $$;
-- the hard rules of the latest grade row, as a text array in their order
CREATE FUNCTION pg_temp.hard_rules_of(op text) RETURNS text[] LANGUAGE sql AS
$$ SELECT coalesce(array_agg(r ORDER BY n), '{}') FROM pg_temp.latest_grade(op) g,
          jsonb_array_elements_text(g.hard_rules) WITH ORDINALITY AS x(r, n) $$;

-- the moment most grades are taken at: 2030-06-15 12:00 in Shanghai (legal day 2030-06-15)
\set T '''2030-06-15 04:00:00+00'''

-- =================================================================== the spec's A condition
CALL pg_temp.add_operator('G-CLEAN');
SELECT is(credit_sandbox.grade('G-CLEAN', :T), 'A',
          'A condition: registered years before, licence valid, no list entry, nothing in 365 days -> A');
SELECT is(format('%s|%s|%s|%s|%s|%s', g.score, g.score_class, g.class, g.hard_rules, g.cause, g.graded_as_of = :T),
          '100.00|A|A|[]|grade|t', 'A condition: score 100.00, no hard rule, cause grade, graded_as_of = at')
  FROM pg_temp.latest_grade('G-CLEAN') g;
SELECT is((SELECT count(*) FROM credit_sandbox.operator_grades WHERE operator_id = 'G-CLEAN'), 1::bigint,
          'grade: records one row');

-- registration: under a year = registered_on > legal day - 1 year (or NULL)
CALL pg_temp.add_operator('G-REG-1Y', registered => '2029-06-15');
SELECT is(credit_sandbox.grade('G-REG-1Y', :T), 'A', 'registered exactly one year before the legal day: A');
SELECT is(pg_temp.indicator_value('G-REG-1Y', 'registered_under_a_year'), 0::numeric, '... registered_under_a_year = 0');
CALL pg_temp.add_operator('G-REG-LT', registered => '2029-06-16');
SELECT is(credit_sandbox.grade('G-REG-LT', :T), 'B', 'registered one day less than a year before: B');
SELECT is(pg_temp.score_and_classes('G-REG-LT'), '85.00|B|B', '... score 100 - 15 = 85.00, no hard rule');
SELECT is(pg_temp.hard_rules_of('G-REG-LT'), '{}'::text[], '... no hard rule');
CALL pg_temp.add_operator('G-REG-NULL', registered => NULL);
SELECT is(credit_sandbox.grade('G-REG-NULL', :T), 'B', 'registered_on NULL counts as under a year: B');
-- legal day: 2030-06-14 16:30 UTC is 2030-06-15 00:30 in Shanghai
SELECT is(credit_sandbox.grade('G-REG-1Y', '2030-06-14 16:30:00+00'), 'A',
          'registration judged on the legal day of at (Shanghai 06-15, UTC 06-14): A');
SELECT is(credit_sandbox.grade('G-REG-1Y', '2030-06-14 15:59:59+00'), 'B',
          'registration: one second earlier is legal day 06-14: under a year, B');

-- licence: valid through licence_valid_until inclusive, on the legal day of at
CALL pg_temp.add_operator('G-LIC', licence => '2030-06-15');
SELECT is(credit_sandbox.grade('G-LIC', :T), 'A', 'licence valid until the legal day itself: A');
SELECT is(credit_sandbox.grade('G-LIC', '2030-06-15 15:59:59+00'), 'A', 'licence: last second of the legal day: A');
SELECT is(credit_sandbox.grade('G-LIC', '2030-06-15 16:00:00+00'), 'B',
          'licence: 16:00 UTC is the next legal day in Shanghai: no valid licence, B');
SELECT is(pg_temp.score_and_classes('G-LIC'), '70.00|B|B', '... score 100 - 30 = 70.00');
SELECT is(pg_temp.hard_rules_of('G-LIC'), '{"no licence valid on the day: not A"}'::text[], '... hard rule recorded');
CALL pg_temp.add_operator('G-LIC-NULL', licence => NULL);
SELECT is(credit_sandbox.grade('G-LIC-NULL', :T), 'B', 'licence_valid_until NULL: no valid licence, B');

-- =================================================================== hard rules
-- no valid licence -> not A, even with a full score
CALL pg_temp.set_weight('no_valid_licence', 0);
SELECT is(credit_sandbox.grade('G-LIC-NULL', :T), 'B', 'hard rule: no valid licence with score 100 -> B (not A)');
SELECT is(pg_temp.score_and_classes('G-LIC-NULL'), '100.00|A|B', '... score_class A, class B');
CALL pg_temp.default_weights();
-- not A means B or worse: a lower score stays lower
CALL pg_temp.add_operator('G-LIC-REG', registered => NULL, licence => NULL);
SELECT is(credit_sandbox.grade('G-LIC-REG', :T), 'C', 'no licence and not registered: 55.00 -> C (the rule only caps)');

-- dishonest list -> D
CALL pg_temp.add_operator('G-DIS');
CALL pg_temp.add_list_entry('G-DIS', 'dishonest', '2030-01-01');
SELECT is(credit_sandbox.grade('G-DIS', :T), 'D', 'dishonest list: D');
SELECT is(pg_temp.score_and_classes('G-DIS'), '40.00|D|D', '... score 100 - 60 = 40.00');
CALL pg_temp.set_weight('dishonest_list', 0);
SELECT is(credit_sandbox.grade('G-DIS', :T), 'D', 'hard rule: dishonest list with score 100 -> D');
SELECT is(pg_temp.score_and_classes('G-DIS'), '100.00|A|D', '... score_class A, class D');
SELECT is(pg_temp.hard_rules_of('G-DIS'), '{"on the dishonest list: D"}'::text[], '... hard rule recorded');
CALL pg_temp.default_weights();

-- abnormal list -> C or worse
CALL pg_temp.add_operator('G-ABN');
CALL pg_temp.add_list_entry('G-ABN', 'abnormal', '2030-01-01');
SELECT is(credit_sandbox.grade('G-ABN', :T), 'C', 'abnormal list: 70.00 (B by score) -> C');
SELECT is(pg_temp.score_and_classes('G-ABN'), '70.00|B|C', '... score_class B, class C');
CALL pg_temp.set_weight('abnormal_list', 0);
SELECT is(credit_sandbox.grade('G-ABN', :T), 'C', 'hard rule: abnormal list with score 100 -> C');
SELECT is(pg_temp.hard_rules_of('G-ABN'), '{"on the abnormal list: C or worse"}'::text[], '... hard rule recorded');
CALL pg_temp.default_weights();
CALL pg_temp.add_operator('G-ABN-LIC', licence => NULL);
CALL pg_temp.add_list_entry('G-ABN-LIC', 'abnormal', '2030-01-01');
SELECT is(credit_sandbox.grade('G-ABN-LIC', :T), 'D', 'abnormal list and no licence: 40.00 -> D (C or worse)');
SELECT is(pg_temp.hard_rules_of('G-ABN-LIC'), '{"on the abnormal list: C or worse","no licence valid on the day: not A"}'::text[],
          '... both hard rules recorded');

-- list entries: from listed_on inclusive to removed_on exclusive, on the legal day
CALL pg_temp.add_operator('G-LST-REM');
CALL pg_temp.add_list_entry('G-LST-REM', 'dishonest', '2030-01-01', '2030-06-15');
SELECT is(credit_sandbox.grade('G-LST-REM', :T), 'A', 'list entry removed on the legal day: no longer applies, A');
SELECT is(credit_sandbox.grade('G-LST-REM', '2030-06-14 15:59:59+00'), 'D', 'list entry: the day before removal, D');
CALL pg_temp.add_operator('G-LST-ON');
CALL pg_temp.add_list_entry('G-LST-ON', 'abnormal', '2030-06-15');
SELECT is(credit_sandbox.grade('G-LST-ON', :T), 'C', 'list entry listed on the legal day: applies, C');
SELECT is(credit_sandbox.grade('G-LST-ON', '2030-06-14 16:30:00+00'), 'C',
          'list entry: 16:30 UTC on 06-14 is the legal day 06-15: C');
SELECT is(credit_sandbox.grade('G-LST-ON', '2030-06-14 15:59:59+00'), 'A', 'list entry: the legal day before listed_on: A');

-- an open warning clue -> B or worse
CALL pg_temp.add_operator('G-OWC');
CALL pg_temp.add_sale('G-OWC', '2030-06-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'G-OWC' AND list = 'risk_trigger'
              AND status = 'open'), 1::bigint, 'setup: a prohibited sale wrote one open warning clue');
SELECT is(credit_sandbox.grade('G-OWC', :T), 'B', 'open warning clue: B');
SELECT is(pg_temp.score_and_classes('G-OWC'), '75.00|B|B', '... score 100 - 15 (clue in 365 days) - 10 (open clue) = 75.00');
SELECT is(pg_temp.hard_rules_of('G-OWC'), '{"an open warning clue: B or worse"}'::text[], '... hard rule recorded');
CALL pg_temp.set_weight('warning_clues', 0);
CALL pg_temp.set_weight('open_warning_clues', 0);
SELECT is(credit_sandbox.grade('G-OWC', :T), 'B', 'hard rule: open warning clue with score 100 -> B');
SELECT is(pg_temp.score_and_classes('G-OWC'), '100.00|A|B', '... score_class A, class B');
DO $$ BEGIN PERFORM credit_sandbox.acknowledge(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'G-OWC'; END $$;
SELECT is(credit_sandbox.grade('G-OWC', :T), 'B', 'hard rule: an acknowledged warning clue is still open -> B');
DO $$ BEGIN PERFORM credit_sandbox.record_correction(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'G-OWC'; END $$;
SELECT is(credit_sandbox.grade('G-OWC', :T), 'A', 'hard rule: a corrected warning clue no longer caps the class');
CALL pg_temp.default_weights();
SELECT is(credit_sandbox.grade('G-OWC', :T), 'B', 'a corrected clue still counts in warning_clues: 85.00 -> B');
SELECT is(format('%s|%s', pg_temp.indicator_value('G-OWC', 'warning_clues'), pg_temp.indicator_value('G-OWC', 'open_warning_clues')), '1|0',
          '... warning_clues 1, open_warning_clues 0');
-- a tip is no warning clue: no cap
CALL pg_temp.add_operator('G-TIP', licence => '2030-06-30');
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES ('G-TIP', 'test fixture');
CALL pg_temp.add_sale('G-TIP', '2030-06-10 04:00+00', item => 'ad', title => '最佳 耳机');
SELECT is((SELECT string_agg(code || ':' || list, ',' ORDER BY code) FROM credit_sandbox.warnings WHERE operator_id = 'G-TIP'),
          'RL06:admin_tip,TP01:admin_tip', 'setup: a member''s first RL06 hit is a tip, and the licence expiry a TP01 tip');
SELECT is(credit_sandbox.grade('G-TIP', :T), 'A', 'open tips do not cap the class: A');
SELECT is(pg_temp.indicator_value('G-TIP', 'admin_tips'), 1::numeric, 'admin_tips counts the RL06 tip, not the TP01 tip');
SELECT is(pg_temp.score_and_classes('G-TIP'), '96.00|A|A', '... score 100 - 4 = 96.00');

-- =================================================================== windows: (at - 365 days, at]
CALL pg_temp.add_operator('G-WIN');
CALL pg_temp.add_sale('G-WIN', '2029-06-15 04:00+00', item => 'gun', cat => 'firearms');
DO $$ BEGIN PERFORM credit_sandbox.record_correction(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'G-WIN'; END $$;
SELECT is(credit_sandbox.grade('G-WIN', '2030-06-15 04:00+00'), 'A', 'a clue last hit exactly 365 days before at: outside');
SELECT is(pg_temp.indicator_value('G-WIN', 'warning_clues'), 0::numeric, '... warning_clues 0');
SELECT is(credit_sandbox.grade('G-WIN', '2030-06-15 03:59:59+00'), 'B', 'a clue last hit 365 days - 1 s before at: inside, B');
SELECT is(pg_temp.indicator_value('G-WIN', 'warning_clues'), 1::numeric, '... warning_clues 1');
SELECT is(credit_sandbox.grade('G-WIN', '2029-06-15 04:00+00'), 'B', 'a clue last hit at at itself: inside');
SELECT is(credit_sandbox.grade('G-WIN', '2029-06-15 03:59:59+00'), 'A', 'a clue last hit after at: not counted');
CALL pg_temp.add_operator('G-CWIN');
CALL pg_temp.add_complaints('G-CWIN', '2029-06-15 04:00+00');
SELECT is(credit_sandbox.grade('G-CWIN', '2030-06-15 04:00+00'), 'A', 'complaint exactly 365 days before: outside');
SELECT is(pg_temp.indicator_value('G-CWIN', 'complaints_per_1000_orders'), 0::numeric, '... complaints_per_1000_orders 0');
SELECT is(credit_sandbox.grade('G-CWIN', '2029-06-15 04:00+00'), 'A', 'complaint at at itself: counted');
SELECT is(pg_temp.score_and_classes('G-CWIN'), '98.00|A|A', '... 1 complaint, fewer than 1,000 orders: rate 1, 2 points off');

-- =================================================================== class boundaries
-- one complaint and no order: complaints_per_1000_orders = 1, so its weight is the points taken off
CALL pg_temp.add_operator('G-BND');
CALL pg_temp.add_complaints('G-BND', '2030-06-01 04:00+00');
CALL pg_temp.set_weight('complaints_per_1000_orders', 10);
SELECT is(credit_sandbox.grade('G-BND', :T), 'A', 'boundary: score exactly 90 -> A');
SELECT is(pg_temp.score_and_classes('G-BND'), '90.00|A|A', '... 90.00');
CALL pg_temp.set_weight('complaints_per_1000_orders', 10.01);
SELECT is(credit_sandbox.grade('G-BND', :T), 'B', 'boundary: score 89.99 -> B');
SELECT is(pg_temp.score_and_classes('G-BND'), '89.99|B|B', '... 89.99');
CALL pg_temp.set_weight('complaints_per_1000_orders', 30);
SELECT is(credit_sandbox.grade('G-BND', :T), 'B', 'boundary: score exactly 70 -> B');
CALL pg_temp.set_weight('complaints_per_1000_orders', 30.01);
SELECT is(credit_sandbox.grade('G-BND', :T), 'C', 'boundary: score 69.99 -> C');
SELECT is(pg_temp.score_and_classes('G-BND'), '69.99|C|C', '... 69.99');
CALL pg_temp.set_weight('complaints_per_1000_orders', 50);
SELECT is(credit_sandbox.grade('G-BND', :T), 'C', 'boundary: score exactly 50 -> C');
CALL pg_temp.set_weight('complaints_per_1000_orders', 50.01);
SELECT is(credit_sandbox.grade('G-BND', :T), 'D', 'boundary: score 49.99 -> D');
SELECT is(pg_temp.score_and_classes('G-BND'), '49.99|D|D', '... 49.99');
CALL pg_temp.set_weight('complaints_per_1000_orders', 150);
SELECT is(credit_sandbox.grade('G-BND', :T), 'D', 'score below 0 is clamped: D');
SELECT is(pg_temp.score_and_classes('G-BND'), '0.00|D|D', '... score 0.00');
CALL pg_temp.set_weight('complaints_per_1000_orders', 0.333);
SELECT is(credit_sandbox.grade('G-BND', :T), 'A', 'rounding: 100 - 0.333');
SELECT is((pg_temp.latest_grade('G-BND')).score, 99.67, '... score rounded to 2 decimals: 99.67');
-- boundaries are a table: moved inside the transaction
UPDATE credit_sandbox.grade_boundaries SET min_score = 95 WHERE class = 'A';
CALL pg_temp.set_weight('complaints_per_1000_orders', 5.01);
SELECT is(credit_sandbox.grade('G-BND', :T), 'B', 'boundary A moved to 95: 94.99 -> B');
CALL pg_temp.set_weight('complaints_per_1000_orders', 5);
SELECT is(credit_sandbox.grade('G-BND', :T), 'A', 'boundary A moved to 95: 95.00 -> A');
UPDATE credit_sandbox.grade_boundaries SET min_score = 90 WHERE class = 'A';
CALL pg_temp.default_weights();

-- =================================================================== contributions kept
-- G-MIX, as of T: registered 2030-01-01 (under a year, 15), licence valid (until 06-30),
-- 2,000 orders in the window, 4 complaints (rate 2 -> 4 points), 1 refused return (rate 0.5 -> 2.5),
-- an RL06 tip while a member (admin_tips 1 -> 4), a TP01 tip (not counted), an open RL03 warning
-- clue (warning_clues 1 -> 15, open_warning_clues 1 -> 10): 50.5 points off -> 49.50, D.
CALL pg_temp.add_operator('G-MIX', registered => '2030-01-01', licence => '2030-06-30');
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES ('G-MIX', 'test fixture');
CALL pg_temp.add_sales_in_one_insert('G-MIX', '2030-03-01 00:00+00', 1998);
CALL pg_temp.add_sale('G-MIX', '2030-06-10 04:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('G-MIX', '2030-06-11 04:00+00', item => 'gun', cat => 'firearms');
CALL pg_temp.add_complaints('G-MIX', '2030-04-01 04:00+00', 4, '1 hour');
INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome)
VALUES ('G-MIX', 'misc', NULL, '2030-05-01 04:00+00', 'refused');
SELECT is((SELECT string_agg(code || ':' || list || ':' || status, ',' ORDER BY code) FROM credit_sandbox.warnings
            WHERE operator_id = 'G-MIX'), 'RL03:risk_trigger:open,RL06:admin_tip:open,TP01:admin_tip:open',
          'setup: G-MIX has an open clue, an RL06 tip and a TP01 tip');
SELECT is(credit_sandbox.grade('G-MIX', :T), 'D', 'contributions: G-MIX is D');
SELECT is(pg_temp.score_and_classes('G-MIX'), '49.50|D|D', 'contributions: score 49.50');
SELECT is(pg_temp.hard_rules_of('G-MIX'), '{"an open warning clue: B or worse"}'::text[], 'contributions: hard rules');
SELECT set_eq($$SELECT jsonb_object_keys(indicators) FROM pg_temp.latest_grade('G-MIX')$$,
              $$SELECT indicator FROM credit_sandbox.grading_weights$$,
              'contributions: one entry per indicator');
SELECT results_eq(
    $$SELECT k, (v ->> 'value')::numeric FROM pg_temp.latest_grade('G-MIX') g, jsonb_each(g.indicators) e(k, v) ORDER BY k$$,
    $$VALUES ('abnormal_list', 0::numeric), ('admin_tips', 1), ('complaints_per_1000_orders', 2),
             ('dishonest_list', 0), ('no_valid_licence', 0), ('open_warning_clues', 1),
             ('refusals_per_1000_orders', 0.5), ('registered_under_a_year', 1), ('warning_clues', 1)$$,
    'contributions: the value of each indicator');
SELECT results_eq(
    $$SELECT k, (v ->> 'weight')::numeric FROM pg_temp.latest_grade('G-MIX') g, jsonb_each(g.indicators) e(k, v) ORDER BY k$$,
    $$SELECT indicator, weight FROM credit_sandbox.grading_weights ORDER BY indicator$$,
    'contributions: the weight of each indicator, as in grading_weights');
SELECT is((SELECT count(*) FROM pg_temp.latest_grade('G-MIX') g, jsonb_each(g.indicators) e(k, v)
            WHERE abs((v ->> 'points')::numeric) <> round((v ->> 'value')::numeric * (v ->> 'weight')::numeric, 2)),
          0::bigint, 'contributions: |points| = value * weight for every indicator');
SELECT results_eq(
    $$SELECT k, (v ->> 'points')::numeric FROM pg_temp.latest_grade('G-MIX') g, jsonb_each(g.indicators) e(k, v)
       WHERE (v ->> 'value')::numeric > 0 ORDER BY k$$,
    $$VALUES ('admin_tips', 4.00), ('complaints_per_1000_orders', 4.00), ('open_warning_clues', 10.00),
             ('refusals_per_1000_orders', 2.50), ('registered_under_a_year', 15.00), ('warning_clues', 15.00)$$,
    'contributions: points = the points taken off (value * weight)');
SELECT is((SELECT sum((v ->> 'points')::numeric) FROM pg_temp.latest_grade('G-MIX') g, jsonb_each(g.indicators) e(k, v)),
          100 - (pg_temp.latest_grade('G-MIX')).score, 'contributions: the points add up to 100 - score');

-- =================================================================== history and operator_classes
CALL pg_temp.add_operator('G-HIST');
SELECT is(credit_sandbox.grade('G-HIST', '2030-01-10 04:00+00'), 'A', 'history: first grade A');
CALL pg_temp.add_list_entry('G-HIST', 'abnormal', '2030-02-01', '2030-03-01');
SELECT is(credit_sandbox.grade('G-HIST', '2030-02-10 04:00+00'), 'C', 'history: second grade C (listed)');
SELECT is(credit_sandbox.grade('G-HIST', '2030-03-10 04:00+00'), 'A', 'history: third grade A (list entry removed)');
SELECT results_eq(
    $$SELECT graded_as_of, class, cause FROM credit_sandbox.operator_grades WHERE operator_id = 'G-HIST' ORDER BY grade_id$$,
    $$VALUES ('2030-01-10 04:00+00'::timestamptz, 'A', 'grade'), ('2030-02-10 04:00+00', 'C', 'grade'),
             ('2030-03-10 04:00+00', 'A', 'grade')$$,
    'history: three grades, three rows kept');
SELECT is((SELECT format('%s|%s|%s', class, score, graded_as_of = '2030-03-10 04:00+00')
             FROM credit_sandbox.operator_classes WHERE operator_id = 'G-HIST'), 'A|100.00|t',
          'operator_classes: the latest grade');
SELECT is((SELECT grade_id FROM credit_sandbox.operator_classes WHERE operator_id = 'G-HIST'),
          (pg_temp.latest_grade('G-HIST')).grade_id, 'operator_classes: grade_id of the latest row');
SELECT is(credit_sandbox.grade('G-HIST', '2030-02-20 04:00+00'), 'C', 'history: a fourth grade, as of an earlier day');
SELECT is((SELECT class FROM credit_sandbox.operator_classes WHERE operator_id = 'G-HIST'), 'C',
          'operator_classes: the latest recorded grade counts');
SELECT is((SELECT count(*) FROM credit_sandbox.operator_classes WHERE operator_id LIKE 'G-%'),
          (SELECT count(DISTINCT operator_id) FROM credit_sandbox.operator_grades WHERE operator_id LIKE 'G-%'),
          'operator_classes: one row per graded operator');

-- =================================================================== regrade
CALL pg_temp.add_operator('G-NEVER');
CREATE TEMP TABLE before_regrade AS SELECT max(grade_id) AS last FROM credit_sandbox.operator_grades;
SELECT is(credit_sandbox.regrade('2030-09-01 04:00+00'), (SELECT count(*) FROM credit_sandbox.operators),
          'regrade: returns the number of operators');
SELECT is((SELECT count(*) FROM credit_sandbox.operator_grades, before_regrade WHERE grade_id > last),
          (SELECT count(*) FROM credit_sandbox.operators), 'regrade: one new row per operator');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.operator_grades, before_regrade
                 WHERE grade_id > last AND cause = 'regrade' AND graded_as_of = '2030-09-01 04:00+00'$$,
              $$SELECT operator_id FROM credit_sandbox.operators$$,
              'regrade: every operator, cause regrade, graded_as_of = at');
SELECT is((SELECT class FROM credit_sandbox.operator_classes WHERE operator_id = 'G-NEVER'), 'A',
          'regrade: an operator never graded before gets its class');
SELECT is((SELECT class FROM credit_sandbox.operator_classes WHERE operator_id = 'G-DIS'), 'D',
          'regrade: the dishonest operator is D');
-- regrade and grade agree, operator by operator
CREATE TEMP TABLE regraded AS
SELECT g.* FROM credit_sandbox.operator_grades g, before_regrade WHERE g.grade_id > last;
DO $$ BEGIN PERFORM credit_sandbox.grade(operator_id, '2030-09-01 04:00+00') FROM credit_sandbox.operators; END $$;
SELECT is((SELECT count(*) FROM regraded r JOIN credit_sandbox.operator_classes c USING (operator_id)
             JOIN credit_sandbox.operator_grades g ON g.grade_id = c.grade_id
            WHERE (g.score, g.score_class, g.class, g.indicators, g.hard_rules)
                  IS DISTINCT FROM (r.score, r.score_class, r.class, r.indicators, r.hard_rules)),
          0::bigint, 'regrade: the same score, class, indicators and hard rules as grade() for every operator');

-- =================================================================== errors
SELECT throws_ok($$SELECT credit_sandbox.grade('G-NOBODY', '2030-06-15 04:00+00')$$, 'P0002',
                 'operator "G-NOBODY" does not exist', 'grade: unknown operator -> P0002');
SELECT is((SELECT count(*) FROM credit_sandbox.operator_grades WHERE operator_id = 'G-NOBODY'), 0::bigint,
          'grade: no row for an unknown operator');
SELECT throws_ok($$INSERT INTO credit_sandbox.grading_weights VALUES ('charm', 1, 'x')$$, '22023',
                 'unknown grading indicator "charm"', 'grading_weights: unknown indicator');
SELECT throws_ok($$UPDATE credit_sandbox.grading_weights SET weight = -1 WHERE indicator = 'admin_tips'$$, '22023',
                 'grading indicator admin_tips: the weight must be a finite number >= 0', 'grading_weights: negative weight');
SELECT throws_ok($$UPDATE credit_sandbox.grading_weights SET weight = NULL WHERE indicator = 'admin_tips'$$, '22023',
                 'grading indicator admin_tips: the weight must be a finite number >= 0', 'grading_weights: NULL weight');
SELECT throws_ok($$UPDATE credit_sandbox.grading_weights SET weight = 'Infinity' WHERE indicator = 'admin_tips'$$, '22023',
                 'grading indicator admin_tips: the weight must be a finite number >= 0', 'grading_weights: infinite weight');
SELECT throws_ok($$UPDATE credit_sandbox.grading_weights SET weight = 'NaN' WHERE indicator = 'admin_tips'$$, '22023',
                 'grading indicator admin_tips: the weight must be a finite number >= 0', 'grading_weights: NaN weight');
SELECT lives_ok($$UPDATE credit_sandbox.grading_weights SET weight = 0 WHERE indicator = 'admin_tips'$$,
                'grading_weights: weight 0 accepted');
SELECT throws_ok($$INSERT INTO credit_sandbox.grade_boundaries VALUES ('E', 10)$$, '22023',
                 'unknown class "E" in grade_boundaries', 'grade_boundaries: unknown class');
SELECT throws_ok($$INSERT INTO credit_sandbox.grade_boundaries VALUES ('D', 10)$$, '22023',
                 'unknown class "D" in grade_boundaries', 'grade_boundaries: D has no lowest score');
SELECT throws_ok($$UPDATE credit_sandbox.grade_boundaries SET min_score = 100.01 WHERE class = 'A'$$, '22023',
                 'class A: the lowest score must be from 0 to 100', 'grade_boundaries: above 100');
SELECT throws_ok($$UPDATE credit_sandbox.grade_boundaries SET min_score = -1 WHERE class = 'C'$$, '22023',
                 'class C: the lowest score must be from 0 to 100', 'grade_boundaries: below 0');
SELECT throws_ok($$UPDATE credit_sandbox.grade_boundaries SET min_score = 95 WHERE class = 'B'$$, '22023',
                 'grade boundaries must fall from A to C', 'grade_boundaries: B above A');
SELECT throws_ok($$UPDATE credit_sandbox.grade_boundaries SET min_score = 70 WHERE class = 'C'$$, '22023',
                 'grade boundaries must fall from A to C', 'grade_boundaries: C equal to B');
SELECT throws_ok($$DELETE FROM credit_sandbox.grade_boundaries WHERE class = 'C'$$, '22023',
                 'grade_boundaries must hold the lowest score of each of A, B and C', 'grade_boundaries: a class deleted');
SELECT results_eq($$SELECT class, min_score FROM credit_sandbox.grade_boundaries ORDER BY class$$,
                  $$VALUES ('A', 90::numeric), ('B', 70), ('C', 50)$$, 'grade_boundaries: unchanged after the refusals');

SELECT * FROM finish();
ROLLBACK;
