-- feed.sql -- pgTAP: the durable feed (SPEC.md section 8).  create_subscription,
-- read_feed and ack_feed: an entry per new warning clue or tip (a further hit on an open
-- one adds none; escalation clues are entries too), ascending positions, the same entries
-- again until an ack, ack counts, from_start, an unknown subscription (42704); what a
-- read-only transaction reads; entries of a prepared transaction, readable once
-- COMMIT PREPARED, above every position already returned; a REPEATABLE READ reader whose
-- snapshot misses another reader's seal (40001); a read in a prepared transaction (the
-- others do not wait for it); who may call the functions.
-- Operators 'FD-...'.  The sessions of the prepared and REPEATABLE READ cases (dblink)
-- commit: their rows are deleted before and after.  The rest is one transaction, rolled
-- back.  Other entries of the database may be in the feed: only FD-'s are compared.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(44);
CREATE EXTENSION IF NOT EXISTS dblink;

\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
-- what read_feed returns of FD- operators, without the position
CREATE FUNCTION pg_temp.fd_read(sub text, n int DEFAULT 100)
RETURNS TABLE (warning_id bigint, operator_id text, code text, list text) LANGUAGE sql AS
$$ SELECT f.warning_id, f.operator_id, f.code, f.list FROM credit_sandbox.read_feed(sub, n) f
    WHERE f.operator_id LIKE 'FD-%' ORDER BY f.position $$;

-- =================================================================== sessions that commit
DO $$
BEGIN
    PERFORM dblink_connect('fd_write', pg_temp.session_connstr());
    PERFORM dblink_connect('fd_read', pg_temp.session_connstr());
    PERFORM dblink_connect('fd_rr', pg_temp.session_connstr());
    -- what a failed run may have left: a prepared transaction holding the seal
    PERFORM dblink_exec('fd_write', format('ROLLBACK PREPARED %L', x.gid))
       FROM pg_prepared_xacts x WHERE x.gid LIKE 'fd\_%' AND x.database = current_database();
    PERFORM dblink_exec('fd_write', pg_temp.delete_operator_rows_sql('FD-C%'));
    PERFORM dblink_exec('fd_read', $sql$DELETE FROM credit_sandbox.feed_subscriptions WHERE name LIKE 'fd_c%'$sql$);
    PERFORM * FROM dblink('fd_read', $sql$SELECT credit_sandbox.create_subscription('fd_c')$sql$) AS t(v text);
    -- FD-C1's warning is prepared, not committed
    PERFORM dblink_exec('fd_write', $sql$
        BEGIN;
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C1', '2030-06-01 12:00+08', 'a', 'ivory', 1);
        PREPARE TRANSACTION 'fd_prepared'$sql$);
    -- FD-C2's commits after it
    PERFORM dblink_exec('fd_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C2', '2030-06-01 13:00+08', 'a', 'ivory', 1)$sql$);
END $$;
CREATE TEMP TABLE fd_first AS
SELECT * FROM dblink('fd_read', $sql$SELECT position, operator_id || ' ' || code FROM credit_sandbox.read_feed('fd_c')$sql$)
    AS f(position bigint, entry text);
SELECT is((SELECT array_agg(entry ORDER BY position) FROM fd_first WHERE entry LIKE 'FD-C%'), '{FD-C2 RL01,FD-C2 RL03}',
          'prepared: the entry of the transaction committed after it is read, the prepared one''s is not');
SELECT lives_ok($$SELECT dblink_exec('fd_write', 'COMMIT PREPARED ''fd_prepared''')$$, 'COMMIT PREPARED');
CREATE TEMP TABLE fd_second AS
SELECT * FROM dblink('fd_read', $sql$SELECT position, operator_id || ' ' || code FROM credit_sandbox.read_feed('fd_c')$sql$)
    AS f(position bigint, entry text);
SELECT is((SELECT array_agg(entry ORDER BY position) FROM fd_second WHERE entry LIKE 'FD-C%'),
          '{FD-C2 RL01,FD-C2 RL03,FD-C1 RL01,FD-C1 RL03}', 'prepared: once committed, its entry is read, after the one read before (no ack)');
SELECT cmp_ok((SELECT min(position) FROM fd_second WHERE entry LIKE 'FD-C1 %'), '>', (SELECT max(position) FROM fd_first),
              'prepared: its entry''s position is above every position already returned');
SELECT is((SELECT array_agg(position ORDER BY position) FROM fd_second WHERE entry NOT LIKE 'FD-C1 %'),
          (SELECT array_agg(position ORDER BY position) FROM fd_first),
          'prepared: what was read before is read again, at the same positions');

-- REPEATABLE READ: a reader whose snapshot misses a seal made since gets 40001 rather
-- than sealing above positions it cannot see; without such a seal it reads and seals
DO $$
BEGIN
    PERFORM dblink_exec('fd_rr', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
    PERFORM * FROM dblink('fd_rr', 'SELECT 1') AS t(one int);   -- the snapshot
    PERFORM dblink_exec('fd_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C3', '2030-06-01 14:00+08', 'a', 'ivory', 1)$sql$);
    PERFORM * FROM dblink('fd_read', $sql$SELECT position FROM credit_sandbox.read_feed('fd_c')$sql$) AS f(p bigint);
END $$;
SELECT throws_ok($$SELECT * FROM dblink('fd_rr', 'SELECT position FROM credit_sandbox.read_feed(''fd_c'')') AS f(p bigint)$$,
                 '40001', NULL, 'REPEATABLE READ: a reader whose snapshot misses a later seal gets 40001');
DO $$
BEGIN
    PERFORM dblink_exec('fd_rr', 'ROLLBACK');
    PERFORM dblink_exec('fd_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C4', '2030-06-01 15:00+08', 'a', 'ivory', 1)$sql$);
    PERFORM dblink_exec('fd_rr', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
END $$;
SELECT is((SELECT array_agg(f.operator_id ORDER BY f.position) FROM dblink('fd_rr',
               $sql$SELECT position, operator_id FROM credit_sandbox.read_feed('fd_c') WHERE operator_id LIKE 'FD-C%'
                     AND code = 'RL03'$sql$)
               AS f(position bigint, operator_id text)),
          '{FD-C2,FD-C1,FD-C3,FD-C4}', 'REPEATABLE READ with no seal since its snapshot: reads and seals');
-- a read in a transaction then prepared: it keeps the seal until COMMIT PREPARED; another
-- reader does not wait for it, it reads what has positions; the entries that commit
-- meanwhile get theirs after
DO $$
BEGIN
    PERFORM dblink_exec('fd_rr', 'COMMIT');
    PERFORM dblink_exec('fd_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C5', '2030-06-01 16:00+08', 'a', 'ivory', 1)$sql$);
    PERFORM dblink_exec('fd_rr', 'BEGIN');
    PERFORM * FROM dblink('fd_rr', $sql$SELECT position FROM credit_sandbox.read_feed('fd_c')$sql$) AS f(p bigint);
    PERFORM dblink_exec('fd_rr', $sql$PREPARE TRANSACTION 'fd_prepared_read'$sql$);
    PERFORM dblink_exec('fd_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('FD-C6', '2030-06-01 17:00+08', 'a', 'ivory', 1)$sql$);
    PERFORM dblink_exec('fd_read', $sql$SET lock_timeout = '5s'$sql$);
END $$;
SELECT is((SELECT array_agg(f.operator_id ORDER BY f.position) FROM dblink('fd_read',
               $sql$SELECT position, operator_id FROM credit_sandbox.read_feed('fd_c') WHERE operator_id LIKE 'FD-C%'
                     AND code = 'RL03'$sql$)
               AS f(position bigint, operator_id text)),
          '{FD-C2,FD-C1,FD-C3,FD-C4}',
          'a reader beside a prepared read: no wait, the entries with positions, not those the prepared one sealed');
SELECT lives_ok($$SELECT dblink_exec('fd_write', 'COMMIT PREPARED ''fd_prepared_read''')$$, 'COMMIT PREPARED of the read');
SELECT is((SELECT array_agg(f.operator_id ORDER BY f.position) FROM dblink('fd_read',
               $sql$SELECT position, operator_id FROM credit_sandbox.read_feed('fd_c') WHERE operator_id LIKE 'FD-C%'
                     AND code = 'RL03'$sql$)
               AS f(position bigint, operator_id text)),
          '{FD-C2,FD-C1,FD-C3,FD-C4,FD-C5,FD-C6}', 'then the prepared read''s entries, then the one written meanwhile');
DO $$
BEGIN
    PERFORM dblink_exec('fd_write', pg_temp.delete_operator_rows_sql('FD-C%'));
    PERFORM dblink_exec('fd_read', $sql$DELETE FROM credit_sandbox.feed_subscriptions WHERE name LIKE 'fd_c%'$sql$);
    PERFORM dblink_disconnect('fd_write');
    PERFORM dblink_disconnect('fd_read');
    PERFORM dblink_disconnect('fd_rr');
END $$;

-- =================================================================== the API
-- (the defaults only now: set_driver locks the event tables the sessions above write)
\ir lib/defaults.sql

SELECT lives_ok($$SELECT credit_sandbox.create_subscription('fd_main')$$, 'create_subscription(name)');
SELECT throws_ok($$SELECT credit_sandbox.create_subscription('fd_main', true)$$, '42710',
                 'feed subscription "fd_main" already exists', 'a second subscription of that name: 42710');
SELECT throws_ok($$SELECT * FROM credit_sandbox.read_feed('fd_none')$$, '42704',
                 'feed subscription "fd_none" does not exist', 'read_feed of an unknown subscription: 42704');
SELECT throws_ok($$SELECT credit_sandbox.ack_feed('fd_none', 1)$$, '42704',
                 'feed subscription "fd_none" does not exist', 'ack_feed of an unknown subscription: 42704');
SELECT throws_ok($$SELECT * FROM credit_sandbox.read_feed('fd_main', 0)$$, '22023', NULL,
                 'read_feed: max_entries below 1 is 22023');
SELECT is((SELECT count(*) FROM pg_temp.fd_read('fd_main')), 0::bigint, 'a new subscription: nothing of FD- yet');

-- FD-1: an RL03 warning clue; FD-2 (a member): an RL06 tip, then a second hit on it;
-- FD-3 (unregistered): RL01 and RL03 from one row
CALL pg_temp.add_operator('FD-1');
CALL pg_temp.add_operator('FD-4');
CALL pg_temp.add_operator('FD-6');
CALL pg_temp.add_sale('FD-1', '2030-03-01 04:00+00', item => 'gun', cat => 'firearms');
CALL pg_temp.admit_new_operator('FD-2');
CALL pg_temp.add_sale('FD-2', '2030-03-01 05:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('FD-2', '2030-03-02 05:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('FD-3', '2030-03-01 06:00+00', item => 'tusk', title => 'ivory', cat => 'firearms');

SELECT results_eq(
    $$SELECT f.warning_id, f.operator_id, f.code, f.list, f.subject_key, f.occurred_at, f.due_at, f.raised_at
        FROM credit_sandbox.read_feed('fd_main') f WHERE f.operator_id LIKE 'FD-%' ORDER BY f.position$$,
    $$SELECT w.warning_id, w.operator_id, w.code, w.list, w.subject_key, w.occurred_at, w.due_at, w.raised_at
        FROM credit_sandbox.warnings w WHERE w.operator_id LIKE 'FD-%' ORDER BY w.warning_id$$,
    'read_feed: one entry per new warning or tip, as in warnings, in the order they were written');
SELECT results_eq($$SELECT operator_id, code, list FROM pg_temp.fd_read('fd_main')$$,
                  $$VALUES ('FD-1', 'RL03', 'risk_trigger'), ('FD-2', 'RL06', 'admin_tip'),
                           ('FD-3', 'RL01', 'risk_trigger'), ('FD-3', 'RL03', 'risk_trigger')$$,
                  'the clues and the tip, none for the second hit on the open tip');
SELECT is((SELECT due_at FROM credit_sandbox.read_feed('fd_main') WHERE operator_id = 'FD-2'),
          '2030-03-08 05:00+00'::timestamptz, 'a tip''s entry has its due_at');
CREATE TEMP TABLE fd_read_1 AS SELECT * FROM credit_sandbox.read_feed('fd_main');
SELECT results_eq($$SELECT * FROM credit_sandbox.read_feed('fd_main')$$, $$SELECT * FROM fd_read_1$$,
                  'read again without an ack: the same entries, the same positions');
SELECT is((SELECT bool_and(position > 0) AND count(*) = count(DISTINCT position) FROM fd_read_1), true,
          'positions are positive and distinct');
SELECT is((SELECT array_agg(position) FROM credit_sandbox.read_feed('fd_main')),
          (SELECT array_agg(position ORDER BY position) FROM fd_read_1), 'in ascending order');
SELECT is((SELECT count(*) FROM credit_sandbox.read_feed('fd_main', 2)), 2::bigint, 'max_entries bounds a read');

-- acknowledging
SELECT is(credit_sandbox.ack_feed('fd_main', (SELECT position FROM fd_read_1 WHERE operator_id = 'FD-2')),
          (SELECT count(*) FROM fd_read_1 WHERE position <= (SELECT position FROM fd_read_1 WHERE operator_id = 'FD-2')),
          'ack_feed returns how many entries it acknowledged');
SELECT results_eq($$SELECT operator_id, code FROM pg_temp.fd_read('fd_main')$$,
                  $$VALUES ('FD-3', 'RL01'), ('FD-3', 'RL03')$$, 'after the ack, read_feed returns the rest');
SELECT is(credit_sandbox.ack_feed('fd_main', 1), 0::bigint, 'an ack below the acknowledged position: 0, no way back');
SELECT is(credit_sandbox.ack_feed('fd_main', 9223372036854775807),
          (SELECT count(*) FROM fd_read_1 WHERE position > (SELECT position FROM fd_read_1 WHERE operator_id = 'FD-2')),
          'an ack above every position acknowledges what has a position, no more');
SELECT is((SELECT count(*) FROM credit_sandbox.read_feed('fd_main')), 0::bigint, 'all acknowledged: nothing to read');
SELECT is(credit_sandbox.ack_feed('fd_main', 9223372036854775807), 0::bigint, 'nothing more to acknowledge: 0');
-- an entry written after that big ack is read all the same
CALL pg_temp.add_sale('FD-4', '2030-03-01 07:00+00', item => 'gun', cat => 'firearms');
SELECT results_eq($$SELECT operator_id, code FROM pg_temp.fd_read('fd_main')$$, $$VALUES ('FD-4', 'RL03')$$,
                  'an entry written after an ack of a huge position is still read');

-- from_start
SELECT lives_ok($$SELECT credit_sandbox.create_subscription('fd_all', from_start => true)$$,
                'create_subscription(name, from_start => true)');
SELECT results_eq($$SELECT warning_id FROM pg_temp.fd_read('fd_all')$$,
                  $$SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id LIKE 'FD-%' ORDER BY warning_id$$,
                  'from_start: every entry of the feed, acknowledged by others or not');
SELECT lives_ok($$SELECT credit_sandbox.create_subscription('fd_next')$$, 'a subscription from now on');
SELECT is((SELECT count(*) FROM pg_temp.fd_read('fd_next')), 0::bigint, 'from now on: not the entries before it');

-- escalation: a tip overdue now becomes a warning clue, which is an entry
CALL pg_temp.admit_new_operator('FD-5');
CALL pg_temp.add_sale('FD-5', now() - interval '10 days', item => 'ad', title => '最佳 耳机');
SELECT cmp_ok(credit_sandbox.escalate_overdue(now()), '>=', 1::bigint, 'setup: FD-5''s tip is escalated');
SELECT results_eq($$SELECT warning_id, operator_id, code, list FROM pg_temp.fd_read('fd_next')$$,
                  $$SELECT w.warning_id, w.operator_id, w.code, w.list FROM credit_sandbox.warnings w
                     WHERE w.operator_id = 'FD-5' ORDER BY w.warning_id$$,
                  'escalation: the tip and the clue escalate_overdue wrote for it are entries');
SELECT is((SELECT list FROM pg_temp.fd_read('fd_next') f
            WHERE f.warning_id = (SELECT escalated_to FROM credit_sandbox.warnings WHERE operator_id = 'FD-5'
                                     AND list = 'admin_tip')), 'risk_trigger', 'the escalation clue''s entry');

-- read-only: read_feed seals nothing and returns what already has a position
CALL pg_temp.add_sale('FD-6', '2030-03-01 08:00+00', item => 'gun', cat => 'firearms');
SAVEPOINT read_only;
SET LOCAL transaction_read_only = on;
SELECT is((SELECT array_agg(DISTINCT operator_id) FROM pg_temp.fd_read('fd_next')), '{FD-5}',
          'read-only: the entries that have positions, not the new one');
ROLLBACK TO read_only;
SELECT is((SELECT array_agg(DISTINCT operator_id ORDER BY operator_id) FROM pg_temp.fd_read('fd_next')), '{FD-5,FD-6}',
          'read-write again: the new one too');

-- =================================================================== who may
SELECT isnt_empty($$SELECT * FROM credit_sandbox.create_roles()$$, 'setup: create_roles()');
CREATE ROLE fd_app LOGIN IN ROLE credit_sandbox_app;
CREATE ROLE fd_analyst LOGIN IN ROLE credit_sandbox_analyst;
CREATE ROLE fd_admin LOGIN IN ROLE credit_sandbox_admin;
SET LOCAL ROLE fd_admin;
SELECT is((SELECT count(*) FROM pg_temp.fd_read('fd_next')), 3::bigint, 'the administrator reads the feed');
RESET ROLE;
SELECT is((SELECT array_agg(r ORDER BY r) FROM (VALUES ('fd_app'), ('fd_analyst')) v(r)
            WHERE has_function_privilege(r, 'credit_sandbox.read_feed(text, int)', 'EXECUTE')
               OR has_function_privilege(r, 'credit_sandbox.ack_feed(text, bigint)', 'EXECUTE')
               OR has_function_privilege(r, 'credit_sandbox.create_subscription(text, boolean)', 'EXECUTE')
               OR has_table_privilege(r, 'credit_sandbox.feed_entries', 'SELECT')
               OR has_table_privilege(r, 'credit_sandbox.feed_subscriptions', 'SELECT')),
          NULL, 'the platforms and the analysts may call no feed function and read no feed table');
SET LOCAL ROLE fd_app;
SELECT throws_ok($$SELECT * FROM credit_sandbox.read_feed('fd_next')$$, '42501', NULL,
                 'the platform cannot read the feed');
RESET ROLE;
SET LOCAL ROLE fd_analyst;
SELECT throws_ok($$SELECT * FROM credit_sandbox.feed_entries$$, '42501', NULL,
                 'the analyst cannot read the feed''s table');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
