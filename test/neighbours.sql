-- neighbours.sql -- pgTAP: credit_sandbox works beside a library that takes 7 of the 10
-- relcache callback slots a backend has for every library together (test/neighbour,
-- preloaded by test/check.sh for the whole suite), PostgreSQL itself taking 2: it
-- registers one, and its caches still follow every change through it. Operators 'TNB...', 2033.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(6);

\ir lib/defaults.sql
\ir lib/helpers.sql

SELECT is(current_setting('cs_neighbour.relcache_callbacks', true), '7',
          'the neighbour library is loaded and took 7 relcache callback slots');
SELECT ok(current_setting('shared_preload_libraries') ~ 'credit_sandbox',
          'credit_sandbox is preloaded beside it');

-- each cache filled, then one of its tables changed: the next row sees the change
CALL pg_temp.add_sale('TNB-1', '2033-01-01 10:00+08', item => 'n1', title => 'neighbourly gadget');
SELECT is(pg_temp.warning_count('TNB-1', 'RL01'), 1::bigint, 'an unknown operator''s sale hits RL01');
CALL pg_temp.add_operator('TNB-1', licence => '2040-01-01');
CALL pg_temp.add_sale('TNB-1', '2033-01-01 11:00+08', item => 'n1', title => 'neighbourly gadget');
SELECT is((pg_temp.latest_warning('TNB-1', 'RL01', 'TNB-1')).hits, 1::bigint,
          'once registered (operators changed), its next sale does not');
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('Neighbourly');
CALL pg_temp.add_sale('TNB-1', '2033-01-01 12:00+08', item => 'n1', title => 'NEIGHBOURLY gadget');
SELECT is(pg_temp.warning_count('TNB-1', 'RL03'), 1::bigint, 'a term added (prohibited_terms changed) reaches the next title');
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL03';
CALL pg_temp.add_sale('TNB-1', '2033-01-01 13:00+08', item => 'n2', title => 'neighbourly gizmo');
SELECT is(pg_temp.warning_count('TNB-1', 'RL03'), 1::bigint, 'a rule disabled (rules changed) no longer fires');

SELECT * FROM finish();
ROLLBACK;
