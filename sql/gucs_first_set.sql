--
-- gucs_first_set: a bad value for a credit_sandbox setting is refused with 22023 even
-- when it is the first thing a new session does (SPEC: bad values are refused).
-- Each pg_regress test runs in a new session; the value is checked because the
-- library is in shared_preload_libraries (as the README advises, and test/cluster.sh does).
--
\set SHOW_CONTEXT never
SET credit_sandbox.time_zone = 'Mars/Olympus';
\echo :LAST_ERROR_SQLSTATE
SET credit_sandbox.tolerance_window = '-1 day';
\echo :LAST_ERROR_SQLSTATE
-- whatever happened above, the legal day is still Shanghai's
SHOW credit_sandbox.time_zone;
