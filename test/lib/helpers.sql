-- helpers.sql -- the pgTAP helper library, included with \ir lib/helpers.sql by every
-- pgTAP file that makes operators, sales, returns, complaints or list entries, or reads
-- warnings, stays and grades back.  Routines in pg_temp, gone with the session.
-- A file keeps a helper of its own only when no helper here does the same thing.
--
--   add_operator(id, registered, licence, permits, region)   a registered operator
--   admit_new_operator(id, licence, region)                   one, admitted (admit() must say true)
--   add_list_entry(op, list, listed, removed)                 on the abnormal or dishonest list
--   add_sale(op, at, item, title, cat, price, lp, ship)       one sale, one INSERT
--   add_sale_series(op, first, n, step, ship)                 n sales, one INSERT each
--   add_sales_in_one_insert(op, first, n)                     n sales, one INSERT
--   add_return(op, delivered, requested, outcome, cat)        one return
--   add_complaints(op, at, n, step)                           n complaints, one INSERT each
--   warning_count(op, code)                                   warnings of an operator and code
--   latest_warning(op, code, subject_key, list)               NULL arguments match anything
--   latest_stay(op), latest_grade(op)                         sandbox_memberships, operator_grades
--   error_fields(sql)                                         {SQLSTATE, message, detail, hint} of its error
--   session_connstr()                                         this database, for a dblink session that commits
--   delete_operator_rows_sql(pattern)                         SQL deleting those operators' rows everywhere
--
-- Procedures where nothing is read back, so that CALL prints nothing between the TAP
-- lines.  Parameters after the first two are usually given by name (item => 'ad').

-- ------------------------------------------------------------------ operators
CREATE PROCEDURE pg_temp.add_operator(id text, registered date DEFAULT '2020-01-01',
                                      licence date DEFAULT '2031-12-31', permits text[] DEFAULT '{}',
                                      region text DEFAULT 'Test')
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
    VALUES (id, 'test ' || id, region, registered, licence, permits) $$;
-- admit() grades as of now(): an operator registered years ago with a valid licence and
-- nothing recorded is class A, so admission failing is a broken fixture, not a result
CREATE PROCEDURE pg_temp.admit_new_operator(id text, licence date DEFAULT '2031-12-31', region text DEFAULT 'Test')
LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.add_operator(id, licence => licence, region => region);
    IF NOT credit_sandbox.admit(id) THEN
        RAISE EXCEPTION 'setup: % was not admitted', id;
    END IF;
END $$;
CREATE PROCEDURE pg_temp.add_list_entry(op text, list text, listed date, removed date DEFAULT NULL)
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on, removed_on)
    VALUES (op, list, listed, removed) $$;

-- ------------------------------------------------------------------ sales, returns, complaints
CREATE PROCEDURE pg_temp.add_sale(op text, at timestamptz, item text DEFAULT 'i', title text DEFAULT 'plain item',
                                  cat text DEFAULT 'misc', price numeric DEFAULT 10,
                                  lp numeric DEFAULT NULL, ship text DEFAULT NULL)
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title,
                                             category, quantity, unit_price, list_price)
    VALUES (op, at, 'b', ship, item, title, cat, 1, price, lp) $$;
-- at first, first + step, ...: one statement per sale, as a platform sending rows one by one
CREATE PROCEDURE pg_temp.add_sale_series(op text, first timestamptz, n int, step interval, ship text DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    FOR g IN 0 .. n - 1 LOOP
        CALL pg_temp.add_sale(op, first + g * step, ship => ship);
    END LOOP;
END $$;
-- one a minute from first, each to another buyer: volume for the per-1000-orders indicators
CREATE PROCEDURE pg_temp.add_sales_in_one_insert(op text, first timestamptz, n int)
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, item_id, item_title, category,
                                             quantity, unit_price)
    SELECT op, first + g * interval '1 minute', 'b' || g, 'i', 'plain item', 'misc', 1, 10
      FROM generate_series(0, n - 1) g $$;
CREATE PROCEDURE pg_temp.add_return(op text, delivered timestamptz, requested timestamptz,
                                    outcome text DEFAULT 'refused', cat text DEFAULT 'misc')
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.returns (txn_id, operator_id, category, delivered_at, requested_at, outcome)
    VALUES (NULL, op, cat, delivered, requested, outcome) $$;
-- at, at + step, ...: one statement per complaint
CREATE PROCEDURE pg_temp.add_complaints(op text, at timestamptz, n int DEFAULT 1, step interval DEFAULT '0')
LANGUAGE plpgsql AS $$
BEGIN
    FOR g IN 0 .. n - 1 LOOP
        INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel, category)
        VALUES (op, at + g * step, 'web', 'quality');
    END LOOP;
END $$;

-- ------------------------------------------------------------------ reading back
-- warnings of an operator and code, any list, any status
CREATE FUNCTION pg_temp.warning_count(op text, code text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM credit_sandbox.warnings w WHERE w.operator_id = op AND w.code = warning_count.code $$;
-- the latest warning of an operator; code, subject_key and list narrow it when not NULL
CREATE FUNCTION pg_temp.latest_warning(op text, code text DEFAULT NULL, subject_key text DEFAULT NULL,
                                       list text DEFAULT NULL)
RETURNS credit_sandbox.warnings LANGUAGE sql AS
$$ SELECT * FROM credit_sandbox.warnings w
    WHERE w.operator_id = op
      AND (latest_warning.code IS NULL OR w.code = latest_warning.code)
      AND (latest_warning.subject_key IS NULL OR w.subject_key = latest_warning.subject_key)
      AND (latest_warning.list IS NULL OR w.list = latest_warning.list)
    ORDER BY w.warning_id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.latest_stay(op text) RETURNS credit_sandbox.sandbox_memberships LANGUAGE sql AS
$$ SELECT * FROM credit_sandbox.sandbox_memberships WHERE operator_id = op ORDER BY membership_id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.latest_grade(op text) RETURNS credit_sandbox.operator_grades LANGUAGE sql AS
$$ SELECT * FROM credit_sandbox.operator_grades WHERE operator_id = op ORDER BY grade_id DESC LIMIT 1 $$;

-- ------------------------------------------------------------------ errors
-- {SQLSTATE, message, detail, hint} of the error a statement raises, NULL when it raises
-- none (its effects are then kept): for the detail and hint throws_ok does not check
CREATE FUNCTION pg_temp.error_fields(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
    hin text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hin = PG_EXCEPTION_HINT;
    RETURN ARRAY[st, msg, nullif(det, ''), nullif(hin, '')];
END $$;
-- ------------------------------------------------------------------ sessions that commit (dblink)
CREATE FUNCTION pg_temp.session_connstr() RETURNS text LANGUAGE sql AS $$
    SELECT format('dbname=%s user=%s port=%s host=%s', current_database(), current_user, current_setting('port'),
                  trim(split_part(current_setting('unix_socket_directories'), ',', 1))) $$;
-- a DO block that deletes the rows of the operators whose id is LIKE pattern from every
-- table of the extension, for a session of their own to run before and after a test
CREATE FUNCTION pg_temp.delete_operator_rows_sql(pattern text) RETURNS text LANGUAGE sql AS $$
    SELECT format($sql$
    DO $do$
    DECLARE
        t regclass;
    BEGIN
        FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r' AND c.relname <> 'warnings'
                    AND c.relname <> 'warning_status_history'  -- append-only: its rows stay
                    AND a.attname = 'warning_id' AND NOT a.attisdropped
                    AND NOT EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'operator_id')
        LOOP
            EXECUTE format('DELETE FROM %%s WHERE warning_id IN (SELECT w.warning_id FROM credit_sandbox.warnings w
                                                                 WHERE w.operator_id LIKE %%L)', t, %1$L);
        END LOOP;
        FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r'
                    AND a.attname = 'operator_id' AND NOT a.attisdropped
        LOOP
            EXECUTE format('DELETE FROM %%s WHERE operator_id LIKE %%L', t, %1$L);
        END LOOP;
    END $do$ $sql$, pattern) $$;
