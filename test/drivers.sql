-- drivers.sql -- pgTAP: set_driver/driver, batch = sequential (a multi-row INSERT gives what
-- the same rows inserted one by one give), and the row and statement drivers give the same
-- warnings, evidence and sandbox exits (reference.sql I1, I16, I17).
-- Operators 'TDB...' and 'TDR<n>-...', times in 2030.  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(34);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- =================================================================== set_driver / driver
SELECT is(credit_sandbox.driver(), 'statement', 'driver(): statement by default');
SELECT throws_ok($$SELECT credit_sandbox.set_driver('bogus')$$, '22023', 'unknown driver "bogus"',
                 'set_driver: unknown driver refused');
SELECT is(credit_sandbox.set_driver('row'), 'row', 'set_driver(''row'')');
SELECT is(credit_sandbox.driver(), 'row', 'driver(): row');
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", t.tgtype & 1 = 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       WHERE t.tgname = 'check_rows' AND t.tgparentid = 0 AND c.relnamespace = 'credit_sandbox'::regnamespace ORDER BY 1$$,
    $$VALUES ('complaints', true), ('returns', true), ('transactions', true)$$,
    'set_driver(''row''): one row trigger on each event table');
SELECT is(credit_sandbox.set_driver('statement'), 'statement', 'set_driver(''statement'')');
SELECT is(credit_sandbox.driver(), 'statement', 'driver(): statement again');

-- =================================================================== batch = sequential (statement driver)
CALL pg_temp.add_operator('TDB-4');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
SELECT 'TDB-4', '2030-06-01 00:00+08'::timestamptz + g * interval '1 minute', 'S3', 'i', 1
  FROM generate_series(1, 10) g;
SELECT is((pg_temp.latest_warning('TDB-4', 'RL04', 'S3')).hits, 3::bigint, 'batch RL04: 10 orders in one statement hit on orders 8, 9, 10');
SELECT is((pg_temp.latest_warning('TDB-4', 'RL04', 'S3')).evidence ->> 'orders', '8', 'batch RL04: the first hit saw 8 orders, not 10');
SELECT is((pg_temp.latest_warning('TDB-4', 'RL04', 'S3')).occurred_at, '2030-06-01 00:08+08'::timestamptz, 'batch RL04: first hit = 8th row');
SELECT is((pg_temp.latest_warning('TDB-4', 'RL04', 'S3')).last_hit_at, '2030-06-01 00:10+08'::timestamptz, 'batch RL04: last hit = 10th row');
-- the same 8 orders in reverse time order: each row's window (t-24h, t] holds no earlier-stored
-- row (they are all later in time), so no row reaches 8; a 9th order after them sees all 8
CALL pg_temp.add_operator('TDB-4b');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
SELECT 'TDB-4b', '2030-06-01 00:00+08'::timestamptz + g * interval '1 minute', 'S3', 'i', 1
  FROM generate_series(8, 1, -1) g;
SELECT is(pg_temp.warning_count('TDB-4b', 'RL04'), 0::bigint, 'batch RL04: 8 orders in reverse time order, no hit');
CALL pg_temp.add_sale('TDB-4b', '2030-06-01 00:09+08', ship => 'S3');
SELECT is((pg_temp.latest_warning('TDB-4b', 'RL04', 'S3')).evidence ->> 'orders', '9',
          'batch RL04: the next statement counts all 8 rows of the batch and itself');
-- two operators interleaved in one statement
CALL pg_temp.add_operator('TDB-4c');
CALL pg_temp.add_operator('TDB-4d');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
SELECT CASE WHEN g % 2 = 0 THEN 'TDB-4c' ELSE 'TDB-4d' END,
       '2030-06-01 00:00+08'::timestamptz + g * interval '1 minute', 'S3', 'i', 1
  FROM generate_series(1, 17) g;
SELECT results_eq(
    $$SELECT operator_id, hits::int FROM credit_sandbox.warnings WHERE operator_id IN ('TDB-4c', 'TDB-4d') ORDER BY 1$$,
    $$VALUES ('TDB-4c', 1), ('TDB-4d', 2)$$,
    'batch RL04: per operator within one statement (8 and 9 orders)');
CALL pg_temp.add_operator('TDB-5');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, list_price) VALUES
    ('TDB-5', '2030-06-05 12:00+08', 'e', 100, 120), ('TDB-5', '2030-06-04 12:00+08', 'e', 50, NULL);
SELECT is(pg_temp.warning_count('TDB-5', 'RL05'), 0::bigint, 'batch RL05: a later row of the statement is ignored');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, list_price) VALUES
    ('TDB-5', '2030-06-04 12:00+08', 'f', 50, NULL), ('TDB-5', '2030-06-05 12:00+08', 'f', 100, 120);
SELECT is((pg_temp.latest_warning('TDB-5', 'RL05', 'f')).evidence ->> 'lowest_price', '50', 'batch RL05: an earlier row of the statement counts');
CALL pg_temp.add_operator('TDB-8');
INSERT INTO credit_sandbox.complaints (operator_id, received_at)
SELECT 'TDB-8', '2030-06-01 12:00+08'::timestamptz + g * interval '1 hour' FROM generate_series(1, 6) g;
SELECT is((pg_temp.latest_warning('TDB-8', 'RL08', 'TDB-8')).hits, 2::bigint, 'batch RL08: 6 complaints in one statement, hits on the 5th and 6th');
SELECT is((pg_temp.latest_warning('TDB-8', 'RL08', 'TDB-8')).evidence ->> 'complaints', '5', 'batch RL08: the first hit saw 5');
UPDATE credit_sandbox.rules SET params = '{"return_period": "7 days", "window": "30 days", "threshold": 2}' WHERE code = 'RL07';
CALL pg_temp.add_operator('TDB-7');
INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome)
SELECT 'TDB-7', '2030-06-01 12:00+08', '2030-06-01 12:00+08'::timestamptz + g * interval '1 hour', 'refused'
  FROM generate_series(1, 3) g;
SELECT is((pg_temp.latest_warning('TDB-7', 'RL07', 'TDB-7')).hits, 2::bigint, 'batch RL07 N=2: 3 refusals in one statement, hits on the 2nd and 3rd');
SELECT is((pg_temp.latest_warning('TDB-7', 'RL07', 'TDB-7')).evidence ->> 'refusals', '2', 'batch RL07: the first hit saw 2');
UPDATE credit_sandbox.rules SET params = '{"return_period": "7 days", "window": "30 days", "threshold": 1}' WHERE code = 'RL07';

-- =================================================================== drivers and batching give the same warnings
-- The feed: rows hitting every code, sandbox members included.  Loaded four times under
-- four operator prefixes: statement driver with one multi-row INSERT ... SELECT per table,
-- statement driver with one INSERT per row, row driver multi-row, row driver one per row.
-- buyer_id (transactions), txn_id (returns) and channel (complaints) carry the feed's seq.
CREATE TEMP TABLE feed_tx (seq int, op text, at timestamptz, item text, title text, cat text,
                           price numeric, lp numeric, ship text);
INSERT INTO feed_tx VALUES
    (1,  'u',  '2030-06-01 10:00+08', 'i1', 'plain', 'misc', 10, NULL, NULL),
    (2,  'm1', '2030-06-01 10:00+08', 'a', '最佳 耳机', 'misc', 10, NULL, NULL),
    (3,  'm1', '2030-06-01 11:00+08', 'a', '最佳 耳机', 'misc', 10, NULL, NULL),
    (4,  'm1', '2030-06-01 12:00+08', 'b', 'best in the world', 'misc', 10, NULL, NULL),
    (5,  'm1', '2030-06-02 10:00+08', 'p', 'plain', 'misc', 50, NULL, NULL),
    (6,  'm1', '2030-06-03 10:00+08', 'p', 'plain', 'misc', 40, 60, NULL),
    (7,  'm2', '2030-06-01 10:00+08', 'x', 'plain', 'misc', 10, NULL, NULL),
    (8,  'm3', '2030-06-01 10:00+08', 'x', 'plain', 'misc', 10, NULL, NULL),
    (9,  'm3', '2030-06-01 11:00+08', 'TDR-ref1', 'plain', 'misc', 151, NULL, NULL),
    (21, 'o1', '2030-06-01 10:00+08', 'g', 'ivory gun', 'firearms', 10, NULL, NULL),
    (22, 'o1', '2030-06-01 10:05+08', 'h', 'plain', 'tdr_cat', 16, NULL, NULL),
    (23, 'o1', '2030-06-05 10:00+08', 'k', 'plain', 'misc', 100, 120, NULL),
    (24, 'o1', '2030-06-04 10:00+08', 'k', 'plain', 'misc', 50, NULL, NULL),
    (25, 'o1', '2030-06-06 10:00+08', 'k', 'plain', 'misc', 100, 60, NULL),
    (26, 'm7', '2030-06-01 10:00+08', 'a', 'ivory 最佳', 'misc', 10, NULL, NULL),
    (27, 'm4', '2030-06-01 00:11+08', 'i', 'plain', 'misc', 10, NULL, NULL);
INSERT INTO feed_tx
SELECT 9 + g, 'm4', '2030-06-01 00:00+08'::timestamptz + g * interval '1 minute', 'i', 'plain', 'misc', 10, NULL, 'S1'
  FROM generate_series(1, 10) g;
CREATE TEMP TABLE feed_ret (seq int, op text, delivered timestamptz, requested timestamptz, outcome text, cat text);
INSERT INTO feed_ret VALUES
    (31, 'm5', '2030-06-01 10:00+08', '2030-06-03 10:00+08', 'refused', 'misc'),
    (32, 'm5', '2030-06-01 10:00+08', '2030-06-04 10:00+08', 'refused', 'misc'),
    (33, 'o1', '2030-06-01 10:00+08', '2030-06-02 10:00+08', 'refused', 'custom_made'),
    (34, 'o1', '2030-06-01 10:00+08', '2030-06-02 10:00+08', 'refused', 'misc'),
    (35, 'o1', '2030-06-01 10:00+08', '2030-06-20 10:00+08', 'refused', 'misc'),
    (36, 'm1', '2030-06-01 10:00+08', '2030-06-05 10:00+08', 'refused', NULL);
CREATE TEMP TABLE feed_cmp (seq int, op text, at timestamptz);
INSERT INTO feed_cmp SELECT 40 + g, 'o2', '2030-06-01 09:00+08'::timestamptz + g * interval '1 hour' FROM generate_series(1, 6) g;
INSERT INTO feed_cmp SELECT 46 + g, 'm6', '2030-06-01 10:00+08' FROM generate_series(1, 5) g;
INSERT INTO credit_sandbox.reference_prices (item_id, category, price) VALUES ('TDR-ref1', NULL, 100), (NULL, 'tdr_cat', 10);

CREATE PROCEDURE pg_temp.load(p text, single boolean) LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
    SELECT p || '-' || s, '2020-01-01', CASE s WHEN 'm3' THEN '2030-06-20' ELSE '2031-12-31' END::date, '{}'
      FROM unnest(ARRAY['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'o1', 'o2']) s;
    INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES (p || '-m2', 'abnormal', '2030-05-01');
    -- members (a membership row; admission by grade is not what this file tests)
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
    SELECT p || '-' || s, 'test: drivers' FROM unnest(ARRAY['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']) s;
    IF single THEN
        FOR r IN SELECT * FROM feed_tx ORDER BY seq LOOP
            INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title,
                                                     category, quantity, unit_price, list_price)
            VALUES (p || '-' || r.op, r.at, r.seq, r.ship, r.item, r.title, r.cat, 1, r.price, r.lp);
        END LOOP;
        FOR r IN SELECT * FROM feed_ret ORDER BY seq LOOP
            INSERT INTO credit_sandbox.returns (txn_id, operator_id, category, delivered_at, requested_at, outcome)
            VALUES (r.seq, p || '-' || r.op, r.cat, r.delivered, r.requested, r.outcome);
        END LOOP;
        FOR r IN SELECT * FROM feed_cmp ORDER BY seq LOOP
            INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel)
            VALUES (p || '-' || r.op, r.at, r.seq);
        END LOOP;
    ELSE
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title,
                                                 category, quantity, unit_price, list_price)
        SELECT p || '-' || op, at, seq, ship, item, title, cat, 1, price, lp FROM feed_tx ORDER BY seq;
        INSERT INTO credit_sandbox.returns (txn_id, operator_id, category, delivered_at, requested_at, outcome)
        SELECT seq, p || '-' || op, cat, delivered, requested, outcome FROM feed_ret ORDER BY seq;
        INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel)
        SELECT p || '-' || op, at, seq FROM feed_cmp ORDER BY seq;
    END IF;
END $$;

-- the warnings of one load, with the operator prefix taken off and the source row as its feed seq
CREATE FUNCTION pg_temp.warnings_of(p text)
RETURNS TABLE (op text, code text, key text, list text, hits bigint, evidence jsonb, occurred_at timestamptz,
               last_hit_at timestamptz, due_at timestamptz, status text, rule_version int, source_table text, seq int)
LANGUAGE sql AS $$
    SELECT substr(w.operator_id, length(p) + 2), w.code,
           CASE WHEN w.subject_key = w.operator_id THEN substr(w.subject_key, length(p) + 2) ELSE w.subject_key END,
           w.list, w.hits, w.evidence, w.occurred_at, w.last_hit_at, w.due_at, w.status, w.rule_version, w.source_table,
           CASE w.source_table
               WHEN 'transactions' THEN (SELECT t.buyer_id::int FROM credit_sandbox.transactions t WHERE t.txn_id = w.source_id)
               WHEN 'returns' THEN (SELECT r.txn_id::int FROM credit_sandbox.returns r WHERE r.return_id = w.source_id)
               WHEN 'complaints' THEN (SELECT c.channel::int FROM credit_sandbox.complaints c WHERE c.complaint_id = w.source_id)
           END
      FROM credit_sandbox.warnings w
     WHERE w.operator_id LIKE p || '-%'
     ORDER BY 1, 2, 3 $$;
CREATE FUNCTION pg_temp.stays_of(p text)
RETURNS TABLE (op text, exited boolean, exit_code text, exit_reason text, exit_hit_at timestamptz, exit_key text)
LANGUAGE sql AS $$
    SELECT substr(m.operator_id, length(p) + 2), m.exited_at IS NOT NULL, m.exit_code, m.exit_reason, m.exit_hit_at,
           (SELECT w.code || '/' || w.subject_key FROM credit_sandbox.warnings w WHERE w.warning_id = m.exit_warning_id)
      FROM credit_sandbox.sandbox_memberships m
     WHERE m.operator_id LIKE p || '-%'
     ORDER BY 1 $$;

SELECT credit_sandbox.set_driver('statement') IS NOT NULL AS "statement driver" \g /dev/null
CALL pg_temp.load('TDR1', false);
CALL pg_temp.load('TDR2', true);
SELECT credit_sandbox.set_driver('row') IS NOT NULL AS "row driver" \g /dev/null
CALL pg_temp.load('TDR3', false);
CALL pg_temp.load('TDR4', true);
SELECT credit_sandbox.set_driver('statement') IS NOT NULL AS "statement driver" \g /dev/null

-- the statement-driver batch load, checked by hand against SPEC
SELECT results_eq(
    $$SELECT op, code, key, list, hits::int, due_at, seq FROM pg_temp.warnings_of('TDR1')$$,
    $$VALUES ('m1', 'RL05', 'p',  'risk_trigger', 1, NULL::timestamptz, 6),
             ('m1', 'RL06', 'a',  'admin_tip',    2, '2030-06-08 10:00+08', 2),
             ('m1', 'RL06', 'b',  'risk_trigger', 1, NULL, 4),
             ('m1', 'RL07', 'm1', 'risk_trigger', 1, NULL, 36),
             ('m2', 'RL02', 'm2', 'risk_trigger', 1, NULL, 7),
             ('m3', 'RL09', 'TDR-ref1', 'risk_trigger', 1, NULL, 9),
             ('m3', 'TP01', 'm3', 'admin_tip',    2, NULL, 8),
             ('m4', 'RL04', 'S1', 'risk_trigger', 3, NULL, 17),
             ('m5', 'RL07', 'm5', 'admin_tip',    2, '2030-06-10 10:00+08', 31),
             ('m6', 'RL08', 'm6', 'risk_trigger', 1, NULL, 51),
             ('m7', 'RL03', 'a',  'risk_trigger', 1, NULL, 26),
             ('m7', 'RL06', 'a',  'admin_tip',    1, '2030-06-08 10:00+08', 26),
             ('o1', 'RL03', 'g',  'risk_trigger', 1, NULL, 21),
             ('o1', 'RL05', 'k',  'risk_trigger', 1, NULL, 25),
             ('o1', 'RL07', 'o1', 'risk_trigger', 1, NULL, 34),
             ('o1', 'RL09', 'h',  'risk_trigger', 1, NULL, 22),
             ('o2', 'RL08', 'o2', 'risk_trigger', 2, NULL, 45),
             ('u',  'RL01', 'u',  'risk_trigger', 1, NULL, 1)$$,
    'feed (statement driver, multi-row): the warnings SPEC gives');
SELECT results_eq(
    $$SELECT op, exited, exit_code, exit_key FROM pg_temp.stays_of('TDR1')$$,
    $$VALUES ('m1', true, 'RL06', 'RL06/b'), ('m2', true, 'RL02', 'RL02/TDR1-m2'), ('m3', true, 'RL09', 'RL09/TDR-ref1'),
             ('m4', true, 'RL04', 'RL04/S1'), ('m5', false, NULL, NULL), ('m6', true, 'RL08', 'RL08/TDR1-m6'),
             ('m7', true, 'RL03', 'RL03/a')$$,
    'feed (statement driver, multi-row): the sandbox exits SPEC gives');
SELECT results_eq($$SELECT * FROM pg_temp.warnings_of('TDR2')$$, $$SELECT * FROM pg_temp.warnings_of('TDR1')$$,
                  'statement driver: one INSERT per row = one multi-row INSERT ... SELECT (warnings, evidence, times)');
SELECT results_eq($$SELECT * FROM pg_temp.warnings_of('TDR3')$$, $$SELECT * FROM pg_temp.warnings_of('TDR1')$$,
                  'row driver multi-row = statement driver multi-row (warnings, evidence, times)');
SELECT results_eq($$SELECT * FROM pg_temp.warnings_of('TDR4')$$, $$SELECT * FROM pg_temp.warnings_of('TDR1')$$,
                  'row driver one INSERT per row = statement driver multi-row (warnings, evidence, times)');
SELECT results_eq($$SELECT op, exited, exit_code, exit_reason, exit_hit_at, replace(exit_key, 'TDR2', 'TDR1') FROM pg_temp.stays_of('TDR2')$$,
                  $$SELECT * FROM pg_temp.stays_of('TDR1')$$, 'statement driver single rows: the same sandbox exits');
SELECT results_eq($$SELECT op, exited, exit_code, exit_reason, exit_hit_at, replace(exit_key, 'TDR3', 'TDR1') FROM pg_temp.stays_of('TDR3')$$,
                  $$SELECT * FROM pg_temp.stays_of('TDR1')$$, 'row driver multi-row: the same sandbox exits');
SELECT results_eq($$SELECT op, exited, exit_code, exit_reason, exit_hit_at, replace(exit_key, 'TDR4', 'TDR1') FROM pg_temp.stays_of('TDR4')$$,
                  $$SELECT * FROM pg_temp.stays_of('TDR1')$$, 'row driver single rows: the same sandbox exits');

-- =================================================================== large statements
-- 10,000 rows in one statement: more than one batch (8,192 rows), and with a tiny
-- work_mem the transition table spills to disk.  One unknown operator, one address,
-- one order a second: every row hits RL01, and RL04 (8 in 24 h) from the 8th on.
SET LOCAL work_mem = '64kB';
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
SELECT 'TDR-big', '2030-06-01 00:00+08'::timestamptz + g * interval '1 second', 'S-big', 'i', 1
  FROM generate_series(1, 10000) g;
SELECT is((pg_temp.latest_warning('TDR-big', 'RL01', 'TDR-big')).hits, 10000::bigint,
          'large statement spilled to disk: RL01 counts every row across batches');
SELECT is((pg_temp.latest_warning('TDR-big', 'RL04', 'S-big')).hits, 9993::bigint,
          'large statement spilled to disk: RL04 hits from the 8th order on, across batches');
SELECT is(pg_temp.warning_count('TDR-big', 'RL04'), 1::bigint, 'large statement: one open RL04 warning, not one per batch');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_hits h JOIN credit_sandbox.warnings w USING (warning_id)
            WHERE w.operator_id = 'TDR-big'), 19993::bigint,
          'large statement: every hit is in the hit log once');
SELECT is((pg_temp.latest_warning('TDR-big', 'RL04', 'S-big')).last_hit_at, '2030-06-01 00:00+08'::timestamptz + interval '10000 seconds',
          'large statement: last_hit_at is the last row''s time');
RESET work_mem;
-- 10,000 operators in one statement: more than the default lock table could hold with
-- one lock per operator (64 per connection); the checks spread them over 512 locks
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
SELECT 'TDR-many-' || g, '2030-06-01 00:00+08', 'i', 1 FROM generate_series(1, 10000) g;
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'TDR-many-%' AND code = 'RL01'),
          10000::bigint, 'a statement touching 10,000 operators holds few enough locks and checks every row');

SELECT * FROM finish();
ROLLBACK;
