--
-- evidence: the evidence jsonb (and the other columns) of one hit of each code.
-- Timestamps inside evidence are rendered in the session TimeZone and intervals in
-- its IntervalStyle, hence the settings below.  Operators 'EV-...'.
--
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits) VALUES
    ('EV-01', '2020-01-01', '2030-05-31', '{}'),
    ('EV-02', '2020-01-01', '2031-12-31', '{}'),
    ('EV-03', '2020-01-01', '2031-12-31', '{}'),
    ('EV-04', '2020-01-01', '2031-12-31', '{}'),
    ('EV-05', '2020-01-01', '2031-12-31', '{}'),
    ('EV-06', '2020-01-01', '2031-12-31', '{}'),
    ('EV-07', '2020-01-01', '2031-12-31', '{}'),
    ('EV-08', '2020-01-01', '2031-12-31', '{}'),
    ('EV-09', '2020-01-01', '2031-12-31', '{}'),
    ('EV-10', '2020-01-01', '2030-06-15', '{food_business}');
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on, removed_on) VALUES
    ('EV-02', 'abnormal', '2030-01-01', NULL), ('EV-02', 'dishonest', '2030-03-01', NULL),
    ('EV-02', 'dishonest', '2029-01-01', '2029-06-01');
INSERT INTO credit_sandbox.reference_prices (item_id, category, price, valid_from, valid_to) VALUES
    ('EV-i9', NULL, 200, '2030-01-01', NULL), (NULL, 'ev_cat', 10, '2030-01-01', NULL);
-- RL01: unknown operator; expired licence and a regulated category without its permit
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
VALUES ('EV-00', '2030-06-01 12:00+08', 'i', 'misc', 1), ('EV-01', '2030-06-01 12:00+08', 'i', 'food', 1);
-- RL02: on both lists (and an older, removed entry)
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('EV-02', '2030-06-01 12:00+08', 'i', 1);
-- RL03: prohibited category and three terms, one of them in capitals
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, category, unit_price)
VALUES ('EV-03', '2030-06-01 12:00+08', 'EV-i3', '穿山甲 Ivory 象牙 摆件', 'wildlife_products', 1);
-- RL04: 8 orders to one address, 2 hours apart, in one statement: the 8th hits
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
SELECT 'EV-04', '2030-06-01 12:00+08'::timestamptz + g * interval '2 hours', 'addr-hash-1', 'i', 1
  FROM generate_series(0, 7) g;
-- RL05: "was 99.00", but sold at 79.90 two days before
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('EV-05', '2030-06-01 12:00+08', 'EV-i5', 79.90);
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, list_price)
VALUES ('EV-05', '2030-06-03 12:00+08', 'EV-i5', 59.90, 99.00);
-- RL06: two absolute terms
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('EV-06', '2030-06-01 12:00+08', 'EV-i6', '全网最佳 No.1 耳机', 1);
-- RL07: refused 4 days after delivery
INSERT INTO credit_sandbox.returns (txn_id, operator_id, category, delivered_at, requested_at, outcome)
VALUES (424242, 'EV-07', 'electronics', '2030-06-01 12:00+08', '2030-06-05 09:30+08', 'refused');
-- RL08: 3 complaints in the baseline, then 5 at once
INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel)
VALUES ('EV-08', '2030-03-10 12:00+08', 'web'), ('EV-08', '2030-03-20 12:00+08', 'web'),
       ('EV-08', '2030-04-01 12:00+08', 'phone');
INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel)
SELECT 'EV-08', '2030-06-01 12:00+08', 'web' FROM generate_series(1, 5);
-- RL09: item reference price, and category reference price
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
VALUES ('EV-09', '2030-06-01 12:00+08', 'EV-i9', 'ev_cat', 300.50),
       ('EV-09', '2030-06-01 12:00+08', 'EV-i10', 'ev_cat', 15.5);
-- TP01: licence until June 15th, a food sale with the permit
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
VALUES ('EV-10', '2030-06-01 12:00+08', 'i', 'food', 1);
-- the warnings
SELECT operator_id, code, list, subject_key, source_table, hits, occurred_at, last_hit_at, due_at, status
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'EV-%' ORDER BY operator_id, code, subject_key;
SELECT operator_id, code, subject_key, jsonb_pretty(evidence) AS evidence
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'EV-%' ORDER BY operator_id, code, subject_key;
-- each warning names its source row (the row of the first hit) and the rule's current version
SELECT operator_id, code, subject_key,
       CASE source_table
           WHEN 'transactions' THEN EXISTS (SELECT FROM credit_sandbox.transactions t WHERE t.txn_id = w.source_id
                                               AND t.operator_id = w.operator_id AND t.occurred_at = w.occurred_at)
           WHEN 'returns' THEN EXISTS (SELECT FROM credit_sandbox.returns r WHERE r.return_id = w.source_id
                                          AND r.operator_id = w.operator_id AND r.requested_at = w.occurred_at)
           WHEN 'complaints' THEN EXISTS (SELECT FROM credit_sandbox.complaints c WHERE c.complaint_id = w.source_id
                                             AND c.operator_id = w.operator_id AND c.received_at = w.occurred_at)
       END AS source_row_ok,
       rule_version = (SELECT r.version FROM credit_sandbox.rules r WHERE r.code = w.code) AS current_version
  FROM credit_sandbox.warnings w WHERE operator_id LIKE 'EV-%' ORDER BY operator_id, code, subject_key;
-- RL04's source row is the 8th order, RL08's the 5th complaint of the second statement
SELECT w.code, t.occurred_at
  FROM credit_sandbox.warnings w JOIN credit_sandbox.transactions t ON t.txn_id = w.source_id
 WHERE w.operator_id = 'EV-04';
SELECT w.code, (SELECT count(*) FROM credit_sandbox.complaints c
                 WHERE c.operator_id = 'EV-08' AND c.complaint_id <= w.source_id) AS nth_complaint
  FROM credit_sandbox.warnings w WHERE w.operator_id = 'EV-08';
DELETE FROM credit_sandbox.reference_prices WHERE item_id = 'EV-i9' OR category = 'ev_cat';
SELECT cs_test_cleanup('EV-');
