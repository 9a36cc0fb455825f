-- fixtures.sql -- included by the pgTAP files (\ir lib/fixtures.sql) inside their
-- transaction: rules and settings at their defaults, the statement driver, and
-- helper routines in pg_temp.

-- ------------------------------------------------------------------ defaults
UPDATE credit_sandbox.rules SET enabled = true, params = d.p, tolerable = d.t, list = d.l
  FROM (VALUES ('RL01', '{}'::jsonb, false, 'risk_trigger'), ('RL02', '{}', false, 'risk_trigger'),
               ('RL03', '{}', false, 'risk_trigger'),
               ('RL04', '{"window":"24 hours","threshold":8}', false, 'risk_trigger'),
               ('RL05', '{"lookback":"7 days"}', true, 'risk_trigger'), ('RL06', '{}', true, 'risk_trigger'),
               ('RL07', '{"return_period":"7 days","window":"30 days","threshold":1}', true, 'risk_trigger'),
               ('RL08', '{"window":"30 days","baseline":"90 days","threshold":5,"factor":3}', false, 'risk_trigger'),
               ('RL09', '{"max_markup_pct":50}', false, 'risk_trigger'),
               ('TP01', '{"expires_within":"30 days"}', false, 'admin_tip')) d(c, p, t, l)
 WHERE rules.code = d.c;
SET LOCAL credit_sandbox.time_zone = 'Asia/Shanghai';
SET LOCAL credit_sandbox.tolerance_window = '365 days';
SET LOCAL credit_sandbox.correction_period = '7 days';
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;

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
