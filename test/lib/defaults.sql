-- defaults.sql -- included by the pgTAP files (\ir lib/defaults.sql) inside their
-- transaction: settings, rules, grading weights and boundaries at their defaults,
-- and the statement driver, whatever an earlier file left.

-- ------------------------------------------------------------------ defaults
UPDATE credit_sandbox.rules SET enabled = true, params = d.p, tolerable = d.t, list = d.l
  FROM (VALUES ('RL01', '{}'::jsonb, false, 'risk_trigger'), ('RL02', '{}', false, 'risk_trigger'),
               ('RL03', '{}', false, 'risk_trigger'),
               ('RL04', '{"window":"24 hours","threshold":8}', false, 'risk_trigger'),
               ('RL05', '{"lookback":"7 days"}', true, 'risk_trigger'), ('RL06', '{}', true, 'risk_trigger'),
               ('RL07', '{"return_period":"7 days","window":"30 days","threshold":1}', true, 'risk_trigger'),
               ('RL08', '{"window":"30 days","baseline":"90 days","threshold":5,"factor":3}', false, 'risk_trigger'),
               ('RL09', '{"max_markup_pct":50}', false, 'risk_trigger'),
               ('TP01', '{"expires_within":"30 days"}', false, 'admin_tip')) d(c, p, t, l)
 WHERE rules.code = d.c;
SET LOCAL credit_sandbox.time_zone = 'Asia/Shanghai';
SET LOCAL credit_sandbox.tolerance_window = '365 days';
SET LOCAL credit_sandbox.correction_period = '7 days';
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;
-- the default weights and boundaries; a test that changed them calls it again
CREATE PROCEDURE pg_temp.default_weights() LANGUAGE sql AS $$
    UPDATE credit_sandbox.grading_weights g SET weight = d.w
      FROM (VALUES ('no_valid_licence', 30), ('registered_under_a_year', 15), ('abnormal_list', 30),
                   ('dishonest_list', 60), ('warning_clues', 15), ('admin_tips', 4), ('open_warning_clues', 10),
                   ('complaints_per_1000_orders', 2), ('refusals_per_1000_orders', 5)) d(i, w)
     WHERE g.indicator = d.i AND g.weight IS DISTINCT FROM d.w;
    -- one statement: the boundaries are checked for order when it ends
    UPDATE credit_sandbox.grade_boundaries b SET min_score = d.m
      FROM (VALUES ('A', 90), ('B', 70), ('C', 50)) d(c, m) WHERE b.class = d.c $$;
CALL pg_temp.default_weights();
