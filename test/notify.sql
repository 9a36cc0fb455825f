-- notify.sql -- pgTAP: every NEW warning or tip is pushed with NOTIFY credit_sandbox,
-- '<json>', delivered only if the row commits, none for a hit on an open warning
-- (SPEC.md section 3, reference.sql I14, I17).
-- A notification reaches a listener only after COMMIT, so the rows are written by a
-- second session (dblink) that commits, and read by a third that listens.  The committed
-- rows (operators 'TNT-...') are deleted at the start and at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(9);
CREATE EXTENSION IF NOT EXISTS dblink;

CREATE FUNCTION pg_temp.connstr() RETURNS text LANGUAGE sql AS $$
    SELECT format('dbname=%s user=%s port=%s host=%s', current_database(), current_user, current_setting('port'),
                  trim(split_part(current_setting('unix_socket_directories'), ',', 1))) $$;
-- deletes the rows of operators 'TNT-...' from every table of the extension (committed, by dblink)
CREATE FUNCTION pg_temp.cleanup() RETURNS text LANGUAGE sql AS $$
    SELECT dblink_exec('tnt_write', $sql$
    DO $do$
    DECLARE
        t regclass;
    BEGIN
        FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r' AND c.relname <> 'warnings'
                    AND a.attname = 'warning_id' AND NOT a.attisdropped
                    AND NOT EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'operator_id')
        LOOP
            EXECUTE format('DELETE FROM %s WHERE warning_id IN (SELECT w.warning_id FROM credit_sandbox.warnings w
                                                                 WHERE w.operator_id LIKE ''TNT-%%'')', t);
        END LOOP;
        FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r'
                    AND a.attname = 'operator_id' AND NOT a.attisdropped
        LOOP
            EXECUTE format('DELETE FROM %s WHERE operator_id LIKE ''TNT-%%''', t);
        END LOOP;
    END $do$ $sql$) $$;

CREATE TEMP TABLE tnt_notes (n serial, channel text, payload text);
DO $$
BEGIN
    PERFORM dblink_connect('tnt_listen', pg_temp.connstr());
    PERFORM dblink_connect('tnt_write', pg_temp.connstr());
    PERFORM pg_temp.cleanup();
    PERFORM dblink_exec('tnt_listen', 'LISTEN credit_sandbox');
    PERFORM dblink_exec('tnt_write', $sql$SET TimeZone = 'UTC'$sql$);
    -- committed: TNT-1 gets an RL06 warning clue; TNT-2 (a member) gets RL03 and an RL06 tip from one row
    PERFORM dblink_exec('tnt_write', $sql$
        BEGIN;
        INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
        VALUES ('TNT-1', '2020-01-01', '2031-12-31', '{}'), ('TNT-2', '2020-01-01', '2031-12-31', '{}');
        INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES ('TNT-2', 'test: notify');
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('TNT-1', '2030-06-01 12:00+08', 'a', '最佳', 1);
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('TNT-2', '2030-06-01 13:00+08', 'b', 'ivory 最佳', 1);
        COMMIT$sql$);
    -- committed: one more hit on TNT-1's open warning (no notification)
    PERFORM dblink_exec('tnt_write', $sql$
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('TNT-1', '2030-06-02 12:00+08', 'a', '最佳', 1)$sql$);
    -- rolled back: a new warning that never commits (no notification)
    PERFORM dblink_exec('tnt_write', $sql$
        BEGIN;
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('TNT-1', '2030-06-03 12:00+08', 'c', 'ivory', 1);
        ROLLBACK$sql$);
    -- collect what the listener got (3 expected; then wait a little more for strays)
    FOR i IN 1 .. 100 LOOP
        INSERT INTO tnt_notes (channel, payload)
        SELECT notify_name, extra FROM dblink_get_notify('tnt_listen');
        EXIT WHEN (SELECT count(*) FROM tnt_notes) >= 3;
        PERFORM pg_sleep(0.05);
    END LOOP;
    PERFORM pg_sleep(0.3);
    INSERT INTO tnt_notes (channel, payload) SELECT notify_name, extra FROM dblink_get_notify('tnt_listen');
END $$;
-- the committed warnings, as the writer sees them
CREATE TEMP TABLE tnt_warnings AS
SELECT * FROM dblink('tnt_write', $sql$
    SELECT warning_id, code, list, operator_id, subject_key, source_table, source_id, occurred_at, due_at, hits
      FROM credit_sandbox.warnings WHERE operator_id LIKE 'TNT-%' ORDER BY warning_id $sql$)
    AS w(warning_id bigint, code text, list text, operator_id text, subject_key text, source_table text,
         source_id bigint, occurred_at timestamptz, due_at timestamptz, hits int);

SELECT results_eq($$SELECT operator_id, code, list, hits FROM tnt_warnings ORDER BY warning_id$$,
                  $$VALUES ('TNT-1', 'RL06', 'risk_trigger', 2), ('TNT-2', 'RL03', 'risk_trigger', 1),
                           ('TNT-2', 'RL06', 'admin_tip', 1)$$,
                  'the committed warnings (the rolled-back one is not there)');
SELECT is((SELECT count(*) FROM tnt_notes), 3::bigint,
          'one notification per new committed warning: none for the extra hit, none for the rollback');
SELECT is((SELECT array_agg(DISTINCT channel) FROM tnt_notes), ARRAY['credit_sandbox'], 'channel credit_sandbox');
SELECT is((SELECT count(*) FROM tnt_notes WHERE payload::jsonb IS NOT NULL), 3::bigint, 'payloads are JSON');
SELECT is((SELECT array_agg(k ORDER BY k) FROM (SELECT DISTINCT jsonb_object_keys(payload::jsonb) k FROM tnt_notes) x),
          ARRAY['code', 'due_at', 'list', 'occurred_at', 'operator_id', 'source_id', 'source_table', 'subject_key',
                'warning_id'], 'payload keys');
SELECT results_eq(
    $$SELECT (p ->> 'warning_id')::bigint, p ->> 'code', p ->> 'list', p ->> 'operator_id', p ->> 'subject_key',
             p ->> 'source_table', (p ->> 'source_id')::bigint, (p ->> 'occurred_at')::timestamptz,
             (p ->> 'due_at')::timestamptz
        FROM (SELECT n, payload::jsonb AS p FROM tnt_notes) x ORDER BY n$$,
    $$SELECT warning_id, code, list, operator_id, subject_key, source_table, source_id, occurred_at, due_at
        FROM tnt_warnings ORDER BY warning_id$$,
    'payloads = the warnings, in the order they were written (RL03 before RL06 for one row)');
SELECT is((SELECT (payload::jsonb ->> 'due_at')::timestamptz FROM tnt_notes WHERE payload::jsonb ->> 'list' = 'admin_tip'),
          '2030-06-08 13:00+08'::timestamptz, 'the tip''s due_at is in its payload');
SELECT is((SELECT payload::jsonb -> 'due_at' FROM tnt_notes WHERE payload::jsonb ->> 'code' = 'RL03'), 'null'::jsonb,
          'a warning clue''s due_at is null');

DO $$
BEGIN
    PERFORM pg_temp.cleanup();
    PERFORM dblink_disconnect('tnt_listen');
    PERFORM dblink_disconnect('tnt_write');
END $$;
SELECT is((SELECT count(*) FROM dblink('dbname=' || current_database() || ' port=' || current_setting('port') || ' host='
                                       || trim(split_part(current_setting('unix_socket_directories'), ',', 1)),
                                       $sql$SELECT count(*) FROM credit_sandbox.operators WHERE operator_id LIKE 'TNT-%'$sql$)
                                  AS c(n bigint) WHERE n = 0), 1::bigint, 'clean-up: no committed test rows left');

SELECT * FROM finish();
ROLLBACK;
