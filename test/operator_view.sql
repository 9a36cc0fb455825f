-- operator_view.sql -- pgTAP: the operators' own view (SPEC.md section 8, README
-- "Operators' own view").  A login of credit_sandbox_operator, mapped by the regulator in
-- operator_logins, reads its operators' warnings and tips (my_warnings, every status) and
-- their history (my_warning_history), and acknowledges and records corrections on its own
-- tips only; anything else is 42501 with a detail and a hint, and the error is the same
-- for another operator's tip, its own warning clue and a warning that does not exist.  It
-- reads no table, no other view and executes no other function; a qual that would raise on
-- another operator's row, or a cheap function that writes down what it is shown, never sees
-- it (security_barrier, tested on a plan that reads every warning); SET ROLE to another
-- operator's login changes nothing (the login is session_user).  The regulator keeps its
-- powers and writes the mapping.
-- Logins played by SET SESSION AUTHORIZATION, roles made in this transaction and rolled
-- back with it.  Operators 'OV-...', data in 2025.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(57);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- =================================================================== roles and fixtures
SELECT ok((SELECT count(*) FROM credit_sandbox.create_roles() s WHERE s LIKE '%credit_sandbox_operator%') > 0,
          'create_roles: makes and grants the operator role');
SELECT is((SELECT format('%s|%s|%s', rolcanlogin, rolsuper, rolinherit) FROM pg_roles WHERE rolname = 'credit_sandbox_operator'),
          'f|f|t', 'create_roles: credit_sandbox_operator is a NOLOGIN group role');
CREATE ROLE ov_a LOGIN IN ROLE credit_sandbox_operator;
CREATE ROLE ov_b LOGIN IN ROLE credit_sandbox_operator;
CREATE ROLE ov_stranger LOGIN IN ROLE credit_sandbox_operator;
CREATE ROLE ov_admin LOGIN IN ROLE credit_sandbox_admin;
CREATE ROLE ov_analyst LOGIN IN ROLE credit_sandbox_analyst;

CALL pg_temp.admit_new_operator('OV-A1');
CALL pg_temp.admit_new_operator('OV-A2');
CALL pg_temp.admit_new_operator('OV-B');
CALL pg_temp.add_sale('OV-A1', '2025-05-01 04:00+00', item => 'ad', title => '最佳 耳机');        -- RL06 tip
CALL pg_temp.add_sale('OV-A1', '2025-05-02 04:00+00', item => 'gun', cat => 'firearms');           -- RL03 clue
CALL pg_temp.add_sale('OV-A2', '2025-05-01 05:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('OV-B', '2025-05-01 06:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('OV-B', '2025-05-02 06:00+00', item => 'gun', cat => 'firearms');
SELECT (pg_temp.latest_warning('OV-A1', 'RL06', list => 'admin_tip')).warning_id AS tip_a1,
       (pg_temp.latest_warning('OV-A1', 'RL03')).warning_id AS clue_a1,
       (pg_temp.latest_warning('OV-A2', 'RL06', list => 'admin_tip')).warning_id AS tip_a2,
       (pg_temp.latest_warning('OV-B', 'RL06', list => 'admin_tip')).warning_id AS tip_b,
       (pg_temp.latest_warning('OV-B', 'RL03')).warning_id AS clue_b,
       (SELECT max(warning_id) + 1000 FROM credit_sandbox.warnings) AS no_warning \gset
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'OV-%'), 5::bigint,
          'setup: three tips and two warning clues');

-- =================================================================== catalogue
SELECT is((SELECT array_agg(format('%s %s', a.attname, format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
             FROM pg_attribute a WHERE a.attrelid = 'credit_sandbox.my_warnings'::regclass AND a.attnum > 0),
          (SELECT array_agg(format('%s %s', a.attname, format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
             FROM pg_attribute a WHERE a.attrelid = 'credit_sandbox.open_warnings'::regclass AND a.attnum > 0),
          'my_warnings: the columns of open_warnings, same names, types and order');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relname LIKE 'my\_%'
              AND 'security_barrier=true' = ANY (c.reloptions)),
          '{my_warning_history,my_warnings}', 'my_warnings and my_warning_history are security barriers');
SELECT is((SELECT array_agg(DISTINCT c.relname::text || ' ' || p.priv ORDER BY c.relname::text || ' ' || p.priv)
             FROM pg_class c, unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p(priv)
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND has_table_privilege('credit_sandbox_operator', c.oid, p.priv)),
          '{"my_warning_history SELECT","my_warnings SELECT"}',
          'the operator role may read my_warnings and my_warning_history, and nothing else of the schema');
SELECT is((SELECT coalesce(array_agg(c.relname::text), '{}') FROM pg_class c
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'S'
              AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('credit_sandbox_operator', c.oid, 'SELECT,USAGE,UPDATE') END),
          '{}', 'the operator role may use no sequence');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'credit_sandbox'::regnamespace
              AND has_function_privilege('credit_sandbox_operator', p.oid, 'EXECUTE')),
          '{acknowledge,driver,in_sandbox,legal_day,owner_rows,record_correction}',
          'the operator role executes acknowledge and record_correction, and what PUBLIC may');
-- the feed (read_feed and the rest) need not be installed: checked when it is
SELECT is((SELECT coalesce(array_agg(p.oid::regprocedure::text), '{}') FROM pg_proc p
            WHERE p.pronamespace = 'credit_sandbox'::regnamespace
              AND p.proname IN ('read_feed', 'ack_feed', 'create_subscription', 'drop_subscription', 'feed_position')
              AND has_function_privilege('credit_sandbox_operator', p.oid, 'EXECUTE')),
          '{}', 'the operator role executes no feed function (those installed)');

-- =================================================================== the mapping is the regulator's
SET SESSION AUTHORIZATION ov_admin;
SELECT lives_ok($$INSERT INTO credit_sandbox.operator_logins (login, operator_id)
                  VALUES ('ov_a', 'OV-A1'), ('ov_a', 'OV-A2'), ('ov_b', 'OV-B'), ('ov_gone', 'OV-B')$$,
                'admin: maps logins to operators');
SELECT lives_ok($$DELETE FROM credit_sandbox.operator_logins WHERE login = 'ov_gone'$$, 'admin: removes a mapping');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ov_a;
SELECT throws_ok($$INSERT INTO credit_sandbox.operator_logins (login, operator_id) VALUES ('ov_a', 'OV-B')$$,
                 '42501', 'permission denied for table operator_logins', 'operator: cannot map itself to another operator');
SELECT throws_ok($$SELECT * FROM credit_sandbox.operator_logins$$, '42501', 'permission denied for table operator_logins',
                 'operator: cannot read the mapping');

-- =================================================================== what each login sees
-- a function of its own that writes down every operator it is shown, claiming to cost nothing
-- so that the planner would run it first were the view not a security barrier
RESET SESSION AUTHORIZATION;
CREATE TEMP TABLE ov_seen (operator_id text);
GRANT INSERT ON ov_seen TO ov_a;
CREATE FUNCTION pg_temp.ov_peek(op text) RETURNS boolean LANGUAGE sql COST 0.0000001 AS
$$ INSERT INTO ov_seen VALUES (op) RETURNING true $$;
GRANT EXECUTE ON FUNCTION pg_temp.ov_peek(text) TO ov_a;
SET SESSION AUTHORIZATION ov_a;
SELECT results_eq($$SELECT operator_id, code, list, status FROM credit_sandbox.my_warnings ORDER BY warning_id$$,
                  $$VALUES ('OV-A1', 'RL06', 'admin_tip', 'open'), ('OV-A1', 'RL03', 'risk_trigger', 'open'),
                           ('OV-A2', 'RL06', 'admin_tip', 'open')$$,
                  'ov_a: my_warnings has the tips and clues of OV-A1 and OV-A2, nothing of OV-B');
SELECT is(pg_temp.error_fields($$SELECT count(*) FROM credit_sandbox.my_warnings
                                   WHERE 1 / (CASE WHEN operator_id LIKE 'OV-B%' THEN 0 ELSE 1 END) = 1$$), NULL,
          'ov_a: a qual that raises on OV-B''s rows is never evaluated on them (no division by zero)');
-- a plan that reads every warning and filters after (as a large table would be read)
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_nestloop = off;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warnings w WHERE pg_temp.ov_peek(w.operator_id)), 3::bigint,
          'ov_a: a function that claims to cost nothing, in a WHERE clause over my_warnings');
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET enable_nestloop;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warnings WHERE warning_id IN (:tip_b, :clue_b)), 0::bigint,
          'ov_a: OV-B''s rows are not there by id either');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT string_agg(DISTINCT operator_id, ',' ORDER BY operator_id) FROM ov_seen), 'OV-A1,OV-A2',
          '... it was shown OV-A1''s and OV-A2''s rows only, never OV-B''s (security_barrier)');
SET SESSION AUTHORIZATION ov_b;
SELECT results_eq($$SELECT operator_id, code, list FROM credit_sandbox.my_warnings ORDER BY warning_id$$,
                  $$VALUES ('OV-B', 'RL06', 'admin_tip'), ('OV-B', 'RL03', 'risk_trigger')$$,
                  'ov_b: my_warnings has OV-B''s tip and clue only');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ov_stranger;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warnings), 0::bigint, 'a stranger (operator role, no mapping): nothing');
SELECT is((SELECT count(*) FROM credit_sandbox.my_warning_history), 0::bigint, '... and no history');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ov_analyst;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warnings), 0::bigint, 'an analyst (mapped to nothing): my_warnings is empty');
RESET SESSION AUTHORIZATION;

-- =================================================================== everything else is refused
SET SESSION AUTHORIZATION ov_a;
SELECT is((SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') FROM pg_class c
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
              AND (pg_temp.error_fields(format('SELECT FROM %s LIMIT 1', c.oid::regclass)))[1] IS DISTINCT FROM '42501'),
          '{my_warning_history,my_warnings}', 'ov_a: every other table and view of the schema refuses it (42501)');
SELECT throws_ok($$SELECT credit_sandbox.close_warning($$ || :tip_a1 || $$, 'x')$$, '42501',
                 'permission denied for function close_warning', 'ov_a: cannot close even its own tip');
SELECT throws_ok($$SELECT credit_sandbox.escalate_overdue()$$, '42501', 'permission denied for function escalate_overdue',
                 'ov_a: cannot escalate');
SELECT throws_ok($$SELECT credit_sandbox.change_warning_status($$ || :tip_b || $$, '{open}', 'closed', NULL)$$, '42501',
                 'permission denied for function change_warning_status', 'ov_a: cannot choose its own status change');
SELECT throws_ok($$SELECT credit_sandbox.check_own_tip($$ || :tip_b || $$)$$, '42501',
                 'permission denied for function check_own_tip', 'ov_a: cannot probe check_own_tip');
SELECT throws_ok($$SELECT * FROM credit_sandbox.sandbox_members_at(now())$$, '42501',
                 'permission denied for function sandbox_members_at', 'ov_a: cannot list the members');
SELECT throws_ok($$SELECT * FROM credit_sandbox.replay()$$, '42501', 'permission denied for function replay',
                 'ov_a: cannot replay');
SELECT throws_ok($$UPDATE credit_sandbox.my_warnings SET status = 'closed'$$, '55000', NULL,
                 'ov_a: cannot update through my_warnings (not an updatable view)');

-- =================================================================== acknowledge / record_correction: other ids
SELECT is(pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :tip_b || ')'),
          ARRAY['42501', 'permission denied for warning ' || :tip_b,
                'Login ov_a may acknowledge and record corrections only on the tips (admin_tip) of the operators operator_logins maps it to.',
                'Your tips are the rows of credit_sandbox.my_warnings with list admin_tip; the regulator maps logins to operators.'],
          'ov_a: acknowledge of OV-B''s tip -> 42501, with detail and hint');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.record_correction(' || :tip_b || ', ''fixed'')'))[1:2],
          ARRAY['42501', 'permission denied for warning ' || :tip_b], 'ov_a: record_correction of OV-B''s tip -> 42501');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :clue_b || ')'))[1:2],
          ARRAY['42501', 'permission denied for warning ' || :clue_b], 'ov_a: acknowledge of OV-B''s clue -> 42501');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :clue_a1 || ')'))[1:2],
          ARRAY['42501', 'permission denied for warning ' || :clue_a1],
          'ov_a: acknowledge of its own warning clue -> 42501 (tips only)');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.record_correction(' || :clue_a1 || ', ''x'')'))[1:2],
          ARRAY['42501', 'permission denied for warning ' || :clue_a1], 'ov_a: record_correction of its own clue -> 42501');
SELECT is(replace(array_to_string(pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :no_warning || ')'), '|'),
                  'warning ' || :no_warning, 'warning N'),
          replace(array_to_string(pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :tip_b || ')'), '|'),
                  'warning ' || :tip_b, 'warning N'),
          'ov_a: a warning that does not exist -> the same error as another operator''s tip (no P0002 to tell them apart)');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(NULL)'))[1], '42501', 'ov_a: acknowledge(NULL) -> 42501');
RESET SESSION AUTHORIZATION;
SELECT is(format('%s|%s', (SELECT status FROM credit_sandbox.warnings WHERE warning_id = :tip_b),
                          (SELECT status FROM credit_sandbox.warnings WHERE warning_id = :clue_a1)),
          'open|open', 'the refused calls changed nothing');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history WHERE warning_id IN (:tip_b, :clue_a1, :clue_b)),
          0::bigint, '... and recorded nothing');

-- =================================================================== own tips
SET SESSION AUTHORIZATION ov_a;
SELECT lives_ok('SELECT credit_sandbox.acknowledge(' || :tip_a1 || ')', 'ov_a: acknowledges its own tip');
SELECT lives_ok('SELECT credit_sandbox.record_correction(' || :tip_a1 || ', ''title fixed'')',
                'ov_a: records the correction of its own tip');
SELECT lives_ok('SELECT credit_sandbox.record_correction(' || :tip_a2 || ', ''label changed'')',
                'ov_a: records a correction on the tip of its other operator');
SELECT throws_ok('SELECT credit_sandbox.acknowledge(' || :tip_a1 || ')', '55000',
                 'warning ' || :tip_a1 || ' is corrected, not open', 'ov_a: a corrected tip -> 55000, as for the regulator');
SELECT results_eq($$SELECT warning_id, status FROM credit_sandbox.my_warnings WHERE list = 'admin_tip' ORDER BY warning_id$$,
                  format('VALUES (%s::bigint, %L), (%s, %L)', :tip_a1, 'corrected', :tip_a2, 'corrected'),
                  'ov_a: my_warnings shows its tips corrected (every status)');
SELECT results_eq($$SELECT warning_id, from_status, to_status, changed_by::text COLLATE "default", note FROM credit_sandbox.my_warning_history
                     ORDER BY history_id$$,
                  format('VALUES (%s::bigint, %L, %L, %L, NULL::text), (%s, %L, %L, %L, %L), (%s, %L, %L, %L, %L)',
                         :tip_a1, 'open', 'acknowledged', 'ov_a', :tip_a1, 'acknowledged', 'corrected', 'ov_a', 'title fixed',
                         :tip_a2, 'open', 'corrected', 'ov_a', 'label changed'),
                  'ov_a: my_warning_history shows each change, by its login');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT string_agg(status_changed_by::text, ',') FROM credit_sandbox.warnings WHERE warning_id IN (:tip_a1, :tip_a2)),
          'ov_a,ov_a', 'status_changed_by is the operator''s login');
SET SESSION AUTHORIZATION ov_b;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warning_history), 0::bigint, 'ov_b: sees none of ov_a''s history');
RESET SESSION AUTHORIZATION;

-- =================================================================== the stranger
SET SESSION AUTHORIZATION ov_stranger;
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :tip_b || ')'))[1:3],
          ARRAY['42501', 'permission denied for warning ' || :tip_b,
                'Login ov_stranger may acknowledge and record corrections only on the tips (admin_tip) of the operators operator_logins maps it to.'],
          'the stranger: acknowledge -> 42501');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.record_correction(' || :tip_b || ', ''x'')'))[1], '42501',
          'the stranger: record_correction -> 42501');
RESET SESSION AUTHORIZATION;

-- =================================================================== the login, not SET ROLE
-- ov_a made a member of ov_b's login role: SET ROLE ov_b still acts as ov_a
GRANT ov_b TO ov_a;
SET SESSION AUTHORIZATION ov_a;
SET ROLE ov_b;
SELECT is((SELECT string_agg(DISTINCT operator_id, ',' ORDER BY operator_id) FROM credit_sandbox.my_warnings), 'OV-A1,OV-A2',
          'ov_a as SET ROLE ov_b: my_warnings is still ov_a''s (session_user)');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :tip_b || ')'))[1], '42501',
          'ov_a as SET ROLE ov_b: OV-B''s tip still refused');
RESET ROLE;
RESET SESSION AUTHORIZATION;
REVOKE ov_b FROM ov_a;

-- =================================================================== the regulator keeps its powers
SET SESSION AUTHORIZATION ov_admin;
SELECT lives_ok('SELECT credit_sandbox.acknowledge(' || :clue_b || ', ''seen by the regulator'')',
                'admin: acknowledges an operator''s warning clue');
SELECT lives_ok('SELECT credit_sandbox.record_correction(' || :tip_b || ', ''confirmed on site'')',
                'admin: records a correction on any tip');
SELECT lives_ok('SELECT credit_sandbox.close_warning(' || :tip_a1 || ', ''checked'')', 'admin: closes an operator''s tip');
SELECT throws_ok('SELECT credit_sandbox.acknowledge(' || :no_warning || ')', 'P0002',
                 'warning ' || :no_warning || ' does not exist', 'admin: an unknown warning is still P0002');
RESET SESSION AUTHORIZATION;

-- a mapping removed: the login sees and answers nothing more
SET SESSION AUTHORIZATION ov_admin;
DELETE FROM credit_sandbox.operator_logins WHERE login = 'ov_b';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ov_b;
SELECT is((SELECT count(*) FROM credit_sandbox.my_warnings), 0::bigint, 'ov_b unmapped: my_warnings is empty');
SELECT is((pg_temp.error_fields('SELECT credit_sandbox.acknowledge(' || :clue_b || ')'))[1], '42501',
          'ov_b unmapped: its former operator''s warnings are refused');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
