-- removed_rows.sql -- pgTAP: removals from the tables CREATE EXTENSION fills with
-- defaults are recorded in removed_rows, so that a restore (which installs the
-- defaults again first) can remove them again (README, Backups).
-- One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(14);

CREATE FUNCTION pg_temp.records() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT table_name || ' ' || key::text FROM credit_sandbox.removed_rows ORDER BY 1 $$;
DELETE FROM credit_sandbox.removed_rows;

DELETE FROM credit_sandbox.prohibited_terms WHERE term = 'ivory';
SELECT results_eq('SELECT * FROM pg_temp.records()', ARRAY['prohibited_terms {"term": "ivory"}'],
                  'a removed default is recorded by its primary key');
SELECT ok((SELECT removed_at = now() AND removed_by = current_user FROM credit_sandbox.removed_rows),
          'with who removed it and when');

INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('ivory');
SELECT is_empty('SELECT * FROM pg_temp.records()', 'inserting it again drops the record');

UPDATE credit_sandbox.grading_weights SET weight = weight + 1;
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL06';
SELECT is_empty('SELECT * FROM pg_temp.records()', 'an UPDATE that keeps the key records nothing');

UPDATE credit_sandbox.absolute_terms SET term = '最佳的' WHERE term = '最佳';
SELECT results_eq('SELECT * FROM pg_temp.records()', ARRAY['absolute_terms {"term": "最佳"}'],
                  'an UPDATE of the key records the old key only');

INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('象牙');
INSERT INTO credit_sandbox.rules (code, title, list, params)
VALUES ('RL09', 'price gouging', 'risk_trigger', '{"max_markup_pct": 80}');
SELECT results_eq('SELECT * FROM pg_temp.records()', ARRAY['absolute_terms {"term": "最佳"}'],
                  'a row inserted over its own key (a list row, an untouched default rule) records nothing');

TRUNCATE credit_sandbox.return_exempt_categories;
SELECT is((SELECT count(*) FROM credit_sandbox.removed_rows WHERE table_name = 'return_exempt_categories'), 4::bigint,
          'TRUNCATE records every row');
DELETE FROM credit_sandbox.removed_rows;

-- what a restore does: CREATE EXTENSION installed the default, the dumped record arrives
SET LOCAL session_replication_role = replica;
INSERT INTO credit_sandbox.removed_rows (table_name, key, removed_at, removed_by)
VALUES ('prohibited_terms', '{"term": "ivory"}', '2025-01-01', 'dba'),
       ('rules', '{"code": "TP01"}', '2025-01-01', 'dba');
SELECT ok(NOT EXISTS (SELECT FROM credit_sandbox.prohibited_terms WHERE term = 'ivory')
          AND NOT EXISTS (SELECT FROM credit_sandbox.rules WHERE code = 'TP01'),
          'as replica, a restored record removes its row again');
SELECT results_eq('SELECT * FROM pg_temp.records()',
                  ARRAY['prohibited_terms {"term": "ivory"}', 'rules {"code": "TP01"}'],
                  '... and is kept as restored');
SELECT is((SELECT removed_by FROM credit_sandbox.removed_rows WHERE key = '{"term": "ivory"}'), 'dba'::name,
          '... with its own who and when');
RESET session_replication_role;

INSERT INTO credit_sandbox.removed_rows (table_name, key) VALUES ('absolute_terms', '{"term": "第一"}');
SELECT ok(NOT EXISTS (SELECT FROM credit_sandbox.absolute_terms WHERE term = '第一'),
          'a record written by hand removes its row');
SELECT is((SELECT count(*) FROM credit_sandbox.removed_rows WHERE key = '{"term": "第一"}'), 1::bigint,
          '... and is recorded once');

SELECT throws_ok($$INSERT INTO credit_sandbox.removed_rows (table_name, key) VALUES ('warnings', '{"warning_id": 1}')$$,
                 '22023', NULL, 'a record for a table without defaults is refused');
SELECT throws_ok($$INSERT INTO credit_sandbox.removed_rows (table_name, key) VALUES ('prohibited_terms', '{}')$$,
                 '22023', NULL, 'so is a record that is not a whole primary key');

SELECT * FROM finish();
ROLLBACK;
