-- kept_plans.sql -- pgTAP: the plans the checks keep for the backend's life are
-- built without sequential scans, even when they are first planned on empty,
-- freshly analysed tables (which would make a sequential scan look cheapest, and
-- keep it while the tables grow), and when the plan cache plans them again (the
-- tables analysed again while still nearly empty, the other driver). Counted with pg_stat_xact_user_tables over a
-- workload that takes every lookup, with both drivers. Operators 'TKP...', 2032.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(4);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- the tables a check looks rows up in by key (and the partitions of transactions)
CREATE TEMP VIEW keyed_tables AS
    SELECT c.oid AS relid, c.relname FROM pg_class c
     WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r'
       AND (c.relname IN ('returns', 'complaints', 'warnings', 'warning_hits', 'sandbox_memberships',
                          'operators', 'operator_lists', 'operator_grades')
            OR c.relname ~ '^transactions(_p\d+)?$');
CREATE TEMP TABLE scans_before AS
    SELECT k.relid, s.seq_scan FROM keyed_tables k JOIN pg_stat_xact_user_tables s USING (relid);

-- empty tables with statistics that say so: what a planner sees on a fresh install
ANALYZE credit_sandbox.transactions, credit_sandbox.returns, credit_sandbox.complaints, credit_sandbox.warnings,
        credit_sandbox.warning_hits, credit_sandbox.sandbox_memberships, credit_sandbox.operators,
        credit_sandbox.operator_lists, credit_sandbox.operator_grades;

-- hits on open warnings (RL01: no licence), RL04 windows, RL05 prices, refused
-- returns (RL07), complaints (RL08), a sandbox member's tip then its exit
CREATE PROCEDURE pg_temp.workload(op text) LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.add_operator(op, licence => '2000-01-01');
    CALL pg_temp.add_operator(op || '-m');
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES (op || '-m', 'test');
    CALL pg_temp.add_sale_series(op, '2032-01-01 10:00+08', 9, '1 minute', ship => 'addr');
    CALL pg_temp.add_sale(op, '2032-01-01 09:00+08', item => 'p', price => 50);
    CALL pg_temp.add_sale(op, '2032-01-02 09:00+08', item => 'p', price => 60, lp => 55);
    CALL pg_temp.add_sale(op || '-m', '2032-01-01 10:00+08', title => '最佳 pick');
    CALL pg_temp.add_sale(op || '-m', '2032-01-01 11:00+08', title => '最佳 pick');
    CALL pg_temp.add_return(op, '2032-01-01 00:00+08', '2032-01-03 00:00+08');
    CALL pg_temp.add_return(op, '2032-01-01 00:00+08', '2032-01-04 00:00+08');
    CALL pg_temp.add_complaints(op, '2032-01-05 00:00+08', 6, '1 hour');
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
    SELECT op, '2032-01-06 00:00+08'::timestamptz + g * interval '1 minute', 'addr2', 'q', 1
      FROM generate_series(1, 12) g;
END $$;

CALL pg_temp.workload('TKP-statement');
DO $$ BEGIN PERFORM credit_sandbox.set_driver('row'); END $$;
CALL pg_temp.workload('TKP-row');
-- every kept plan is stale: the plan cache plans them again on next use
ANALYZE credit_sandbox.transactions, credit_sandbox.returns, credit_sandbox.complaints, credit_sandbox.warnings,
        credit_sandbox.warning_hits, credit_sandbox.sandbox_memberships, credit_sandbox.operators,
        credit_sandbox.operator_lists, credit_sandbox.operator_grades;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;
CALL pg_temp.workload('TKP-replanned');
-- counted before this file's own reads
CREATE TEMP TABLE scans_after AS
    SELECT k.relid, s.seq_scan, s.idx_scan FROM keyed_tables k JOIN pg_stat_xact_user_tables s USING (relid);

SELECT set_eq($$SELECT DISTINCT code FROM credit_sandbox.warnings WHERE operator_id LIKE 'TKP-%'$$,
              ARRAY['RL01', 'RL04', 'RL05', 'RL06', 'RL07', 'RL08'],
              'the workload took the lookups of every red line that reads history');
SELECT cmp_ok((SELECT sum(hits)::bigint FROM credit_sandbox.warnings WHERE operator_id LIKE 'TKP-%' AND code = 'RL01'),
              '>', 20::bigint, 'and found open warnings again and again');
SELECT is(count(*), 0::bigint, 'no sequential scan of a table the checks look rows up in by key')
  FROM scans_after a JOIN scans_before b USING (relid)
 WHERE a.seq_scan > b.seq_scan;
SELECT cmp_ok(idx_scan, '>', 20::bigint, 'the lookups of warnings went through its indexes')
  FROM scans_after WHERE relid = 'credit_sandbox.warnings'::regclass;

SELECT * FROM finish();
ROLLBACK;
