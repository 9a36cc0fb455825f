-- helpers.sql -- included by the red-line pgTAP files (\ir lib/helpers.sql): routines in
-- pg_temp that insert operators and events and read warnings back.

-- ------------------------------------------------------------------ helpers
-- procedures, so that CALL prints nothing between the TAP lines
CREATE PROCEDURE pg_temp.op(id text, licence date DEFAULT '2031-12-31', registered date DEFAULT '2020-01-01',
                            permits text[] DEFAULT '{}')
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
    VALUES (id, 'test ' || id, 'Test', registered, licence, permits) $$;
-- one sale, one INSERT statement
CREATE PROCEDURE pg_temp.tx(op text, at timestamptz, item text DEFAULT 'i', title text DEFAULT 'plain item',
                            cat text DEFAULT 'misc', price numeric DEFAULT 10,
                            lp numeric DEFAULT NULL, ship text DEFAULT NULL)
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title,
                                             category, quantity, unit_price, list_price)
    VALUES (op, at, 'b', ship, item, title, cat, 1, price, lp) $$;
-- n sales at first, first + step, ..., one INSERT statement each
CREATE PROCEDURE pg_temp.tx_series(op text, first timestamptz, step interval, n int, ship text DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    FOR g IN 0 .. n - 1 LOOP
        CALL pg_temp.tx(op, first + g * step, ship => ship);
    END LOOP;
END $$;
CREATE PROCEDURE pg_temp.ret(op text, delivered timestamptz, requested timestamptz, outcome text DEFAULT 'refused',
                             cat text DEFAULT 'misc')
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.returns (txn_id, operator_id, category, delivered_at, requested_at, outcome)
    VALUES (NULL, op, cat, delivered, requested, outcome) $$;
CREATE PROCEDURE pg_temp.cmp(op text, at timestamptz, n int DEFAULT 1, step interval DEFAULT '0')
LANGUAGE plpgsql AS $$
BEGIN
    FOR g IN 0 .. n - 1 LOOP
        INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel, category)
        VALUES (op, at + g * step, 'web', 'quality');
    END LOOP;
END $$;
-- number of warnings (any list, any status) of an operator and code
CREATE FUNCTION pg_temp.n(op text, c text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = op AND code = c $$;
-- the latest warning of an operator, code and key
CREATE FUNCTION pg_temp.w(op text, c text, k text) RETURNS credit_sandbox.warnings LANGUAGE sql AS
$$ SELECT * FROM credit_sandbox.warnings WHERE operator_id = op AND code = c AND subject_key = k
   ORDER BY warning_id DESC LIMIT 1 $$;
