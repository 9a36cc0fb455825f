--
-- rules: parameter validation (every error path, SQLSTATE 22023), versions and
-- rule_history, and a change applying to the next row of the same transaction
-- (and reverting with a rollback).  Operators 'RU-...'.
--
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SELECT version AS v04 FROM credit_sandbox.rules WHERE code = 'RL04' \gset
SELECT version AS v08 FROM credit_sandbox.rules WHERE code = 'RL08' \gset
SELECT version AS v09 FROM credit_sandbox.rules WHERE code = 'RL09' \gset
-- ---------------------------------------------------------------- counts (integer 1..2147483647)
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 0}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": -3}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 1.5}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": "8"}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": null}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 2147483648}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- intervals (positive, at most 100 years)
UPDATE credit_sandbox.rules SET params = '{"window": "soon", "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "", "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "-1 hour", "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "0 seconds", "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "101 years", "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": 24, "threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"lookback": "P101Y"}' WHERE code = 'RL05';
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- numbers (0 to 1000000)
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": -1}' WHERE code = 'RL09';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 1000000.01}' WHERE code = 'RL09';
\echo :LAST_ERROR_SQLSTATE
BEGIN;
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 1000000}' WHERE code = 'RL09'
RETURNING params;
ROLLBACK;
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": "50"}' WHERE code = 'RL09';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules
   SET params = '{"window": "30 days", "threshold": 5, "factor": -0.5, "baseline": "90 days"}' WHERE code = 'RL08';
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- keys and shape
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 50, "pct": 1}' WHERE code = 'RL09';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "Threshold": 8}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours"}' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"window": "30 days", "threshold": 5, "factor": 3}' WHERE code = 'RL08';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '{"x": 1}' WHERE code = 'RL01';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '[]' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = '"24 hours"' WHERE code = 'RL04';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET params = 'null' WHERE code = 'TP01';
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- codes
UPDATE credit_sandbox.rules SET code = 'RL02' WHERE code = 'RL01';
\echo :LAST_ERROR_SQLSTATE
UPDATE credit_sandbox.rules SET code = 'RL99' WHERE code = 'RL01';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.rules (code, title, list, params) VALUES ('RL99', 'no such red line', 'risk_trigger', '{}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE credit_sandbox.rules SET list = 'watch_list' WHERE code = 'RL06';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- nothing above changed a rule
SELECT code, params, version FROM credit_sandbox.rules WHERE code IN ('RL01', 'RL04', 'RL05', 'RL08', 'RL09', 'TP01')
 ORDER BY code;
SELECT count(*) AS rules FROM credit_sandbox.rules;
-- ---------------------------------------------------------------- accepted edge values
BEGIN;
UPDATE credit_sandbox.rules SET params = '{"window": "100 years", "threshold": 2147483647}' WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET params = '{"window": "PT1S", "threshold": 1}' WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET params = '{"window": "1 mon", "threshold": 5, "factor": 0, "baseline": "1 day"}' WHERE code = 'RL08';
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 0}' WHERE code = 'RL09';
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 12.75}' WHERE code = 'RL09';
SELECT code, params, version - CASE code WHEN 'RL04' THEN :v04 WHEN 'RL08' THEN :v08 ELSE :v09 END AS new_versions
  FROM credit_sandbox.rules WHERE code IN ('RL04', 'RL08', 'RL09') ORDER BY code;
ROLLBACK;
-- ---------------------------------------------------------------- versions and rule_history
BEGIN;
UPDATE credit_sandbox.rules SET params = '{"window": "12 hours", "threshold": 5}' WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET title = 'order brushing (fake orders)' WHERE code = 'RL04';   -- not versioned
UPDATE credit_sandbox.rules SET params = '{"threshold": 5, "window": "12 hours"}' WHERE code = 'RL04';   -- same params
UPDATE credit_sandbox.rules SET version = 99 WHERE code = 'RL04';   -- the version is not set by hand
UPDATE credit_sandbox.rules SET tolerable = true WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET enabled = true, tolerable = false,
       params = '{"window": "24 hours", "threshold": 8}' WHERE code = 'RL04';
SELECT version - :v04 AS version, title, params, tolerable, enabled FROM credit_sandbox.rules WHERE code = 'RL04';
SELECT version - :v04 AS version, list, params, tolerable, enabled
  FROM credit_sandbox.rule_history WHERE code = 'RL04' AND version >= :v04 ORDER BY version;
ROLLBACK;
-- ---------------------------------------------------------------- a change applies to the next row
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
VALUES ('RU-1', '2020-01-01', '2031-12-31', '{}'), ('RU-2', '2020-01-01', '2031-12-31', '{}');
BEGIN;
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 2}' WHERE code = 'RL04';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-1', '2030-06-01 10:00+08', 'S1', 'i', 1);
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-1', '2030-06-01 11:00+08', 'S1', 'i', 1);
-- the second order hit under threshold 2, recording the new version
SELECT code, subject_key, hits, evidence, rule_version - :v04 AS rule_version
  FROM credit_sandbox.warnings WHERE operator_id = 'RU-1';
SAVEPOINT before_disable;
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL04';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-1', '2030-06-01 12:00+08', 'S1', 'i', 1);
SELECT code, hits FROM credit_sandbox.warnings WHERE operator_id = 'RU-1';
ROLLBACK TO SAVEPOINT before_disable;
-- enabled again by the rollback to the savepoint
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-1', '2030-06-01 12:00+08', 'S1', 'i', 1);
SELECT code, hits FROM credit_sandbox.warnings WHERE operator_id = 'RU-1';
ROLLBACK;
-- after the rollback: threshold 8 again, nothing of the transaction left
SELECT params, version - :v04 AS version FROM credit_sandbox.rules WHERE code = 'RL04';
SELECT count(*) AS warnings FROM credit_sandbox.warnings WHERE operator_id LIKE 'RU-%';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-2', '2030-06-01 10:00+08', 'S1', 'i', 1), ('RU-2', '2030-06-01 11:00+08', 'S1', 'i', 1);
SELECT count(*) AS warnings FROM credit_sandbox.warnings WHERE operator_id LIKE 'RU-%';
-- committed changes reach the next statement too
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 3}' WHERE code = 'RL04';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('RU-2', '2030-06-01 12:00+08', 'S1', 'i', 1);
SELECT code, subject_key, hits, evidence, rule_version - :v04 AS rule_version
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'RU-%';
-- ---------------------------------------------------------------- clean up
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 8}' WHERE code = 'RL04';
SELECT cs_test_cleanup('RU-');
