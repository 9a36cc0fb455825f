\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.4'" to load this file. \quit

-- credit_sandbox 0.1 -> 0.4: production readiness.  A new install runs
-- credit_sandbox--0.1.sql and then this script.

-- ===== hostile input
-- numeric has held 'Infinity' since PostgreSQL 14, and the 0.1 checks (>= 0, not
-- NaN) let it through: a sale at an infinite price was stored, and an infinite list
-- price made the evidence of its RL05 hit invalid JSON.  Prices are finite.
-- NOT VALID: updating never scans or fails on the rows already stored; every new
-- row is checked.
ALTER TABLE credit_sandbox.transactions
    ADD CONSTRAINT transactions_unit_price_finite CHECK (unit_price <> 'Infinity') NOT VALID,
    ADD CONSTRAINT transactions_list_price_finite CHECK (list_price <> 'Infinity') NOT VALID;
ALTER TABLE credit_sandbox.reference_prices
    ADD CONSTRAINT reference_prices_price_finite CHECK (price <> 'Infinity') NOT VALID;
