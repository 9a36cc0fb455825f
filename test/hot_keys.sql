-- hot_keys.sql -- pgTAP: one statement of 17,000 sales of one operator to one address and
-- of one item (three batches of rows; a window holds some 1,500 of them, so the key's
-- history is kept between batches and read again only where a batch reaches past it, as
-- late rows do) gives exactly the RL04 and RL05 hits that counting every row's window by
-- hand gives, and the replay agrees.
-- Operators 'HK-...', data in 2030.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(4);

\ir lib/helpers.sql

CALL pg_temp.add_operator('HK-1');
UPDATE credit_sandbox.rules SET params = '{"lookback": "1 day"}' WHERE code = 'RL05';
-- 58 s apart over 11 days (the windows slide); every 97th row arrives 30 hours late
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price, list_price)
SELECT 'HK-1', timestamptz '2030-06-01 00:00+00' + k * interval '58 s' - CASE WHEN k % 97 = 0 THEN interval '30 hours' ELSE interval '0' END,
       'addr', 'item', 10 + k % 13, 15
  FROM generate_series(1, 17000) k;

-- by hand: every row's window over the rows stored before it (smaller id), itself included for RL04
CREATE TEMP TABLE hk_expected AS
SELECT (SELECT count(*) FROM credit_sandbox.transactions t
         WHERE t.operator_id = 'HK-1' AND t.ship_to = 'addr' AND t.txn_id <= r.txn_id
           AND t.occurred_at > r.occurred_at - interval '24 hours' AND t.occurred_at <= r.occurred_at) >= 8 AS rl04,
       coalesce(r.list_price > (SELECT min(t.unit_price) FROM credit_sandbox.transactions t
                                 WHERE t.operator_id = 'HK-1' AND t.item_id = 'item' AND t.txn_id < r.txn_id
                                   AND t.occurred_at >= r.occurred_at - interval '1 day'
                                   AND t.occurred_at < r.occurred_at), false) AS rl05
  FROM credit_sandbox.transactions r WHERE r.operator_id = 'HK-1';

SELECT cmp_ok((SELECT count(*) FROM hk_expected WHERE rl04), '>', 1000::bigint,
              'setup: the data hits RL04 many times, late rows included');
SELECT is((SELECT sum(hits) FROM credit_sandbox.warnings WHERE operator_id = 'HK-1' AND code = 'RL04')::bigint,
          (SELECT count(*) FROM hk_expected WHERE rl04), 'RL04: the hits counting each window by hand gives');
SELECT is((SELECT sum(hits) FROM credit_sandbox.warnings WHERE operator_id = 'HK-1' AND code = 'RL05')::bigint,
          (SELECT count(*) FROM hk_expected WHERE rl05), 'RL05: the hits finding each lowest earlier price by hand gives');
SELECT is((SELECT count(*) FROM credit_sandbox.check_consistency() WHERE operator_id = 'HK-1'), 0::bigint,
          'the replay gives the same hits');

SELECT * FROM finish();
ROLLBACK;
