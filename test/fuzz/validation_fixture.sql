CREATE EXTENSION credit_sandbox
INSERT INTO credit_sandbox.operators VALUES ('FZ-1', 'fuzz', 'Test', '2020-01-01', '2030-06-10', '{}')
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('FZ-1', 'abnormal', '2030-01-01')
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('FZ-item', 100)
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, category, quantity, unit_price) SELECT 'FZ-1', timestamptz '2030-06-01 12:00+08' - g * interval '1 hour', 'FZ-addr', 'FZ-item', 'plain', 'books', 1, 150 FROM generate_series(1, 10) g
INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome) SELECT 'FZ-1', 'misc', t - interval '2 days', t, 'refused' FROM (SELECT timestamptz '2030-06-01 12:00+08' - g * interval '1 day' AS t FROM generate_series(1, 3) g) x
INSERT INTO credit_sandbox.complaints (operator_id, received_at) SELECT 'FZ-1', timestamptz '2030-06-01 12:00+08' - g * interval '1 day' FROM generate_series(1, 60) g
SELECT credit_sandbox.grade('FZ-1', '2030-06-02 00:00+08')
CREATE FUNCTION credit_sandbox_fuzz_validation(text[]) RETURNS int LANGUAGE c AS '$libdir/credit_sandbox', 'credit_sandbox_fuzz_validation'
