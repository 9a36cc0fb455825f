-- distribute.sql -- pgTAP: credit_sandbox.distribute() on one node (SPEC.md section 7):
-- without Citus it fails with 0A000 and changes nothing; only its owner may run it; on one
-- node the triggers write the tables themselves (placed_table, logical_table).  Its work on
-- a Citus cluster is test/citus/run.sh's.  Logins played by SET SESSION AUTHORIZATION,
-- roles made in this transaction and rolled back with it.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);

\ir lib/helpers.sql

SELECT is(pg_temp.error_fields('SELECT credit_sandbox.distribute()'),
          ARRAY['0A000', 'credit_sandbox.distribute() needs Citus',
                'The citus extension is not installed in this database.',
                'On one node the tables need no distribution; on Citus, CREATE EXTENSION citus and add the workers first.'],
          'distribute() without Citus: 0A000, with what to do');
SELECT is((SELECT pg_catalog.pg_get_constraintdef(k.oid) FROM pg_constraint k
            WHERE k.conrelid = 'credit_sandbox.warnings'::regclass AND k.contype = 'p'),
          'PRIMARY KEY (warning_id)', '... and leaves the keys as they were');
SELECT is((SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = 'credit_sandbox.transactions'::regclass
            AND t.tgname = 'check_rows' AND t.tgenabled = 'O'), 1::bigint,
          '... and the checks enabled');

SELECT lives_ok($$SELECT credit_sandbox.create_roles()$$, 'create_roles()');
CREATE ROLE dist_admin LOGIN IN ROLE credit_sandbox_admin;
SET SESSION AUTHORIZATION dist_admin;
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.distribute()'))[1], '42501',
          'a login of the regulator''s role may not distribute (42501)');
RESET SESSION AUTHORIZATION;

SELECT is(credit_sandbox.placed_table('credit_sandbox.transactions', 'warnings'), 'credit_sandbox.warnings'::regclass,
          'one node: the warnings beside the transactions are the table itself');
SELECT is(credit_sandbox.placed_table('credit_sandbox.rules', 'rule_history'), 'credit_sandbox.rule_history'::regclass,
          'one node: so is the rule history beside the rules');
SELECT is(credit_sandbox.logical_table('credit_sandbox.rules'), 'credit_sandbox.rules'::regclass,
          'one node: a table is its own logical table');

SELECT * FROM finish();
ROLLBACK;
