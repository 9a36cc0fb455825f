-- notify.sql -- pgTAP: a transaction that writes a new warning or tip wakes the listeners
-- of channel credit_sandbox up once, with an empty payload (any login may LISTEN: the
-- signal names no operator, code or key), only if it commits; none for a hit on an open
-- warning, none for a rollback; a prepared transaction with a new warning prepares and
-- commits (and sends none).
-- A notification reaches a listener only after COMMIT, so the rows are written by a
-- second session (dblink) that commits, and read by a third that listens.  The committed
-- rows (operators 'TNT-...') are deleted at the start and at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(5);
CREATE EXTENSION IF NOT EXISTS dblink;

\ir lib/helpers.sql
-- deletes the rows of operators 'TNT-...' from every table of the extension (committed, by dblink)
CREATE FUNCTION pg_temp.cleanup() RETURNS text LANGUAGE sql AS $$
    SELECT dblink_exec('tnt_write', pg_temp.delete_operator_rows_sql('TNT-%')) $$;

CREATE TEMP TABLE tnt_notes (n serial, channel text, payload text);
DO $$
BEGIN
    PERFORM dblink_connect('tnt_listen', pg_temp.session_connstr());
    PERFORM dblink_connect('tnt_write', pg_temp.session_connstr());
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
    -- prepared, then committed: a new warning (no notification: PREPARE refuses one)
    PERFORM dblink_exec('tnt_write', $sql$
        BEGIN;
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('TNT-3', '2030-06-03 12:00+08', 'p', 'ivory', 1);
        PREPARE TRANSACTION 'tnt_prepared'$sql$);
    PERFORM dblink_exec('tnt_write', $sql$COMMIT PREPARED 'tnt_prepared'$sql$);
    -- collect what the listener got (1 expected; then wait a little more for strays)
    FOR i IN 1 .. 100 LOOP
        INSERT INTO tnt_notes (channel, payload)
        SELECT notify_name, extra FROM dblink_get_notify('tnt_listen');
        EXIT WHEN (SELECT count(*) FROM tnt_notes) >= 1;
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
         source_id bigint, occurred_at timestamptz, due_at timestamptz, hits bigint);

SELECT results_eq($$SELECT operator_id, code, list, hits::int FROM tnt_warnings ORDER BY warning_id$$,
                  $$VALUES ('TNT-1', 'RL06', 'risk_trigger', 2), ('TNT-2', 'RL03', 'risk_trigger', 1),
                           ('TNT-2', 'RL06', 'admin_tip', 1), ('TNT-3', 'RL01', 'risk_trigger', 1),
                           ('TNT-3', 'RL03', 'risk_trigger', 1)$$,
                  'the committed warnings, the prepared one''s included (the rolled-back one is not there)');
SELECT is((SELECT count(*) FROM tnt_notes), 1::bigint,
          'one wake-up for the transaction with three new warnings: none for the extra hit, the rollback, the prepared one');
SELECT is((SELECT array_agg(DISTINCT channel) FROM tnt_notes), ARRAY['credit_sandbox'], 'channel credit_sandbox');
SELECT is((SELECT array_agg(DISTINCT payload) FROM tnt_notes), ARRAY[''], 'the payload is empty: nothing about an operator');

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
