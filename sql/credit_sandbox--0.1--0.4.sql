\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.4'" to load this file. \quit

-- credit_sandbox 0.1 -> 0.4: production readiness.  A new install runs
-- credit_sandbox--0.1.sql and then this script.

-- ===== operations

-- Rows removed from the tables CREATE EXTENSION fills with defaults.  A
-- restore runs CREATE EXTENSION, which installs every default again, before
-- the dump's rows arrive: without this record a default the DBA had removed
-- would come back (a term no longer prohibited would warn again).  A
-- restored record removes its row again; a row inserted again drops its
-- record.  removed_at and removed_by are NULL for a removal made before 0.4.
CREATE TABLE credit_sandbox.removed_rows (
    table_name  name NOT NULL,
    key         jsonb NOT NULL,
    removed_at  timestamptz DEFAULT pg_catalog.now(),
    removed_by  name DEFAULT CURRENT_USER,
    PRIMARY KEY (table_name, key)
);
COMMENT ON TABLE credit_sandbox.removed_rows IS
    'Default rows the DBA removed (key = the row''s primary key as JSON); a restore removes them again.';

-- The primary key of a row of table tab, as a JSON object: {"term": "ivory"}.
CREATE FUNCTION credit_sandbox.primary_key_of(tab regclass, row_data jsonb) RETURNS jsonb
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_object_agg(a.attname, row_data -> a.attname::text)
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = tab AND i.indisprimary
$$;

-- AFTER INSERT, UPDATE or DELETE (with transition tables) and BEFORE
-- TRUNCATE, per statement: the keys that left the table are recorded, the
-- keys that entered it forgotten.  SECURITY DEFINER: a DBA allowed to edit a
-- list need not be allowed to write the record.
CREATE FUNCTION credit_sandbox.record_removed_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key_of text := format('credit_sandbox.primary_key_of(%s, to_jsonb(x))', TG_RELID);
    gone text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        gone := format('SELECT %s FROM %s x', key_of,
                       CASE WHEN TG_OP = 'TRUNCATE' THEN TG_RELID::regclass::text ELSE 'old_rows' END);
        -- an UPDATE that keeps a key removes nothing
        IF TG_OP = 'UPDATE' THEN
            gone := gone || format(' EXCEPT SELECT %s FROM new_rows x', key_of);
        END IF;
        -- (a record written by hand removed the row, and is there already)
        EXECUTE format('INSERT INTO credit_sandbox.removed_rows (table_name, key) SELECT %L, k FROM (%s) AS g(k)'
                       ' ON CONFLICT DO NOTHING', TG_TABLE_NAME, gone);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('DELETE FROM credit_sandbox.removed_rows r WHERE r.table_name = %L'
                       ' AND r.key IN (SELECT %s FROM new_rows x)', TG_TABLE_NAME, key_of);
    END IF;
    RETURN NULL;
END $$;

-- AFTER INSERT on removed_rows: the recorded row goes (again).  Only one row
-- of a table whose removals are recorded, named by its whole primary key: a
-- record cannot empty a table or reach the warnings.
CREATE FUNCTION credit_sandbox.remove_recorded_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab regclass := to_regclass(format('credit_sandbox.%I', NEW.table_name));
BEGIN
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = tab AND t.tgname = 'record_removed_rows')
       OR NEW.key IS DISTINCT FROM credit_sandbox.primary_key_of(tab, NEW.key) THEN
        RAISE EXCEPTION 'removed_rows: % % is not the primary key of a table filled with defaults',
                        NEW.table_name, NEW.key
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Record rows of rules, the reference lists, grading_weights or grade_boundaries.';
    END IF;
    EXECUTE format('DELETE FROM %s t WHERE to_jsonb(t) @> $1', tab) USING NEW.key;
    RETURN NULL;
END $$;
CREATE TRIGGER remove_recorded_row AFTER INSERT ON credit_sandbox.removed_rows
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.remove_recorded_row();
-- a restore runs as replica (README): the record must still take effect
ALTER TABLE credit_sandbox.removed_rows ENABLE ALWAYS TRIGGER remove_recorded_row;

-- Ordinary (ORIGIN) triggers: under replica a restore or a subscriber
-- brings the records themselves.
DO $$
DECLARE
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['rules', 'regulated_categories', 'prohibited_categories', 'prohibited_terms',
                               'absolute_terms', 'return_exempt_categories', 'grading_weights',
                               'grade_boundaries'] LOOP
        EXECUTE format('CREATE TRIGGER record_removed_rows AFTER DELETE ON credit_sandbox.%I'
                       ' REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE format('CREATE TRIGGER record_inserted_rows AFTER INSERT ON credit_sandbox.%I'
                       ' REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE format('CREATE TRIGGER record_updated_rows AFTER UPDATE ON credit_sandbox.%I'
                       ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE format('CREATE TRIGGER record_truncated_rows BEFORE TRUNCATE ON credit_sandbox.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
    END LOOP;
END $$;

-- Updating from 0.1, whose removals were not recorded: every 0.1 default
-- missing now was removed (nothing is missing on a new install).
DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM (VALUES
            ('rules', 'code', '{RL01,RL02,RL03,RL04,RL05,RL06,RL07,RL08,RL09,TP01}'::text[]),
            ('regulated_categories', 'category', '{food,alcohol,medicine,medical_device,tobacco}'),
            ('prohibited_categories', 'category', '{firearms,wildlife_products,counterfeit_currency}'),
            ('prohibited_terms', 'term', '{象牙,仿真枪,假币,穿山甲,ivory,"replica gun"}'),
            ('absolute_terms', 'term', '{最佳,国家级,第一,最高级,顶级,"best in the world",No.1}'),
            ('return_exempt_categories', 'category', '{custom_made,fresh_produce,digital_goods,opened_software}'),
            ('grading_weights', 'indicator', '{no_valid_licence,registered_under_a_year,abnormal_list,dishonest_list,'
                                             'warning_clues,admin_tips,open_warning_clues,'
                                             'complaints_per_1000_orders,refusals_per_1000_orders}'),
            ('grade_boundaries', 'class', '{A,B,C}')) AS v(tab, key_column, keys) LOOP
        EXECUTE format('INSERT INTO credit_sandbox.removed_rows (table_name, key, removed_at, removed_by)
                        SELECT %L, jsonb_build_object(%L, k), NULL, NULL FROM unnest($1) AS k
                         WHERE NOT EXISTS (SELECT FROM credit_sandbox.%I t WHERE t.%I = k)',
                       d.tab, d.key_column, d.tab, d.key_column) USING d.keys;
    END LOOP;
END $$;

SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.removed_rows', '');
REVOKE ALL ON TABLE credit_sandbox.removed_rows FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_sandbox.primary_key_of(regclass, jsonb), credit_sandbox.record_removed_rows(),
                       credit_sandbox.remove_recorded_row() FROM PUBLIC;
