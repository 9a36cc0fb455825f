-- temp_schema.sql -- pgTAP: the checks run the owner's queries with the catalogue found
-- before the inserting session's temporary schema. The application's role makes, in its
-- own temporary schema, domains named like catalogue types (text, date, float8, int4,
-- int8, jsonb, timestamptz, bool) whose check runs a function of its own, then inserts
-- rows that take every red line, a sandbox exit and a grade: no query of the checks
-- may run that function as the extension's owner. On 15 and 16 the checks leave the
-- temporary schema out; from 17 on they search it last (src/compat.h). No query of the
-- checks names such a type unqualified today: this keeps it that way.
-- Operators 'TTS-...', 2030.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(3);

\ir lib/defaults.sql
\ir lib/helpers.sql

DO $$ BEGIN PERFORM credit_sandbox.create_roles(app => 'tts_app', analyst => 'tts_analyst', admin => 'tts_admin'); END $$;
CALL pg_temp.add_operator('TTS-M', licence => '2040-01-01', registered => '2000-01-01');
CALL pg_temp.add_operator('TTS-A', licence => '2040-01-01', registered => '2000-01-01');
DO $$ BEGIN PERFORM credit_sandbox.admit('TTS-M'); END $$;
CREATE TEMP TABLE tts_errors (msg pg_catalog.text);
GRANT INSERT ON tts_errors TO tts_app;
-- compiled at its first call, once the domains exist: it declares no variable
CREATE PROCEDURE pg_temp.tts_workload() LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.add_sale('TTS-U', '2030-06-01 10:00+00');                                          -- RL01
    CALL pg_temp.add_sale('TTS-M', '2030-06-01 10:00+00', item => 'g', title => 'Replica Gun');     -- RL03: exit, grade
    CALL pg_temp.add_sale('TTS-A', '2030-06-01 09:00+00', item => 'p', price => 50);
    CALL pg_temp.add_sale('TTS-A', '2030-06-02 09:00+00', item => 'p', price => 60, lp => 55);      -- RL05
    CALL pg_temp.add_sale('TTS-A', '2030-06-02 10:00+00', item => 'ad', title => '最佳 耳机');       -- RL06
    CALL pg_temp.add_sale_series('TTS-A', '2030-06-03 10:00+00', 9, '1 minute', ship => 'addr');    -- RL04
    CALL pg_temp.add_return('TTS-A', '2030-06-01 00:00+00', '2030-06-03 00:00+00');                  -- RL07
    CALL pg_temp.add_complaints('TTS-A', '2030-06-05 00:00+00', 6, '1 hour');                            -- RL08
EXCEPTION WHEN others THEN
    INSERT INTO tts_errors VALUES (SQLERRM);
END $$;

SET SESSION AUTHORIZATION tts_app;
CREATE FUNCTION pg_temp.tts_hijack() RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'hijacked: ran as %', current_user; END $$;
DO $$
DECLARE
    t pg_catalog.text;
BEGIN
    FOREACH t IN ARRAY ARRAY['text', 'date', 'float8', 'int4', 'int8', 'jsonb', 'timestamptz', 'bool'] LOOP
        EXECUTE pg_catalog.format('CREATE DOMAIN pg_temp.%I AS pg_catalog.%I CHECK (pg_temp.tts_hijack())', t, t);
    END LOOP;
END $$;
CALL pg_temp.tts_workload();
DROP DOMAIN pg_temp.text, pg_temp.date, pg_temp.float8, pg_temp.int4, pg_temp.int8, pg_temp.jsonb,
            pg_temp.timestamptz, pg_temp.bool;
RESET SESSION AUTHORIZATION;

SELECT is((SELECT array_agg(msg) FROM tts_errors), NULL,
          'the checks ran none of the application''s temporary types');
SELECT is((SELECT array_agg(DISTINCT code ORDER BY code) FROM credit_sandbox.warnings WHERE operator_id LIKE 'TTS-%'),
          '{RL01,RL03,RL04,RL05,RL06,RL07,RL08}', 'its rows took every red line that reads tables');
SELECT is((SELECT format('%s|%s', class, cause) FROM credit_sandbox.operator_grades
            WHERE operator_id = 'TTS-M' ORDER BY grade_id DESC LIMIT 1),
          'B|warning clue RL03', 'and the member that left the sandbox was graded by the checks');

SELECT * FROM finish();
ROLLBACK;
