-- audit_trail.sql -- pgTAP: warning_status_history (SPEC.md section 8, README "Audit
-- trail"): one row for every status change acknowledge, record_correction, close_warning
-- and escalate_overdue make, with from, to, who (the login), when and note (an
-- escalation's note names the warning clue written for the tip); a refused change adds
-- none.  Append-only: no role may change or remove a row, and a trigger refuses UPDATE,
-- DELETE and TRUNCATE to the owner too, in replica mode as well.  Readable by the
-- administrators and analysts, not by the application or the operators (who have
-- my_warning_history).  escalate_overdue refuses an at later than now() (22023).
-- Operators 'AT-...', data in 2025 (their tips long overdue).  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(35);

\ir lib/defaults.sql
\ir lib/helpers.sql

SELECT count(*) > 0 AS roles FROM credit_sandbox.create_roles() \gset
CREATE ROLE at_admin LOGIN IN ROLE credit_sandbox_admin;
CREATE ROLE at_analyst LOGIN IN ROLE credit_sandbox_analyst;
CREATE ROLE at_app LOGIN IN ROLE credit_sandbox_app;
CREATE ROLE at_operator LOGIN IN ROLE credit_sandbox_operator;

-- AT-1: an RL06 tip corrected then closed; AT-2: a tip acknowledged, then escalated;
-- AT-3: a tip left open, escalated
CALL pg_temp.admit_new_operator('AT-1');
CALL pg_temp.admit_new_operator('AT-2');
CALL pg_temp.admit_new_operator('AT-3');
CALL pg_temp.add_sale('AT-1', '2025-04-01 04:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AT-2', '2025-04-01 05:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AT-3', '2025-04-01 06:00+00', item => 'ad', title => '最佳 耳机');
SELECT (pg_temp.latest_warning('AT-1', 'RL06')).warning_id AS tip1,
       (pg_temp.latest_warning('AT-2', 'RL06')).warning_id AS tip2,
       (pg_temp.latest_warning('AT-3', 'RL06')).warning_id AS tip3 \gset
INSERT INTO credit_sandbox.operator_logins VALUES ('at_operator', 'AT-1');

-- =================================================================== catalogue
SELECT is((SELECT array_agg(format('%s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull) ORDER BY a.attnum)
             FROM pg_attribute a WHERE a.attrelid = 'credit_sandbox.warning_status_history'::regclass AND a.attnum > 0),
          '{"history_id bigint t","warning_id bigint t","from_status text f","to_status text t","changed_by name t",'
          '"changed_at timestamp with time zone t","note text f"}',
          'warning_status_history: history_id, warning_id, from_status, to_status, changed_by, changed_at, note');
SELECT is((SELECT array_agg(t.tgname::text || ' ' || t.tgenabled::text) FROM pg_trigger t
            WHERE t.tgrelid = 'credit_sandbox.warning_status_history'::regclass AND NOT t.tgisinternal),
          '{"refuse_history_change A"}', 'one trigger refuses changes, ENABLE ALWAYS (replica mode fires it)');
SELECT ok((SELECT 'credit_sandbox.warning_status_history'::regclass = ANY (extconfig)
              AND 'credit_sandbox.warning_status_history_history_id_seq'::regclass = ANY (extconfig)
              AND 'credit_sandbox.operator_logins'::regclass = ANY (extconfig)
             FROM pg_extension WHERE extname = 'credit_sandbox'),
          'pg_dump keeps the history, its sequence and operator_logins');

-- =================================================================== every change, with its note
SELECT lives_ok('SELECT credit_sandbox.record_correction(' || :tip1 || ', ''title fixed'')', 'record_correction(tip1, ''title fixed'')');
SELECT lives_ok('SELECT credit_sandbox.close_warning(' || :tip1 || ', ''checked'')', 'close_warning(tip1, ''checked'')');
SELECT results_eq($$SELECT from_status, to_status, changed_by = session_user, changed_at = now(), note
                      FROM credit_sandbox.warning_status_history WHERE warning_id = $$ || :tip1 || $$ ORDER BY history_id$$,
                  $$VALUES ('open', 'corrected', true, true, 'title fixed'), ('corrected', 'closed', true, true, 'checked')$$,
                  'both changes kept: the correction note is not lost when the tip is closed');
SELECT is((SELECT status_note FROM credit_sandbox.warnings WHERE warning_id = :tip1), 'checked',
          '... while warnings.status_note holds the last note only');
SELECT lives_ok('SELECT credit_sandbox.acknowledge(' || :tip2 || ')', 'acknowledge(tip2) without a note');
SELECT results_eq($$SELECT from_status, to_status, note FROM credit_sandbox.warning_status_history WHERE warning_id = $$ || :tip2,
                  $$VALUES ('open', 'acknowledged', NULL::text)$$, 'acknowledge: open -> acknowledged, no note');
-- refused changes leave no row
SELECT throws_ok('SELECT credit_sandbox.acknowledge(' || :tip2 || ', ''again'')', '55000', NULL, 'acknowledge twice -> 55000');
SELECT throws_ok('SELECT credit_sandbox.close_warning(' || :tip1 || ', ''again'')', '55000', NULL, 'close twice -> 55000');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history WHERE warning_id IN (:tip1, :tip2)), 3::bigint,
          'refused changes add no row');

-- =================================================================== escalation
SELECT is(pg_temp.error_fields($$SELECT credit_sandbox.escalate_overdue(now() + interval '11 days')$$),
          ARRAY['22023',
                'escalate_overdue cannot escalate as of ' || (now() + interval '11 days')::text || ': that is later than now()',
                'A tip is escalated once its correction period has ended; as of a moment still to come, tips not yet due would be escalated and their operators removed from the sandbox.',
                'Call escalate_overdue() without an argument (as of now()), or with a moment that has passed.'],
          'escalate_overdue(now() + 11 days) -> 22023, with detail and hint');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'AT-%' AND status = 'escalated'), 0::bigint,
          '... nothing escalated');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history WHERE warning_id IN (:tip2, :tip3)), 1::bigint,
          '... nothing recorded');
SELECT is(credit_sandbox.escalate_overdue(now()), 2::bigint, 'escalate_overdue(now()): the overdue tips of AT-2 and AT-3');
SELECT results_eq($$SELECT h.warning_id, h.from_status, h.to_status, h.changed_by = session_user, h.changed_at = now(),
                           h.note = format('overdue: warning clue %s written for it', w.escalated_to)
                      FROM credit_sandbox.warning_status_history h JOIN credit_sandbox.warnings w USING (warning_id)
                     WHERE h.warning_id IN ($$ || :tip2 || ', ' || :tip3 || $$) AND h.to_status = 'escalated'
                     ORDER BY h.warning_id$$,
                  format('VALUES (%s::bigint, %L, %L, true, true, true), (%s, %L, %L, true, true, true)',
                         :tip2, 'acknowledged', 'escalated', :tip3, 'open', 'escalated'),
                  'escalation: one row per tip, from its status before, the note naming the warning clue written');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history h
             JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id
            WHERE w.operator_id LIKE 'AT-%' AND w.list = 'risk_trigger'), 0::bigint,
          'escalation: the new warning clue has no history row (written, not changed)');
SELECT is(credit_sandbox.escalate_overdue(), 0::bigint, 'escalate again: nothing');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history WHERE warning_id IN (:tip1, :tip2, :tip3)), 5::bigint,
          '... and nothing recorded');
SELECT lives_ok('SELECT credit_sandbox.close_warning(' || :tip3 || ', ''settled'')', 'close the escalated tip');
SELECT is((SELECT format('%s>%s %s', from_status, to_status, note) FROM credit_sandbox.warning_status_history
            WHERE warning_id = :tip3 ORDER BY history_id DESC LIMIT 1), 'escalated>closed settled', '... recorded');
SELECT is((SELECT bool_and(h.changed_at = w.status_changed_at AND h.changed_by = w.status_changed_by)
             FROM credit_sandbox.warnings w
             JOIN LATERAL (SELECT * FROM credit_sandbox.warning_status_history x WHERE x.warning_id = w.warning_id
                            ORDER BY x.history_id DESC LIMIT 1) h ON true
            WHERE w.operator_id LIKE 'AT-%'), true,
          'the latest row of each warning agrees with warnings.status_changed_at and status_changed_by');

-- =================================================================== append-only
SELECT is(pg_temp.error_fields($$UPDATE credit_sandbox.warning_status_history SET note = 'rewritten'$$),
          ARRAY['42501', 'UPDATE on warning_status_history is not allowed',
                'The history of warning statuses is append-only: rows are only ever added.',
                'A status change is made by acknowledge, record_correction, close_warning or escalate_overdue, which add a row.'],
          'owner: UPDATE refused by the trigger, with detail and hint');
SELECT throws_ok($$DELETE FROM credit_sandbox.warning_status_history WHERE false$$, '42501',
                 'DELETE on warning_status_history is not allowed', 'owner: DELETE refused, even of no row');
SELECT throws_ok($$TRUNCATE credit_sandbox.warning_status_history$$, '42501',
                 'TRUNCATE on warning_status_history is not allowed', 'owner: TRUNCATE refused');
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$DELETE FROM credit_sandbox.warning_status_history$$, '42501',
                 'DELETE on warning_status_history is not allowed', 'owner in replica mode: DELETE refused');
RESET session_replication_role;
SELECT is((SELECT count(*) FROM credit_sandbox.warning_status_history WHERE warning_id IN (:tip1, :tip2, :tip3)), 6::bigint,
          'every row still there');

SET SESSION AUTHORIZATION at_admin;
SELECT ok((SELECT count(*) FROM credit_sandbox.warning_status_history) >= 6, 'admin: reads the history');
SELECT is(ARRAY[(pg_temp.error_fields($$INSERT INTO credit_sandbox.warning_status_history (warning_id, to_status, changed_by, changed_at)
                                        VALUES (1, 'closed', 'x', now())$$))[1],
                (pg_temp.error_fields($$UPDATE credit_sandbox.warning_status_history SET note = 'x'$$))[2],
                (pg_temp.error_fields($$DELETE FROM credit_sandbox.warning_status_history$$))[2],
                (pg_temp.error_fields($$TRUNCATE credit_sandbox.warning_status_history$$))[2]],
          ARRAY['42501', 'permission denied for table warning_status_history', 'permission denied for table warning_status_history',
                'permission denied for table warning_status_history'],
          'admin: may not insert, update, delete or truncate');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION at_analyst;
SELECT ok((SELECT count(*) FROM credit_sandbox.warning_status_history) >= 6, 'analyst: reads the history');
SELECT is((pg_temp.error_fields($$DELETE FROM credit_sandbox.warning_status_history$$))[2],
          'permission denied for table warning_status_history', 'analyst: may not delete');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION at_app;
SELECT throws_ok($$SELECT * FROM credit_sandbox.warning_status_history$$, '42501',
                 'permission denied for table warning_status_history', 'application: may not read the history');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION at_operator;
SELECT throws_ok($$SELECT * FROM credit_sandbox.warning_status_history$$, '42501',
                 'permission denied for table warning_status_history', 'operator: may not read the whole history');
SELECT results_eq($$SELECT warning_id, to_status FROM credit_sandbox.my_warning_history ORDER BY history_id$$,
                  format('VALUES (%s::bigint, %L), (%s, %L)', :tip1, 'corrected', :tip1, 'closed'),
                  'operator: my_warning_history has its own tip''s rows only');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
