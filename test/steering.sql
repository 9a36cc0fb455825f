-- steering.sql -- pgTAP: what a platform sends cannot break or bend the checks
-- (README, "Whose data"): keys too long for an index are refused by a named
-- constraint; a licensed operator's sale at the end of the timestamp range is
-- stored and judged (windows and deadlines saturate); every view is a security
-- barrier, so an analyst's cheap function sees only the rows a view returns; a
-- statement that registers an operator and inserts its sale (a CTE) is judged on the
-- registration, whatever the backend's operator cache held; hits count past 2^31.
-- Operators 'ST-...', data in 2030 and at the end of time.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(12);

\ir lib/helpers.sql

-- ------------------------------------------------------------------ keys that fit
SELECT throws_ok(format($$CALL pg_temp.add_sale(%L, '2030-06-01 10:00+00')$$, repeat('o', 257)),
                 '23514', NULL, 'an operator_id over 256 bytes is refused (23514), not a B-tree error');
SELECT throws_ok(format($$CALL pg_temp.add_sale('ST-K', '2030-06-01 10:00+00', item => %L)$$, repeat('i', 513)),
                 '23514', NULL, 'an item_id over 512 bytes is refused');
SELECT throws_ok(format($$CALL pg_temp.add_sale('ST-K', '2030-06-01 10:00+00', ship => %L)$$, repeat('s', 513)),
                 '23514', NULL, 'a ship_to over 512 bytes is refused');
SELECT lives_ok(format($$CALL pg_temp.add_sale(%L, '2030-06-01 10:00+00', item => %L, ship => %L)$$,
                       repeat('o', 256), repeat('i', 512), repeat('s', 512)),
                'keys at the limits are stored and checked');

-- ------------------------------------------------------------------ the end of time
-- a member whose licence ends after the last representable moment: TP01 looks 30 days
-- ahead, a tip's deadline lies past the range
CALL pg_temp.add_operator('ST-END', licence => '294277-01-10');
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES ('ST-END', 'test: steering');
SELECT lives_ok($$CALL pg_temp.add_sale('ST-END', '294276-12-31 20:00+00', item => 'ad', title => '最佳 cup')$$,
                'a licensed member''s sale in the last hours of the timestamp range is stored');
SELECT is((SELECT string_agg(code || ' ' || list || ' ' || coalesce(due_at::text, '-'), ', ' ORDER BY code)
             FROM credit_sandbox.warnings WHERE operator_id = 'ST-END'),
          'RL06 admin_tip infinity, TP01 admin_tip -',
          '... and judged: TP01 (licence ending within 30 days), an RL06 tip due at infinity');

-- ------------------------------------------------------------------ views are barriers
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'v'
              AND NOT coalesce('security_barrier=true' = ANY (c.reloptions), false)),
          NULL, 'every view of the extension is a security barrier');
CALL pg_temp.add_sale('ST-CLOSED', '2030-06-01 10:00+00', item => 'g', cat => 'firearms');
DO $$ BEGIN PERFORM credit_sandbox.close_warning(warning_id, 'done') FROM credit_sandbox.warnings
             WHERE operator_id = 'ST-CLOSED' AND code = 'RL03'; END $$;
SELECT credit_sandbox.create_roles() IS NOT NULL AS roles \g /dev/null
CREATE ROLE st_analyst LOGIN IN ROLE credit_sandbox_analyst;
CREATE TEMP TABLE st_seen (status text);
GRANT INSERT ON st_seen TO st_analyst;
CREATE FUNCTION pg_temp.peek(status text) RETURNS boolean LANGUAGE sql COST 0.0000001 AS
$$ INSERT INTO st_seen VALUES (status) RETURNING true $$;
GRANT EXECUTE ON FUNCTION pg_temp.peek(text) TO st_analyst;
SET SESSION AUTHORIZATION st_analyst;
SELECT lives_ok($$SELECT count(*) FROM credit_sandbox.open_warnings w WHERE pg_temp.peek(w.status)$$,
                'analyst: a cheap function in a WHERE clause over open_warnings');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM st_seen WHERE status NOT IN ('open', 'acknowledged')), 0::bigint,
          '... sees no closed warning (it ran on the view''s rows only)');

-- ------------------------------------------------------------------ a CTE registers and sells
-- 300 operators met in one statement: the backend then reads every operator and takes
-- one it does not hold for unknown; ST-CTE's first sale is by an unknown operator
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
SELECT 'ST-C' || k, '2020-01-01', '2031-12-31', '{}' FROM generate_series(1, 300) k;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
SELECT 'ST-C' || k, '2030-06-01 10:00+00', 'i', 1 FROM generate_series(1, 300) k;
CALL pg_temp.add_sale('ST-CTE', '2030-06-01 10:00+00');
WITH o AS (INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
           VALUES ('ST-CTE', '2020-01-01', '2031-12-31', '{}'))
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('ST-CTE', '2030-06-02 10:00+00', 'i', 1);
SELECT is((pg_temp.latest_warning('ST-CTE', 'RL01', 'ST-CTE')).hits, 1::bigint,
          'a CTE registering an operator and inserting its sale: the sale is judged on the registration (no RL01)');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id ~ '^ST-C[0-9]+$'),
          0::bigint, '... and the 300 registered operators'' sales hit nothing');

-- ------------------------------------------------------------------ hits past 2^31
CALL pg_temp.add_sale('ST-MANY', '2030-06-01 10:00+00');
UPDATE credit_sandbox.warnings SET hits = 2147483647 WHERE operator_id = 'ST-MANY' AND code = 'RL01';
CALL pg_temp.add_sale('ST-MANY', '2030-06-01 11:00+00');
SELECT is((pg_temp.latest_warning('ST-MANY', 'RL01', 'ST-MANY')).hits, 2147483648::bigint,
          'a warning counts its hits past 2^31 (hits is bigint)');

SELECT * FROM finish();
ROLLBACK;
