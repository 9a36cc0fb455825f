-- privileges.sql -- pgTAP: the three kinds of user (README, "Privileges") made by
-- create_roles(): the application inserts and reads nothing back, yet its rows are
-- checked and warned about, and it cannot make the checks skip; the analyst reads the
-- views and no table; the administrator edits rules, lists, grading and inspectors and
-- runs the lifecycle, grading and draws, which record the caller, but writes nothing
-- derived.  Warnings are append-only for every role.  Every SECURITY DEFINER function
-- pins its search_path.
-- Each user is a login member of its group role; a login is played by SET SESSION
-- AUTHORIZATION (session_user is what "who did it" records).  Roles are cluster-wide:
-- they are created inside this transaction and vanish with its rollback, so the file
-- leaves nothing behind and runs in any number of databases.  Operators 'PV-...', data
-- in 2030 (PV-T's tip: 2025, overdue now).
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(99);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers
-- Whether a role may run a statement: false when it is refused with 42501; true when it
-- gets past the privilege checks (whatever happens next).  Its effects are undone.
CREATE FUNCTION pg_temp.allowed(sql text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RAISE SQLSTATE 'PVOK0';
EXCEPTION
    WHEN insufficient_privilege THEN
        RETURN false;
    WHEN OTHERS THEN
        RETURN true;
END $$;
-- The relations of the extension of some kinds (relkind letters) on which the current
-- role may run a statement: %1$s the relation, %2$I its first column.  Writes are
-- probed on tables only: a view refuses them before privileges are looked at.
CREATE FUNCTION pg_temp.allowed_on(template text, kinds text DEFAULT 'rp') RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}')
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
     WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND strpos(kinds, c.relkind::text) > 0
       AND pg_temp.allowed(format(template, c.oid::regclass, a.attname)) $$;
CREATE FUNCTION pg_temp.readable() RETURNS text[] LANGUAGE sql AS
$$ SELECT pg_temp.allowed_on('SELECT * FROM %s LIMIT 0', 'rpvm') $$;
CREATE FUNCTION pg_temp.relations(kinds text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') FROM pg_class c
     WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND strpos(kinds, c.relkind::text) > 0 $$;
-- the functions of the extension the current role may execute
CREATE FUNCTION pg_temp.executable() RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
     WHERE p.pronamespace = 'credit_sandbox'::regnamespace AND has_function_privilege(p.oid, 'EXECUTE') $$;
-- the credit_sandbox.* settings and session_replication_role the current role may set
CREATE FUNCTION pg_temp.settable() RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(s.name ORDER BY s.name), '{}') FROM pg_settings s
     WHERE (s.name LIKE 'credit\_sandbox.%' OR s.name = 'session_replication_role')
       AND pg_temp.allowed(format('SET LOCAL %s = %L', s.name, s.setting)) $$;

-- =================================================================== roles
SELECT isnt_empty($$SELECT * FROM credit_sandbox.create_roles()$$, 'create_roles() runs and returns what it ran');
SELECT is((SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles
            WHERE rolname IN ('credit_sandbox_app', 'credit_sandbox_analyst', 'credit_sandbox_admin')
              AND NOT rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolbypassrls),
          '{credit_sandbox_admin,credit_sandbox_analyst,credit_sandbox_app}',
          'create_roles: three NOLOGIN group roles without special attributes');
SELECT is((SELECT count(*) FROM credit_sandbox.create_roles() s WHERE s LIKE 'CREATE ROLE%'), 0::bigint,
          'create_roles again: creates nothing, grants the same (idempotent)');
CREATE ROLE pv_app LOGIN IN ROLE credit_sandbox_app;
CREATE ROLE pv_analyst LOGIN IN ROLE credit_sandbox_analyst;
CREATE ROLE pv_admin LOGIN IN ROLE credit_sandbox_admin;
CREATE ROLE pv_other LOGIN;

-- =================================================================== catalogue
SELECT is((SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY p.proname), '{}') FROM pg_proc p
            JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
            JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'credit_sandbox'
           WHERE p.prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)),
          '{}', 'every SECURITY DEFINER function of the extension pins search_path = pg_catalog, pg_temp');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'credit_sandbox'::regnamespace AND p.prosecdef),
          '{ack_feed,acknowledge,admit,close_warning,create_subscription,draw_inspections,escalate_overdue,'
          'feed_record,grade,grade_ungraded,in_sandbox,owner_rows,read_feed,record_correction,record_removed_rows,regrade,'
          'renew_sandbox,rules_record_version,sandbox_members_at,set_driver,verify_draw}',
          'these functions, and only these, run as the extension''s owner');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'credit_sandbox'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE')),
          '{driver,in_sandbox,legal_day}', 'PUBLIC may execute only driver, in_sandbox and legal_day');
SELECT is((SELECT coalesce(array_agg(DISTINCT c.relname::text), '{}') FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND a.grantee = 0),
          '{}', 'PUBLIC has no privilege on any table, view or sequence');
SELECT is((SELECT coalesce(array_agg(DISTINCT c.relname::text || ' ' || a.privilege_type), '{}')
             FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid IN ('credit_sandbox.warnings'::regclass, 'credit_sandbox.warning_hits'::regclass)
              AND a.grantee <> c.relowner AND a.privilege_type <> 'SELECT'),
          '{}', 'warnings and warning_hits: nobody but their owner may write them (append-only through the functions)');

-- =================================================================== fixtures
CALL pg_temp.add_operator('PV-A');
CALL pg_temp.add_operator('PV-M');
CALL pg_temp.add_operator('PV-T');
CALL pg_temp.add_operator('PV-C');
DO $$ BEGIN PERFORM credit_sandbox.admit('PV-M'), credit_sandbox.admit('PV-T'); END $$;
-- what the application may do with the evil operator below: a schema of its own
CREATE SCHEMA pv_evil AUTHORIZATION pv_app;
CREATE FUNCTION pg_temp.insert_with_evil_path(op text) RETURNS void LANGUAGE sql
    SET search_path = pv_evil, pg_catalog AS $$
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
    VALUES (op, '2030-06-01 12:00+00', 'i', 1) $$;

-- =================================================================== the application
SET SESSION AUTHORIZATION pv_app;
SELECT lives_ok($$CALL pg_temp.add_sale('PV-U', '2030-06-01 10:00+00')$$,
                'app: inserts a sale by an operator nobody registered (RL01)');
SELECT lives_ok($$CALL pg_temp.add_sale('PV-M', '2030-06-01 10:00+00', item => 'g', title => 'replica gun')$$,
                'app: inserts a sale of prohibited goods by a sandbox member (RL03)');
SELECT lives_ok($$CALL pg_temp.add_sale('PV-T', '2025-06-01 10:00+00', item => 'ad', title => '最佳 耳机')$$,
                'app: inserts a misleading advertisement by a sandbox member (RL06, tolerated)');
SELECT results_eq($$INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                     VALUES ('PV-A', '2030-06-01 10:00+00', 'i', 1) RETURNING txn_id > 0$$,
                  $$VALUES (true)$$, 'app: INSERT ... RETURNING the generated key');
SELECT lives_ok($$CALL pg_temp.add_return('PV-A', '2030-06-01 10:00+00', '2030-06-02 10:00+00')$$,
                'app: inserts a refused return (RL07)');
SELECT lives_ok($$CALL pg_temp.add_complaints('PV-A', '2030-06-01 10:00+00')$$, 'app: inserts a complaint');
SELECT lives_ok($$INSERT INTO credit_sandbox.operators (operator_id, name, region) VALUES ('PV-B', 'shop B', 'North')$$,
                'app: registers an operator (id, name, region)');
SELECT lives_ok($$INSERT INTO credit_sandbox.operators (operator_id) VALUES ('PV-B') ON CONFLICT DO NOTHING$$,
                'app: sends an operator again (ON CONFLICT DO NOTHING)');
SELECT throws_ok($$INSERT INTO credit_sandbox.operators (operator_id, registered_on) VALUES ('PV-B2', '2000-01-01')$$,
                 '42501', NULL, 'app: cannot set an operator''s registration date (the regulator''s)');
SELECT throws_ok($$INSERT INTO credit_sandbox.operators (operator_id, licence_valid_until) VALUES ('PV-B2', '2099-01-01')$$,
                 '42501', NULL, 'app: cannot set an operator''s licence');
SELECT throws_ok($$INSERT INTO credit_sandbox.operators (operator_id, permits) VALUES ('PV-B2', '{drug_trading}')$$,
                 '42501', NULL, 'app: cannot give an operator a permit');
SELECT throws_ok($$INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('PV-A', 'dishonest', '2030-01-01')$$,
                 '42501', NULL, 'app: cannot put an operator on a list (a competitor on the dishonest list)');
SELECT throws_ok($$INSERT INTO credit_sandbox.transactions (txn_id, operator_id, occurred_at, item_id, unit_price)
                   VALUES (9000000000, 'PV-A', '2030-06-01 10:00+00', 'i', 1)$$,
                 '42501', NULL, 'app: cannot choose a sale''s generated key');
SELECT throws_ok($$INSERT INTO credit_sandbox.transactions (txn_id, operator_id, occurred_at, item_id, unit_price)
                   VALUES (9000000000, 'PV-A', '2030-06-01 10:00+00', 'i', 1) ON CONFLICT DO NOTHING$$,
                 '42501', NULL, 'app: cannot take a key the sequence will hand out (ON CONFLICT DO NOTHING)');
SELECT throws_ok($$INSERT INTO credit_sandbox.returns (return_id, operator_id, requested_at) VALUES (9000000000, 'PV-A', now())$$,
                 '42501', NULL, 'app: cannot choose a return''s generated key');
SELECT throws_ok($$INSERT INTO credit_sandbox.complaints (complaint_id, operator_id, received_at) VALUES (9000000000, 'PV-A', now())$$,
                 '42501', NULL, 'app: cannot choose a complaint''s generated key');
SELECT throws_ok($$SELECT txn_id FROM credit_sandbox.transactions$$, '42501', 'permission denied for table transactions',
                 'app: cannot list the sales'' keys (the column grant serves RETURNING only)');
SELECT throws_ok($$SELECT max(complaint_id) FROM credit_sandbox.complaints$$, '42501', 'permission denied for table complaints',
                 'app: cannot read the complaints'' keys');
SELECT throws_ok($$INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                   SELECT 'PV-A', '2030-06-01 10:00+00', txn_id::text, 1 FROM credit_sandbox.transactions$$,
                 '42501', 'permission denied for table transactions', 'app: cannot read the keys through an INSERT ... SELECT');
SELECT throws_ok($$WITH n AS (INSERT INTO credit_sandbox.returns (operator_id, requested_at) VALUES ('PV-A', '2030-06-03 10:00+00')
                            RETURNING return_id)
                   SELECT (SELECT max(r.return_id) FROM credit_sandbox.returns r) FROM n$$,
                 '42501', 'permission denied for table returns', 'app: cannot read other keys beside its RETURNING');

SELECT throws_ok($$SELECT * FROM credit_sandbox.warnings$$, '42501', 'permission denied for table warnings',
                 'app: cannot read warnings');
SELECT throws_ok($$UPDATE credit_sandbox.warnings SET status = 'closed'$$, '42501', 'permission denied for table warnings',
                 'app: cannot change warnings');
SELECT throws_ok($$DELETE FROM credit_sandbox.warnings$$, '42501', 'permission denied for table warnings',
                 'app: cannot delete warnings');
SELECT throws_ok($$SELECT * FROM credit_sandbox.rules$$, '42501', 'permission denied for table rules',
                 'app: cannot read rules');
SELECT throws_ok($$UPDATE credit_sandbox.rules SET enabled = false$$, '42501', 'permission denied for table rules',
                 'app: cannot disable a rule');
SELECT throws_ok($$DELETE FROM credit_sandbox.prohibited_terms$$, '42501', 'permission denied for table prohibited_terms',
                 'app: cannot empty a reference list');
SELECT throws_ok($$SELECT * FROM credit_sandbox.operator_lists$$, '42501', 'permission denied for table operator_lists',
                 'app: cannot read the operator lists');
SELECT is(pg_temp.readable(), '{}', 'app: reads no relation');
SELECT is(pg_temp.allowed_on('INSERT INTO %s DEFAULT VALUES'), '{complaints,operators,returns,transactions}',
          'app: inserts into the four data tables only (not the lists, not into a partition directly)');
SELECT is(pg_temp.allowed_on('UPDATE %s SET %I = DEFAULT WHERE false'), '{}', 'app: updates nothing');
SELECT is(pg_temp.allowed_on('DELETE FROM %s WHERE false'), '{}', 'app: deletes nothing');
SELECT is(pg_temp.allowed_on('TRUNCATE %s'), '{}', 'app: truncates nothing');
-- no way to make the checks skip
SELECT throws_ok($$ALTER TABLE credit_sandbox.transactions DISABLE TRIGGER check_rows$$, '42501',
                 'must be owner of table transactions', 'app: cannot disable the checks'' trigger');
SELECT throws_ok($$DROP TRIGGER check_rows ON credit_sandbox.transactions$$, '42501',
                 'must be owner of relation transactions', 'app: cannot drop it');
SELECT throws_ok($$CREATE TRIGGER pv BEFORE INSERT ON credit_sandbox.transactions
                   FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$, '42501',
                 'permission denied for table transactions', 'app: cannot add a trigger that drops rows');
SELECT throws_ok($$SET session_replication_role = replica$$, '42501',
                 'permission denied to set parameter "session_replication_role"',
                 'app: cannot SET session_replication_role = replica');
SELECT throws_ok($$SET credit_sandbox.time_zone = 'UTC'$$, '42501',
                 'permission denied to set parameter "credit_sandbox.time_zone"',
                 'app: cannot move its rows to another legal day');
SELECT is(pg_temp.settable(), '{}', 'app: sets none of the credit_sandbox.* settings');
SELECT throws_ok($$SELECT credit_sandbox.set_driver('row')$$, '42501', 'permission denied for function set_driver',
                 'app: cannot switch the driver');
SELECT throws_ok($$SET ROLE credit_sandbox_admin$$, '42501', 'permission denied to set role "credit_sandbox_admin"',
                 'app: cannot become the administrator');
SELECT is(pg_temp.executable(), '{driver,in_sandbox,legal_day}', 'app: executes only driver, in_sandbox, legal_day');
-- its search_path does not reach the checks: an "=" on text that fails, found first
CREATE FUNCTION pv_evil.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE OPERATOR pv_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pv_evil.text_eq);
SELECT lives_ok($$SELECT pg_temp.insert_with_evil_path('PV-E')$$,
                'app: its own "=" first in search_path does not reach the checks (statement driver)');
RESET SESSION AUTHORIZATION;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('row'); END $$;
SET SESSION AUTHORIZATION pv_app;
SELECT lives_ok($$CALL pg_temp.add_sale('PV-R', '2030-06-01 10:00+00')$$, 'app: inserts a sale under the row driver');
SELECT lives_ok($$SELECT pg_temp.insert_with_evil_path('PV-F')$$, '... and with its "=" first (row driver)');
RESET SESSION AUTHORIZATION;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;

-- what the application's rows did, although it has no right on any of it
SELECT is(format('%s|%s|%s', (pg_temp.latest_warning('PV-U')).code, (pg_temp.latest_warning('PV-U')).list,
                 (SELECT count(*) FROM credit_sandbox.warning_hits h WHERE h.warning_id = (pg_temp.latest_warning('PV-U')).warning_id)),
          'RL01|risk_trigger|1', 'app''s sale: RL01 warning clue and its hit written');
SELECT is((SELECT array_agg(operator_id || ' ' || code ORDER BY operator_id) FROM credit_sandbox.warnings
            WHERE operator_id IN ('PV-R', 'PV-E', 'PV-F', 'PV-A')),
          '{"PV-A RL07","PV-E RL01","PV-F RL01","PV-R RL01"}',
          'app''s other rows: RL07 from its return, RL01 under either driver and either search_path');
SELECT is((SELECT format('%s|%s', exit_code IS NULL, exit_reason) FROM credit_sandbox.sandbox_memberships
            WHERE operator_id = 'PV-M' ORDER BY membership_id DESC LIMIT 1),
          'f|RL03: prohibited goods', 'app''s sale: the member left the sandbox with the reason');
SELECT is((SELECT format('%s|%s', class, cause) FROM credit_sandbox.operator_grades
            WHERE operator_id = 'PV-M' ORDER BY grade_id DESC LIMIT 1),
          'B|warning clue RL03', 'app''s sale: the class cap of the clue recorded');
SELECT is(format('%s|%s', (pg_temp.latest_warning('PV-T')).list, (pg_temp.latest_warning('PV-T')).due_at),
          'admin_tip|2025-06-08 10:00:00+00', 'app''s sale: a tolerated hit is a tip with its due date');

-- =================================================================== the analyst
SET SESSION AUTHORIZATION pv_analyst;
SELECT is(pg_temp.readable(), (SELECT array_agg(r ORDER BY r) FROM unnest(pg_temp.relations('vm') || '{warning_status_history}') r),
          'analyst: reads every view, and the audit trail');
SELECT is((SELECT format('%s|%s|%s', code, rule_title, registered) FROM credit_sandbox.open_warnings
            WHERE operator_id = 'PV-U'),
          'RL01|licence / permit|f', 'analyst: open_warnings shows the app''s warning with its rule');
SELECT is((SELECT format('%s|%s', class, in_sandbox) FROM credit_sandbox.operator_risk WHERE operator_id = 'PV-M'),
          'B|f', 'analyst: operator_risk');
SELECT ok((SELECT warning_clues >= 5 AND admin_tips >= 1 FROM credit_sandbox.summary), 'analyst: summary');
SELECT throws_ok($$SELECT * FROM credit_sandbox.warnings$$, '42501', 'permission denied for table warnings',
                 'analyst: cannot read the warnings table');
SELECT throws_ok($$INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                   VALUES ('PV-X', '2030-06-01', 'i', 1)$$, '42501', 'permission denied for table transactions',
                 'analyst: cannot insert');
SELECT throws_ok($$SELECT credit_sandbox.acknowledge(1)$$, '42501', 'permission denied for function acknowledge',
                 'analyst: cannot acknowledge a warning');
SELECT is(pg_temp.allowed_on('INSERT INTO %s DEFAULT VALUES') || pg_temp.allowed_on('UPDATE %s SET %I = DEFAULT WHERE false')
          || pg_temp.allowed_on('DELETE FROM %s WHERE false') || pg_temp.allowed_on('TRUNCATE %s'),
          '{}', 'analyst: writes nothing');
SELECT is(pg_temp.executable(), '{driver,in_sandbox,legal_day,owner_rows,sandbox_members_at,verify_draw}',
          'analyst: executes the readers only');
SELECT throws_ok($$SELECT * FROM credit_sandbox.owner_rows(NULL::credit_sandbox.transactions)$$, '42501', NULL,
                 'analyst: owner_rows gives no table''s rows, only those of the views'' queries on Citus');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_members_at(clock_timestamp()) WHERE operator_id = 'PV-T'), 1::bigint,
          'analyst: sandbox_members_at');
SELECT throws_ok($$SELECT credit_sandbox.verify_draw(-1)$$, 'P0002', 'draw -1 does not exist',
                 'analyst: verify_draw reads the draws');
RESET SESSION AUTHORIZATION;

-- =================================================================== the administrator
SET SESSION AUTHORIZATION pv_admin;
SELECT is(pg_temp.readable(), pg_temp.relations('rpvm'), 'admin: reads everything');
SELECT is(pg_temp.allowed_on('INSERT INTO %s DEFAULT VALUES'),
          '{absolute_terms,inspector_conflicts,inspectors,operator_lists,operator_logins,operators,prohibited_categories,'
          'prohibited_terms,reference_prices,regulated_categories,return_exempt_categories}',
          'admin: inserts into operators, lists, reference prices, inspectors and operator_logins only');
SELECT is(pg_temp.allowed_on('UPDATE %s SET %I = DEFAULT WHERE false'),
          '{absolute_terms,grade_boundaries,grading_weights,inspector_conflicts,inspectors,operator_lists,operator_logins,operators,'
          'prohibited_categories,prohibited_terms,reference_prices,regulated_categories,return_exempt_categories,rules}',
          'admin: updates those, rules and grading');
SELECT is(pg_temp.allowed_on('DELETE FROM %s WHERE false'),
          '{absolute_terms,inspector_conflicts,inspectors,operator_lists,operator_logins,operators,prohibited_categories,'
          'prohibited_terms,reference_prices,regulated_categories,return_exempt_categories}',
          'admin: deletes from operators, lists, reference prices, inspectors and operator_logins only');
SELECT is(pg_temp.allowed_on('TRUNCATE %s'), '{}', 'admin: truncates nothing');
SELECT throws_ok($$UPDATE credit_sandbox.warnings SET status = 'closed'$$, '42501', 'permission denied for table warnings',
                 'admin: cannot change a warning but through the lifecycle');
SELECT throws_ok($$DELETE FROM credit_sandbox.warnings$$, '42501', 'permission denied for table warnings',
                 'admin: cannot delete warnings');
SELECT throws_ok($$SELECT credit_sandbox.change_warning_status((pg_temp.latest_warning('PV-U')).warning_id, '{open}', 'closed', NULL)$$,
                 '42501', 'permission denied for function change_warning_status',
                 'admin: cannot choose its own status change');
SELECT throws_ok($$SELECT credit_sandbox.create_roles()$$, '42501', 'permission denied for function create_roles',
                 'admin: cannot create roles');
SELECT is(pg_temp.settable(), '{}', 'admin: sets none of the credit_sandbox.* settings');
SELECT lives_ok($$UPDATE credit_sandbox.rules SET params = '{"window": "12 hours", "threshold": 5}' WHERE code = 'RL04'$$,
                'admin: edits a rule');
SELECT lives_ok($$INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('pv-banned'), ('ivory')$$,
                'admin: adds to a reference list (a term already there replaces it)');
SELECT lives_ok($$UPDATE credit_sandbox.grading_weights SET weight = 20 WHERE indicator = 'warning_clues'$$,
                'admin: edits a grading weight');
SELECT lives_ok($$INSERT INTO credit_sandbox.inspectors (inspector_id) VALUES ('PV-I1'), ('PV-I2')$$,
                'admin: adds inspectors');
SELECT is(credit_sandbox.admit('PV-C'), true, 'admin: admits an operator');
SELECT lives_ok($$SELECT credit_sandbox.acknowledge((pg_temp.latest_warning('PV-U')).warning_id, 'seen')$$, 'admin: acknowledges');
SELECT lives_ok($$SELECT credit_sandbox.record_correction((pg_temp.latest_warning('PV-R')).warning_id, 'fixed')$$,
                'admin: records a correction');
SELECT lives_ok($$SELECT credit_sandbox.close_warning((pg_temp.latest_warning('PV-E')).warning_id, 'done')$$, 'admin: closes');
SELECT is(credit_sandbox.escalate_overdue(), 1::bigint, 'admin: escalates the overdue tip (of 2025)');
SELECT ok(credit_sandbox.draw_inspections('pv seed') > 0, 'admin: draws inspections');
SELECT is(credit_sandbox.set_driver('row') || credit_sandbox.set_driver('statement'), 'rowstatement',
          'admin: switches the driver');
SELECT ok(credit_sandbox.grade('PV-B') IS NOT NULL AND credit_sandbox.regrade() > 0, 'admin: grades');
SELECT lives_ok($$SELECT count(*) FROM credit_sandbox.replay(rules => '{"RL04": {"threshold": 3}}')$$,
                'admin: replays a proposed rule change');
SELECT lives_ok($$SELECT count(*) FROM credit_sandbox.check_consistency()$$, 'admin: checks consistency');
RESET SESSION AUTHORIZATION;

-- the caller is recorded, not the functions' owner
SELECT is((SELECT array_agg(format('%s %s %s', operator_id, status, status_changed_by) ORDER BY operator_id)
             FROM credit_sandbox.warnings WHERE operator_id IN ('PV-U', 'PV-R', 'PV-E', 'PV-T') AND status <> 'open'),
          '{"PV-E closed pv_admin","PV-R corrected pv_admin","PV-T escalated pv_admin","PV-U acknowledged pv_admin"}',
          'lifecycle and escalation record the administrator who called them');
SELECT is((SELECT format('%s|%s', admitted_by, admit_reason LIKE 'admitted by pv_admin:%') FROM credit_sandbox.sandbox_memberships
            WHERE operator_id = 'PV-C' AND exited_at IS NULL),
          'pv_admin|t', 'admit records the administrator');
SELECT is((SELECT format('%s|%s', h.changed_by, h.params ->> 'threshold') FROM credit_sandbox.rule_history h
            WHERE h.code = 'RL04' ORDER BY h.version DESC LIMIT 1),
          'pv_admin|5', 'the rule''s new version, recorded in its history by the administrator');
SELECT is((SELECT drawn_by::text FROM credit_sandbox.inspection_draws WHERE seed = 'pv seed'), 'pv_admin',
          'the draw records the administrator');

-- =================================================================== anyone else
SET SESSION AUTHORIZATION pv_other;
SELECT throws_ok($$SELECT credit_sandbox.create_roles()$$, '42501', 'permission denied for function create_roles',
                 'a login outside the roles cannot create them');
SELECT throws_ok($$INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                   VALUES ('PV-X', '2030-06-01', 'i', 1)$$, '42501', 'permission denied for table transactions',
                 'a login outside the roles cannot insert');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
