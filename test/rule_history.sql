-- rule_history.sql -- pgTAP: a warning's rule_version can always be read back in
-- rule_history as the parameters it was raised under (SPEC.md section 2: "every warning
-- records the rule version"), whatever way the rule was changed.
-- Operators 'TRH...', times in 2030.  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(5);
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;

CREATE PROCEDURE pg_temp.orders(op text, n int) LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
    SELECT op, '2030-06-01 00:00+08'::timestamptz + g * interval '1 minute', 'S1', 'i', 1
      FROM generate_series(1, n) g $$;
-- every warning of these operators whose evidence threshold differs from its version's params
CREATE FUNCTION pg_temp.inconsistent() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT w.operator_id || ': evidence threshold ' || (w.evidence ->> 'threshold')
           || ', rule_history ' || w.code || ' v' || w.rule_version || ' threshold '
           || coalesce(h.params ->> 'threshold', '(no such version)')
      FROM credit_sandbox.warnings w
      LEFT JOIN credit_sandbox.rule_history h ON h.code = w.code AND h.version = w.rule_version
     WHERE w.operator_id LIKE 'TRH-%' AND w.code = 'RL04'
       AND (h.params ->> 'threshold') IS DISTINCT FROM (w.evidence ->> 'threshold') $$;

UPDATE credit_sandbox.rules SET enabled = true, params = '{"window": "24 hours", "threshold": 8}' WHERE code = 'RL04';
CALL pg_temp.orders('TRH-1', 8);
SELECT is((SELECT evidence ->> 'threshold' FROM credit_sandbox.warnings WHERE operator_id = 'TRH-1' AND code = 'RL04'), '8',
          'a warning under threshold 8');

-- an INSERT of a rule that already exists: refused, or a new version, but it must not
-- rewrite a version warnings were raised under (in a fresh database RL04 is still at
-- its default version 1 here)
DO $$
BEGIN
    INSERT INTO credit_sandbox.rules (code, title, list, params)
    VALUES ('RL04', 'order brushing', 'risk_trigger', '{"window": "24 hours", "threshold": 3}');
EXCEPTION WHEN unique_violation THEN
    NULL;
END $$;
CALL pg_temp.orders('TRH-2', 8);
SELECT is_empty($$SELECT * FROM pg_temp.inconsistent()$$,
                'INSERT of an existing rule: each warning''s version still reads back its parameters');
SELECT is_empty(
    $$SELECT rule_version FROM credit_sandbox.warnings WHERE operator_id LIKE 'TRH-%' AND code = 'RL04'
       GROUP BY rule_version HAVING count(DISTINCT evidence ->> 'threshold') > 1$$,
    'INSERT of an existing rule: no version stands for two different thresholds');
SELECT ok((SELECT count(*) FROM credit_sandbox.rule_history h JOIN credit_sandbox.rules r USING (code, version)
            WHERE r.code = 'RL04' AND h.params = r.params) = 1,
          'INSERT of an existing rule: the version in force is in rule_history with its parameters');

-- an UPDATE is a new version
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 4}' WHERE code = 'RL04';
CALL pg_temp.orders('TRH-3', 4);
SELECT is_empty($$SELECT * FROM pg_temp.inconsistent() i WHERE i LIKE 'TRH-3:%'$$,
                'UPDATE: the new version reads back its parameters');

SELECT * FROM finish();
ROLLBACK;
