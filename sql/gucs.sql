--
-- gucs: the settings credit_sandbox.time_zone, tolerance_window and correction_period:
-- bad values refused (22023), superuser only, and the legal day follows
-- credit_sandbox.time_zone, not the session's TimeZone.  Operators 'GU-...'.
--
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- load the module first: before it is loaded, SET on its settings is not checked
-- (see the test gucs_unloaded)
LOAD 'credit_sandbox';
SHOW credit_sandbox.time_zone;
-- ---------------------------------------------------------------- bad values
SET credit_sandbox.time_zone = 'Mars/Olympus';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.time_zone = '';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.tolerance_window = '0';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.tolerance_window = '-1 day';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.tolerance_window = 'a year';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.correction_period = '-7 days';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.correction_period = '';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.no_such_setting = 'x';
\echo :LAST_ERROR_SQLSTATE
-- the values are unchanged
SHOW credit_sandbox.time_zone;
SHOW credit_sandbox.tolerance_window;
SHOW credit_sandbox.correction_period;
-- ---------------------------------------------------------------- superuser only
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_cs_user;
RESET client_min_messages;
CREATE ROLE regress_cs_user;
SET ROLE regress_cs_user;
SET credit_sandbox.time_zone = 'UTC';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.correction_period = '30 days';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_cs_user;
SHOW credit_sandbox.time_zone;
-- ---------------------------------------------------------------- good values
SET credit_sandbox.time_zone = 'UTC';
SHOW credit_sandbox.time_zone;
BEGIN;
SET LOCAL credit_sandbox.time_zone = 'America/New_York';
SHOW credit_sandbox.time_zone;
COMMIT;
SHOW credit_sandbox.time_zone;
RESET credit_sandbox.time_zone;
SHOW credit_sandbox.time_zone;
SET credit_sandbox.tolerance_window = 'P1Y';
SHOW credit_sandbox.tolerance_window;
RESET credit_sandbox.tolerance_window;
-- ---------------------------------------------------------------- the legal day
-- a licence valid until 2030-06-01, and a sale at 2030-06-02 00:00 UTC:
-- 2030-06-01 20:00 in New York, 2030-06-02 08:00 in Shanghai
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
SELECT 'GU-' || i, '2020-01-01', '2030-06-01', '{}' FROM generate_series(1, 4) i;
SET TimeZone = 'America/New_York';
-- default zone (Shanghai): June 2nd, the licence has expired
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('GU-1', '2030-06-01 20:00-04', 'i', 1);
-- regulator in New York: June 1st, the licence's last day
SET credit_sandbox.time_zone = 'America/New_York';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('GU-2', '2030-06-01 20:00-04', 'i', 1);
-- regulator in UTC: June 2nd
SET credit_sandbox.time_zone = 'UTC';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('GU-3', '2030-06-01 20:00-04', 'i', 1);
-- the session's TimeZone does not matter: New York regulator, Shanghai session
SET credit_sandbox.time_zone = 'America/New_York';
SET TimeZone = 'Asia/Shanghai';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('GU-4', '2030-06-02 08:00+08', 'i', 1);
RESET credit_sandbox.time_zone;
SET TimeZone = 'UTC';
SELECT operator_id, code, evidence ->> 'sale_date' AS sale_date, evidence -> 'reasons' AS reasons,
       evidence -> 'days_left' AS days_left
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'GU-%' ORDER BY operator_id, code;
-- ---------------------------------------------------------------- correction period and tolerance window
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
VALUES ('GU-5', '2020-01-01', '2031-12-31', '{}'), ('GU-6', '2020-01-01', '2031-12-31', '{}');
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
VALUES ('GU-5', 'test: gucs'), ('GU-6', 'test: gucs');
SET credit_sandbox.correction_period = '36 hours';
SET credit_sandbox.tolerance_window = '10 days';
-- GU-5: first tip due in 36 hours; a second item 10 days later is tolerated again
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('GU-5', '2030-06-01 12:00+08', 'a', '最佳', 1);
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('GU-5', '2030-06-11 12:00+08', 'b', '最佳', 1);
-- GU-6: a second item 9 days later is a repeat
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('GU-6', '2030-06-01 12:00+08', 'a', '最佳', 1);
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('GU-6', '2030-06-10 12:00+08', 'b', '最佳', 1);
RESET credit_sandbox.correction_period;
RESET credit_sandbox.tolerance_window;
SELECT operator_id, subject_key, list, occurred_at, due_at
  FROM credit_sandbox.warnings WHERE operator_id IN ('GU-5', 'GU-6') ORDER BY operator_id, subject_key;
SELECT operator_id, exit_code, exit_reason FROM credit_sandbox.sandbox_memberships
 WHERE operator_id IN ('GU-5', 'GU-6') ORDER BY operator_id;
SELECT cs_test_cleanup('GU-');
