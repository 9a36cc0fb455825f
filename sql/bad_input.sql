--
-- bad_input: every constraint of the input tables and reference lists rejects a bad row
-- with an ERROR and its SQLSTATE (23502 not null, 23514 check, 23505 unique), stores
-- nothing and warns about nothing; a valid but suspicious row is stored and warned about.
-- Operators 'BI-...'.  VERBOSITY terse: the primary message, without the failing row.
--
\set SHOW_CONTEXT never
\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- ---------------------------------------------------------------- operators
INSERT INTO credit_sandbox.operators (operator_id) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operators (operator_id) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until) VALUES ('BI-1', '2020-01-01', '2031-12-31');
INSERT INTO credit_sandbox.operators (operator_id) VALUES ('BI-1');
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- operator_lists
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('BI-1', 'grey', '2030-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('BI-1', NULL, '2030-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('', 'abnormal', '2030-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES (NULL, 'abnormal', '2030-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('BI-1', 'abnormal', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on, removed_on)
VALUES ('BI-1', 'dishonest', '2030-01-02', '2030-01-01');
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- transactions
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES (NULL, '2030-06-01 12:00+08', 'i', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('', '2030-06-01 12:00+08', 'i', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', NULL, 'i', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', 'infinity', 'i', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '-infinity', 'i', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', '', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, quantity, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', 0, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, quantity, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', -2, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', -0.01);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', 'NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, list_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', 1, -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, list_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', 1, 'NaN');
\echo :LAST_ERROR_SQLSTATE
-- one bad row rejects the whole statement: its good rows (an unknown operator's sale) are not
-- stored and not warned about
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, quantity, unit_price)
VALUES ('BI-unknown', '2030-06-01 12:00+08', 'i', 1, 1), ('BI-1', '2030-06-01 12:00+08', 'i', 0, 1);
\echo :LAST_ERROR_SQLSTATE
COPY credit_sandbox.transactions (operator_id, occurred_at, item_id, quantity, unit_price) FROM STDIN;
BI-unknown	2030-06-01 12:00:00+08	i	1	1
BI-1	2030-06-01 12:00:00+08	i	1	-5
\.
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- returns
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES (NULL, '2030-06-02 12:00+08', 'refused');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('', '2030-06-02 12:00+08', 'refused');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('BI-1', NULL, 'refused');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('BI-1', 'infinity', 'refused');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome)
VALUES ('BI-1', '-infinity', '2030-06-02 12:00+08', 'refused');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('BI-1', '2030-06-02 12:00+08', 'lost');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('BI-1', '2030-06-02 12:00+08', 'REFUSED');
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- complaints
INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES (NULL, '2030-06-02 12:00+08');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES ('', '2030-06-02 12:00+08');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES ('BI-1', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES ('BI-1', 'infinity');
\echo :LAST_ERROR_SQLSTATE
-- ---------------------------------------------------------------- reference lists
INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES ('bi_cat', '');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES ('bi_cat', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES (NULL, 'bi_permit');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.prohibited_categories (category) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.absolute_terms (term) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.absolute_terms (term) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.return_exempt_categories (category) VALUES (NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, category, price) VALUES ('BI-i', 'bi_cat', 10);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, category, price) VALUES (NULL, NULL, 10);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('BI-i', 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('BI-i', -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('BI-i', 'NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('BI-i', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO credit_sandbox.reference_prices (item_id, price, valid_from, valid_to) VALUES ('BI-i', 10, '2030-06-02', '2030-06-01');
\echo :LAST_ERROR_SQLSTATE
-- nothing of the above was stored or warned about
SELECT (SELECT count(*) FROM credit_sandbox.operators WHERE operator_id LIKE 'BI-%' OR operator_id = '') AS operators,
       (SELECT count(*) FROM credit_sandbox.operator_lists WHERE operator_id LIKE 'BI-%') AS operator_lists,
       (SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id LIKE 'BI-%') AS transactions,
       (SELECT count(*) FROM credit_sandbox.returns WHERE operator_id LIKE 'BI-%') AS returns,
       (SELECT count(*) FROM credit_sandbox.complaints WHERE operator_id LIKE 'BI-%') AS complaints,
       (SELECT count(*) FROM credit_sandbox.reference_prices WHERE item_id LIKE 'BI-%') AS reference_prices,
       (SELECT count(*) FROM credit_sandbox.regulated_categories WHERE category LIKE 'bi_%') AS regulated_categories,
       (SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'BI-%') AS warnings;
-- ---------------------------------------------------------------- valid but suspicious: stored and warned about
-- an unknown operator's free sale without quantity, category or title, and an empty ship_to
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price, ship_to)
VALUES ('BI-unknown', '2030-06-01 12:00+08', 'i', 0, '');
-- a return without outcome or delivery date, a complaint without channel
INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES ('BI-1', '2030-06-02 12:00+08', NULL);
INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES ('BI-1', '2030-06-02 12:00+08');
-- a list entry removed the day it was listed (in force on no day)
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on, removed_on)
VALUES ('BI-1', 'abnormal', '2030-06-01', '2030-06-01');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('BI-1', '2030-06-01 12:00+08', 'i', 1);
SELECT operator_id, unit_price, quantity, category, ship_to
  FROM credit_sandbox.transactions WHERE operator_id LIKE 'BI-%' ORDER BY operator_id;
SELECT operator_id, code, list, subject_key, hits, evidence
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'BI-%' ORDER BY operator_id, code;
-- a warning's status is one of the five
UPDATE credit_sandbox.warnings SET status = 'done' WHERE operator_id = 'BI-unknown';
\echo :LAST_ERROR_SQLSTATE
SELECT cs_test_cleanup('BI-');
