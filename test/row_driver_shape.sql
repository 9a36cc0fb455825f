-- row_driver_shape.sql -- pgTAP: every statement the row driver runs on a table
-- that a sharded deployment distributes by operator_id names one operator
-- (operator_id = $n, or an INSERT of one row with its operator_id, after the
-- generated id a Citus shard needs named): the shape
-- a Citus shard can run (README, "Partitioning and scaling out").  Read from
-- pg_stat_statements, which the test suite preloads.  Operators 'TRS...', 2030.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(4);

\ir lib/defaults.sql
\ir lib/helpers.sql

SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AS preloaded \gset
\if :preloaded
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SET LOCAL pg_stat_statements.track = 'all';

-- statements the triggers ran since the last reset (not the workload's own
-- inserts) that touch a distributed table without naming one operator
CREATE FUNCTION pg_temp.unkeyed() RETURNS TABLE (query text) LANGUAGE sql AS $$
    SELECT s.query FROM pg_stat_statements s
     WHERE NOT s.toplevel
       AND s.query !~ '^\s*INSERT INTO credit_sandbox\.(transactions|returns|complaints) '
       AND s.query ~ 'credit_sandbox\.(operators|operator_lists|transactions|returns|complaints|warnings|warning_hits|sandbox_memberships|operator_grades)\M'
       AND (s.query ~ 'unnest\('
            OR NOT (s.query ~ 'operator_id = \$\d'
                    OR s.query ~ '^INSERT INTO credit_sandbox\.\w+ \((warning_id, )?operator_id,[^)]*\)( OVERRIDING SYSTEM VALUE)? VALUES \((pg_catalog\.nextval\([^)]*\), )?\$'))
$$;
CREATE FUNCTION pg_temp.nested() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_stat_statements s WHERE NOT s.toplevel AND s.query ~ 'credit_sandbox\.'
$$;

-- a workload that takes every path: an unknown operator, a sandbox member's
-- tolerated first slip then its exit, repeat hits on open warnings, RL04 over
-- a history, returns, complaints, a multi-row statement over two operators
CREATE PROCEDURE pg_temp.workload() LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.add_sale('TRS-unknown', '2030-01-01 10:00+08');
    CALL pg_temp.add_sale('TRS-unknown', '2030-01-01 11:00+08');
    CALL pg_temp.add_sale('TRS-m', '2030-01-01 10:00+08', title => '最佳 pick');
    CALL pg_temp.add_sale('TRS-m', '2030-01-01 10:30+08', title => '最佳 pick');
    CALL pg_temp.add_sale_series('TRS-m', '2030-01-02 10:00+08', 9, '1 minute', ship => 'addr');
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
    VALUES ('TRS-unknown', '2030-01-04 10:00+08', 'i', 1), ('TRS-m', '2030-01-04 10:00+08', 'i', 1);
    CALL pg_temp.add_return('TRS-m', '2030-01-01 00:00+08', '2030-01-03 00:00+08');
    CALL pg_temp.add_complaints('TRS-m', '2030-01-05 00:00+08', 6, '1 hour');
END $$;

CALL pg_temp.add_operator('TRS-m');
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES ('TRS-m', 'test');

-- the statement driver reads lists of keys: the check below can see them
SAVEPOINT statement_driver;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;
SELECT pg_stat_statements_reset() IS NULL AS reset \gset
CALL pg_temp.workload();
SELECT count(*) AS statement_unkeyed FROM pg_temp.unkeyed() \gset
ROLLBACK TO SAVEPOINT statement_driver;
SELECT ok(:statement_unkeyed > 0, 'statement driver: some statements read lists of keys (the check sees them)');

DO $$ BEGIN PERFORM credit_sandbox.set_driver('row'); END $$;
SELECT pg_stat_statements_reset() IS NULL AS reset \gset
CALL pg_temp.workload();
SELECT cmp_ok(pg_temp.nested(), '>=', 10::bigint, 'row driver: its statements are seen');
SELECT is_empty('SELECT * FROM pg_temp.unkeyed()',
                'row driver: every statement on a distributed table names one operator');
SELECT set_eq($$SELECT code FROM credit_sandbox.warnings WHERE operator_id LIKE 'TRS-%'$$,
              ARRAY['RL01', 'RL04', 'RL06', 'RL07', 'RL08'],
              'row driver: the workload raised its warnings (a tolerated RL06 tip, then a clue)');
\else
SELECT skip('pg_stat_statements is not in shared_preload_libraries', 4);
\endif

SELECT * FROM finish();
ROLLBACK;
