\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.4'" to load this file. \quit

-- credit_sandbox 0.1 -> 0.4: production readiness.  A new install runs
-- credit_sandbox--0.1.sql and then this script.

-- ===== replay

-- Stored rows of [since, until) judged again, table by table in id order,
-- against the current rules or a proposed change of them; writes nothing.
CREATE FUNCTION credit_sandbox.replay(since timestamptz DEFAULT '-infinity',
                                      until timestamptz DEFAULT 'infinity',
                                      rules jsonb DEFAULT NULL)
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, list text,
                   subject_key text, occurred_at timestamptz, rule_version integer,
                   first_hit boolean, evidence jsonb)
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_replay';
COMMENT ON FUNCTION credit_sandbox.replay(timestamptz, timestamptz, jsonb) IS
    'The hits the stored rows of [since, until) give, replayed in id order; rules: a proposed change, e.g. {"RL04": {"threshold": 5}, "RL06": {"enabled": false}} (rule_version NULL for changed rules). Writes nothing.';

-- Every stored row of the range whose logged hits differ from a replay under
-- the current rules: 'missing' (a hit the replay gives and the log lacks) or
-- 'extra' (a logged hit the replay does not give).  None on a healthy
-- database whose rules did not change over the range.
CREATE FUNCTION credit_sandbox.check_consistency(since timestamptz DEFAULT '-infinity',
                                                 until timestamptz DEFAULT 'infinity')
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH replayed AS (
        SELECT r.source_table, r.source_id, r.operator_id, r.code
          FROM credit_sandbox.replay(since, until) r
    ), logged AS (
        SELECT h.source_table, h.source_id, w.operator_id, w.code
          FROM credit_sandbox.warning_hits h
          JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id
         WHERE h.source_table IN ('transactions', 'returns', 'complaints')
           AND h.hit_at >= since AND h.hit_at < until
    ), missing AS (
        SELECT * FROM replayed EXCEPT SELECT * FROM logged
    ), extra AS (
        SELECT * FROM logged EXCEPT SELECT * FROM replayed
    )
    SELECT m.*, 'missing' FROM missing m
    UNION ALL
    SELECT e.*, 'extra' FROM extra e
    ORDER BY 1, 2, 4
$$;
COMMENT ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) IS
    'Stored rows of [since, until) whose logged hits differ from a replay under the current rules: problem ''missing'' or ''extra''.';

REVOKE ALL ON FUNCTION credit_sandbox.replay(timestamptz, timestamptz, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) FROM PUBLIC;

-- ===== scaling out

-- Each hit names its operator: the column a sharded deployment distributes
-- the hit log by, co-located with warnings (README, "Partitioning and
-- scaling out").  The row driver writes it keyed by that operator alone.
ALTER TABLE credit_sandbox.warning_hits ADD COLUMN operator_id text;
UPDATE credit_sandbox.warning_hits h SET operator_id = w.operator_id
  FROM credit_sandbox.warnings w WHERE w.warning_id = h.warning_id;
-- NOT VALID: a hit whose warning was deleted before the update keeps NULL
ALTER TABLE credit_sandbox.warning_hits ADD CONSTRAINT warning_hits_operator_id_not_null
    CHECK (operator_id IS NOT NULL) NOT VALID;

-- ===== privileges
-- Three kinds of user (README, "Privileges"): the platforms' applications
-- insert rows, analysts read the views, administrators edit the rules and
-- lists and run grading, renewal, escalation and draws.  No role may write
-- what the extension derives (warnings, hits, grades, memberships, draws,
-- rule history): only its functions do, as the extension's owner.

-- Who did it is the login (session_user).  Inside the SECURITY DEFINER
-- functions below current_user is the extension's owner, and a member who
-- SET ROLE to a shared group role must still be recorded by name.
ALTER TABLE credit_sandbox.rules ALTER COLUMN changed_by SET DEFAULT SESSION_USER;
ALTER TABLE credit_sandbox.sandbox_memberships ALTER COLUMN admitted_by SET DEFAULT SESSION_USER;
ALTER TABLE credit_sandbox.inspection_draws ALTER COLUMN drawn_by SET DEFAULT SESSION_USER;

-- Internal: the status changes it allows are the caller's to choose, so it is
-- granted to nobody; acknowledge, record_correction and close_warning use it.
CREATE OR REPLACE FUNCTION credit_sandbox.change_warning_status(warning_id bigint, from_status text[], to_status text,
                                                                note text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    w credit_sandbox.warnings;
BEGIN
    SELECT * INTO w FROM credit_sandbox.warnings x WHERE x.warning_id = change_warning_status.warning_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % does not exist', change_warning_status.warning_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM credit_sandbox.lock_operator(w.operator_id);
    UPDATE credit_sandbox.warnings x
       SET status = to_status, status_changed_at = pg_catalog.now(), status_changed_by = SESSION_USER,
           status_note = coalesce(note, x.status_note)
     WHERE x.warning_id = w.warning_id AND x.status = ANY (from_status);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % is %, not %', w.warning_id,
              (SELECT x.status FROM credit_sandbox.warnings x WHERE x.warning_id = w.warning_id),
              array_to_string(from_status, ' or ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A warning goes open -> acknowledged -> corrected or escalated -> closed.';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION credit_sandbox.admit(operator_id text) RETURNS boolean
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    g credit_sandbox.operator_grades;
BEGIN
    IF NOT EXISTS (SELECT FROM credit_sandbox.operators o WHERE o.operator_id = admit.operator_id) THEN
        RAISE EXCEPTION 'operator "%" does not exist', admit.operator_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Insert the operator into credit_sandbox.operators first.';
    END IF;
    PERFORM credit_sandbox.lock_operator(admit.operator_id);
    PERFORM credit_sandbox.grade(admit.operator_id);
    SELECT * INTO g FROM credit_sandbox.operator_grades x
     WHERE x.operator_id = admit.operator_id ORDER BY x.grade_id DESC LIMIT 1;
    IF g.class <> 'A' THEN
        RAISE EXCEPTION 'operator "%" is class %, and only class A enters the sandbox', admit.operator_id, g.class
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Score %s; hard rules: %s.', g.score,
                                  coalesce((SELECT string_agg(r, '; ') FROM jsonb_array_elements_text(g.hard_rules) r), 'none')),
                  HINT = 'See credit_sandbox.operator_grades for the indicators behind the class.';
    END IF;
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
    VALUES (admit.operator_id, format('admitted by %s: class A, score %s', SESSION_USER, g.score))
    ON CONFLICT (operator_id) WHERE exited_at IS NULL DO NOTHING;
    RETURN FOUND;
END $$;

-- Run as the extension's owner (SECURITY DEFINER), as the checks' trigger does
-- (in C, see below): the functions that write what no role may write
-- (grades, memberships, warnings, draws, rule history, the event tables'
-- triggers), and the readers an analyst may call without table grants.
-- Each pins its search_path (the sql and plpgsql ones already did), so that
-- no caller's schema can put its operators or functions into the owner's
-- queries.  A later CREATE OR REPLACE of one of them must say SECURITY
-- DEFINER again (test/privileges.sql notices if it does not).
ALTER FUNCTION credit_sandbox.grade(text, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.regrade(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.grade_ungraded(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.escalate_overdue(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.admit(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.renew_sandbox(timestamptz) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.acknowledge(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.record_correction(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.close_warning(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.draw_inspections(text, jsonb, int) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.set_driver(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.rules_record_version() SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.in_sandbox(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.sandbox_members_at(timestamptz) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.verify_draw(bigint) SECURITY DEFINER;
-- The checks' trigger switches to its owner and to pg_catalog in C
-- (src/trigger.c): the same effect, without setting search_path on every call.
ALTER FUNCTION credit_sandbox.check_rows() SECURITY INVOKER RESET search_path;

-- Creates the three group roles (NOLOGIN) that do not exist yet and grants
-- them what they need; the DBA then grants membership to login roles.  Give
-- other names to grant to roles of one's own.  Idempotent: run it again after
-- ALTER EXTENSION UPDATE, which may add views.  Returns the statements it ran.
-- Not at CREATE EXTENSION: roles are cluster-wide, and which roles a
-- cluster has is the DBA's decision.
CREATE FUNCTION credit_sandbox.create_roles(app name DEFAULT 'credit_sandbox_app',
                                            analyst name DEFAULT 'credit_sandbox_analyst',
                                            admin name DEFAULT 'credit_sandbox_admin') RETURNS SETOF text
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text;
BEGIN
    IF NOT (SELECT pg_has_role(e.extowner, 'USAGE') FROM pg_extension e WHERE e.extname = 'credit_sandbox') THEN
        RAISE EXCEPTION 'only the owner of extension credit_sandbox may create its roles'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOREACH s IN ARRAY ARRAY[app, analyst, admin] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = s) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', s);
            RETURN NEXT format('CREATE ROLE %I NOLOGIN', s);
        END IF;
    END LOOP;
    FOREACH s IN ARRAY ARRAY[
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I, %I, %I', app, analyst, admin),
        -- the platforms: insert events and operator data, read nothing back
        -- but the generated keys (INSERT ... RETURNING)
        format('GRANT INSERT ON credit_sandbox.transactions, credit_sandbox.returns, credit_sandbox.complaints,'
               ' credit_sandbox.operators, credit_sandbox.operator_lists TO %I', app),
        format('GRANT SELECT (txn_id) ON credit_sandbox.transactions TO %I', app),
        format('GRANT SELECT (return_id) ON credit_sandbox.returns TO %I', app),
        format('GRANT SELECT (complaint_id) ON credit_sandbox.complaints TO %I', app),
        format('GRANT SELECT (list_entry_id) ON credit_sandbox.operator_lists TO %I', app),
        -- analysts: every view, and the readers that need no base table
        format('GRANT SELECT ON %s TO %I',
               (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
                 WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('v', 'm')), analyst),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz),'
               ' credit_sandbox.verify_draw(bigint) TO %I, %I', analyst, admin),
        -- administrators: read everything; edit operators, lists, rules,
        -- grading and inspectors; never the events or what is derived
        format('GRANT SELECT ON ALL TABLES IN SCHEMA credit_sandbox TO %I', admin),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operators, credit_sandbox.operator_lists,'
               ' credit_sandbox.regulated_categories, credit_sandbox.prohibited_categories,'
               ' credit_sandbox.prohibited_terms, credit_sandbox.absolute_terms,'
               ' credit_sandbox.return_exempt_categories, credit_sandbox.reference_prices,'
               ' credit_sandbox.inspectors, credit_sandbox.inspector_conflicts TO %I', admin),
        format('GRANT UPDATE ON credit_sandbox.rules, credit_sandbox.grading_weights,'
               ' credit_sandbox.grade_boundaries TO %I', admin),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.grade(text, timestamptz), credit_sandbox.regrade(timestamptz),'
               ' credit_sandbox.grade_ungraded(timestamptz), credit_sandbox.admit(text),'
               ' credit_sandbox.renew_sandbox(timestamptz), credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text), credit_sandbox.close_warning(bigint, text),'
               ' credit_sandbox.escalate_overdue(timestamptz), credit_sandbox.draw_inspections(text, jsonb, int),'
               ' credit_sandbox.set_driver(text), credit_sandbox.replay(timestamptz, timestamptz, jsonb),'
               ' credit_sandbox.check_consistency(timestamptz, timestamptz) TO %I', admin)] LOOP
        EXECUTE s;
        RETURN NEXT s;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION credit_sandbox.create_roles(name, name, name) FROM PUBLIC;

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
