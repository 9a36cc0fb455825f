\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.5'" to load this file. \quit

-- credit_sandbox 0.4 -> 0.5: the supervised platform cannot steer its own
-- checks (README, "Privileges" and "Whose data").

-- ===== generated keys and the regulator's data
-- A platform inserts every column of an event but its generated key, so a
-- row's place among the rows before it is the order the database received
-- it in, and no platform can take a key another's insert will be given.
-- Of an operator it registers the id, name and region; registration dates,
-- licences, permits and the lists are the regulator's (the admin role's).

-- The columns of an event table a platform inserts: all but the identity key.
CREATE FUNCTION credit_sandbox.platform_columns(tab regclass) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tab AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''
$$;
COMMENT ON FUNCTION credit_sandbox.platform_columns(regclass) IS
    'The columns of an event table the platforms insert: every column but the generated key.';
REVOKE ALL ON FUNCTION credit_sandbox.platform_columns(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION credit_sandbox.create_roles(app name DEFAULT 'credit_sandbox_app',
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
        -- the platforms: insert events, every column but the generated key,
        -- which they may only read back from their own insert (INSERT ...
        -- RETURNING, see src/key_readback.c); register an operator's id,
        -- name and region; nothing of the regulator's (licences, permits,
        -- registration dates, the lists).  Table-level grants of older
        -- versions are revoked first.
        format('REVOKE INSERT, SELECT ON credit_sandbox.transactions, credit_sandbox.returns,'
               ' credit_sandbox.complaints, credit_sandbox.operators, credit_sandbox.operator_lists FROM %I', app),
        format('REVOKE SELECT (list_entry_id) ON credit_sandbox.operator_lists FROM %I', app),
        format('GRANT INSERT (%s), SELECT (txn_id) ON credit_sandbox.transactions TO %I',
               credit_sandbox.platform_columns('credit_sandbox.transactions'), app),
        format('GRANT INSERT (%s), SELECT (return_id) ON credit_sandbox.returns TO %I',
               credit_sandbox.platform_columns('credit_sandbox.returns'), app),
        format('GRANT INSERT (%s), SELECT (complaint_id) ON credit_sandbox.complaints TO %I',
               credit_sandbox.platform_columns('credit_sandbox.complaints'), app),
        format('GRANT INSERT (operator_id, name, region) ON credit_sandbox.operators TO %I', app),
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

-- Grants made under 0.4 (by create_roles or by hand): a role that could insert
-- whole rows of an event table now inserts every column but the key; one that
-- inserts operators without being allowed to update them (a platform, not the
-- regulator) registers id, name and region only, and loses the lists.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT c.oid::regclass AS tab, c.relname, a.grantee::regrole AS grantee
               FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
              WHERE c.relnamespace = 'credit_sandbox'::regnamespace
                AND c.relname IN ('transactions', 'returns', 'complaints', 'operators', 'operator_lists')
                AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner AND a.grantee <> 0
                AND NOT (c.relname IN ('operators', 'operator_lists')
                         AND pg_catalog.has_table_privilege(a.grantee, c.oid, 'UPDATE')) LOOP
        EXECUTE pg_catalog.format('REVOKE INSERT ON %s FROM %s', g.tab, g.grantee);
        IF g.relname = 'operators' THEN
            EXECUTE pg_catalog.format('GRANT INSERT (operator_id, name, region) ON %s TO %s', g.tab, g.grantee);
        ELSIF g.relname = 'operator_lists' THEN
            EXECUTE pg_catalog.format('REVOKE SELECT (list_entry_id) ON %s FROM %s', g.tab, g.grantee);
        ELSE
            EXECUTE pg_catalog.format('GRANT INSERT (%s) ON %s TO %s',
                                      credit_sandbox.platform_columns(g.tab), g.tab, g.grantee);
        END IF;
    END LOOP;
END $$;

-- ===== keys that fit the indexes
-- A key longer than an index entry can hold failed with a B-tree error
-- (54000) naming no column; now a named constraint says which (23514).
ALTER TABLE credit_sandbox.transactions
    ADD CONSTRAINT transactions_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    ADD CONSTRAINT transactions_item_id_length CHECK (pg_catalog.octet_length(item_id) <= 512),
    ADD CONSTRAINT transactions_ship_to_length CHECK (pg_catalog.octet_length(ship_to) <= 512);
ALTER TABLE credit_sandbox.returns
    ADD CONSTRAINT returns_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256);
ALTER TABLE credit_sandbox.complaints
    ADD CONSTRAINT complaints_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256);
ALTER TABLE credit_sandbox.operators
    ADD CONSTRAINT operators_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256);
ALTER TABLE credit_sandbox.operator_lists
    ADD CONSTRAINT operator_lists_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256);

-- ===== warnings, and views that are barriers
-- hits counts past 2^31.  open_warnings shows the column, so it is made
-- again, keeping its grants.  Every view is a security barrier: an analyst's
-- function in a WHERE clause sees only the rows the view returns, whatever
-- cost it claims.
DO $$
DECLARE
    acl aclitem[] := (SELECT c.relacl FROM pg_catalog.pg_class c
                       WHERE c.oid = 'credit_sandbox.open_warnings'::regclass);
    g record;
BEGIN
    DROP VIEW credit_sandbox.open_warnings;
    ALTER TABLE credit_sandbox.warnings ALTER COLUMN hits TYPE bigint;
    CREATE VIEW credit_sandbox.open_warnings WITH (security_barrier) AS
    SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
           w.list, w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.raised_at, w.due_at,
           w.rule_version, r.tolerable, w.evidence, w.source_table, w.source_id,
           (o.operator_id IS NOT NULL) AS registered,
           EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                    WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
      FROM credit_sandbox.warnings w
      LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
      LEFT JOIN credit_sandbox.rules r ON r.code = w.code
     WHERE w.status IN ('open', 'acknowledged');
    FOR g IN SELECT a.grantee::regrole AS grantee, a.privilege_type
               FROM pg_catalog.aclexplode(acl) a WHERE a.grantee <> a.grantor LOOP
        EXECUTE pg_catalog.format('GRANT %s ON credit_sandbox.open_warnings TO %s', g.privilege_type, g.grantee);
    END LOOP;
END $$;
COMMENT ON VIEW credit_sandbox.open_warnings IS
    'Open and acknowledged warning clues and tips, with the operator and the rule.';
ALTER VIEW credit_sandbox.no_disturbance SET (security_barrier);
ALTER VIEW credit_sandbox.operator_risk SET (security_barrier);
ALTER VIEW credit_sandbox.rule_hits_daily SET (security_barrier);
ALTER VIEW credit_sandbox.summary SET (security_barrier);
ALTER VIEW credit_sandbox.operator_classes SET (security_barrier);

-- ===== membership and grading under the operators' locks
-- Stays are stamped when the operator's lock is held, not when the
-- transaction began: stays of one operator follow each other and never
-- overlap, and none ends before it began.
ALTER TABLE credit_sandbox.sandbox_memberships ALTER COLUMN admitted_at SET DEFAULT pg_catalog.clock_timestamp();

CREATE FUNCTION credit_sandbox.lock_all_operators() RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'credit_sandbox_lock_all_operators';
COMMENT ON FUNCTION credit_sandbox.lock_all_operators() IS
    'Takes every operator''s lock, in the global order, until the transaction ends: for what works across operators.';
REVOKE ALL ON FUNCTION credit_sandbox.lock_all_operators() FROM PUBLIC;

-- Every operator locked first (regrade takes them too): no check is half-way
-- through an operator while its class and membership are decided.
CREATE OR REPLACE FUNCTION credit_sandbox.renew_sandbox(at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (operator_id text, action text, reason text)
    LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    stays bigint[];
BEGIN
    PERFORM credit_sandbox.lock_all_operators();
    SELECT array_agg(m.membership_id) INTO stays
      FROM credit_sandbox.sandbox_memberships m WHERE m.exited_at IS NULL;
    PERFORM credit_sandbox.regrade(renew_sandbox.at);
    RETURN QUERY
    SELECT m.operator_id, 'removed', m.exit_reason
      FROM credit_sandbox.sandbox_memberships m
     WHERE m.membership_id = ANY (stays) AND m.exited_at IS NOT NULL
     ORDER BY m.operator_id;
    RETURN QUERY
    INSERT INTO credit_sandbox.sandbox_memberships AS m (operator_id, admit_reason)
    SELECT c.operator_id, format('renewal as of %s: class A, score %s', renew_sandbox.at, c.score)
      FROM credit_sandbox.operator_classes c
     WHERE c.class = 'A'
       AND NOT EXISTS (SELECT FROM credit_sandbox.sandbox_memberships x
                        WHERE x.operator_id = c.operator_id AND x.exited_at IS NULL)
     ORDER BY c.operator_id
    ON CONFLICT DO NOTHING
    RETURNING m.operator_id, 'admitted', m.admit_reason;
END $$;

-- ===== caches see the statement's own changes
-- A statement that changes operators, lists, members, rules or reference
-- prices and inserts rows (WITH o AS (INSERT INTO operators ...) INSERT INTO
-- transactions ...) runs its AFTER triggers in an order of its own: the
-- checks could judge its rows on the caches as they were.  The invalidation
-- is also registered before the statement writes, so the checks see it.
DO $$
DECLARE
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['rules', 'regulated_categories', 'prohibited_categories', 'prohibited_terms',
                               'absolute_terms', 'return_exempt_categories', 'operators', 'operator_lists',
                               'sandbox_memberships', 'reference_prices'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER invalidate_cache_before BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE'
                                  ' ON credit_sandbox.%I FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.invalidate_cache()', tab);
        EXECUTE pg_catalog.format('ALTER TABLE credit_sandbox.%I ENABLE ALWAYS TRIGGER invalidate_cache_before', tab);
    END LOOP;
END $$;
