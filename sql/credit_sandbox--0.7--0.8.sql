\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.8'" to load this file. \quit

-- credit_sandbox 0.7 -> 0.8: what an update must do to reach the objects of
-- credit_sandbox--0.8.sql (sql/upgrade.sql proves the two equal): the triggers
-- that write beside the table they fire on, so that they work on Citus
-- shards, and credit_sandbox.distribute().  On Citus, run it on every node:
-- each node has the extension's objects of its own.

-- Where a trigger of the extension writes: on one node the tables
-- themselves; on a Citus node (credit_sandbox.distribute()) a trigger fires
-- on a shard, and writes the shard of the target table that sits beside it
-- on the same node (co-located, or the local shard of a reference table),
-- never a distributed table from inside a shard's statement.
CREATE FUNCTION credit_sandbox.placed_table(relation regclass, tab name) RETURNS regclass
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'credit_sandbox_placed_table';
COMMENT ON FUNCTION credit_sandbox.placed_table(regclass, name) IS
    'The table tab of the extension beside relation (a trigger''s TG_RELID): its co-located or local shard on a Citus node, else tab.';
REVOKE ALL ON FUNCTION credit_sandbox.placed_table(regclass, name) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.logical_table(relation regclass) RETURNS regclass
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'credit_sandbox_logical_table';
COMMENT ON FUNCTION credit_sandbox.logical_table(regclass) IS
    'The table relation is, or is a Citus shard of.';
REVOKE ALL ON FUNCTION credit_sandbox.logical_table(regclass) FROM PUBLIC;

-- the triggers that write other tables: to the shard beside theirs on a Citus node
CREATE OR REPLACE FUNCTION credit_sandbox.rules_record_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT ($1).code, ($1).version, ($1).list, ($1).params,'
                              ' ($1).tolerable, ($1).enabled, ($1).changed_at, ($1).changed_by',
                              credit_sandbox.placed_table(TG_RELID, 'rule_history'))
        USING NEW;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION credit_sandbox.record_removed_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key_of text := format('credit_sandbox.primary_key_of(%s, to_jsonb(x))', TG_RELID);
    -- on a Citus node TG_RELID is a shard: the record names its table, and
    -- goes to this node's shard of removed_rows (every node's shard of the
    -- table fires this trigger alike)
    tab name := (SELECT c.relname FROM pg_class c WHERE c.oid = credit_sandbox.logical_table(TG_RELID));
    records regclass := credit_sandbox.placed_table(TG_RELID, 'removed_rows');
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
        EXECUTE format('INSERT INTO %s (table_name, key) SELECT %L, k FROM (%s) AS g(k)'
                       ' ON CONFLICT DO NOTHING', records, tab, gone);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('DELETE FROM %s r WHERE r.table_name = %L'
                       ' AND r.key IN (SELECT %s FROM new_rows x)', records, tab, key_of);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION credit_sandbox.remove_recorded_row() RETURNS trigger
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
    -- a record on a Citus node's shard of removed_rows removes the row from this node's shard
    IF TG_RELID <> 'credit_sandbox.removed_rows'::regclass THEN
        tab := credit_sandbox.placed_table(TG_RELID, NEW.table_name);
    END IF;
    EXECUTE format('DELETE FROM %s t WHERE to_jsonb(t) @> $1', tab) USING NEW.key;
    RETURN NULL;
END $$;

-- create_roles() on Citus: its grants over one connection per node
CREATE OR REPLACE FUNCTION credit_sandbox.create_roles(app name DEFAULT 'credit_sandbox_app',
                                            analyst name DEFAULT 'credit_sandbox_analyst',
                                            admin name DEFAULT 'credit_sandbox_admin',
                                            operator name DEFAULT 'credit_sandbox_operator') RETURNS SETOF text
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text;
BEGIN
    IF NOT (SELECT pg_has_role(e.extowner, 'USAGE') FROM pg_extension e WHERE e.extname = 'credit_sandbox') THEN
        RAISE EXCEPTION 'only the owner of extension credit_sandbox may create its roles'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- on Citus a grant reaches every node; the reference tables with foreign keys take
    -- it only over one connection per node
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    FOREACH s IN ARRAY ARRAY[app, analyst, admin, operator] LOOP
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
               ' credit_sandbox.check_consistency(timestamptz, timestamptz) TO %I', admin),
        -- the audit trail, for administrators and analysts; the regulator
        -- maps operator logins to operators
        format('GRANT SELECT ON credit_sandbox.warning_status_history TO %I', analyst),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operator_logins TO %I', admin),
        -- operators: their own warnings and tips, and their answer to a tip;
        -- nothing else (functions check whose tip it is: check_own_tip)
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I', operator),
        format('GRANT SELECT ON credit_sandbox.my_warnings, credit_sandbox.my_warning_history TO %I', operator),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text) TO %I', operator),
        -- the feed is the regulator's: its subscriptions deliver every operator's warnings
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.create_subscription(text, boolean),'
               ' credit_sandbox.read_feed(text, int), credit_sandbox.ack_feed(text, bigint) TO %I', admin)] LOOP
        EXECUTE s;
        RETURN NEXT s;
    END LOOP;
END $$;

-- the feed is written by the library, to the shard beside the warnings'
CREATE OR REPLACE FUNCTION credit_sandbox.feed_record() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_feed_record';

-- ===================================================================== scale-out (contract)

-- Citus: run once on the coordinator, after the workers are added.  Every
-- table becomes distributed by operator_id, co-located with transactions,
-- or a reference table (one shard on every node); the checks then run on
-- the workers, on the shards the rows land in (src/placement.c).  Each node
-- ran CREATE EXTENSION itself (Citus propagates it) and holds its own copy
-- of every table, so what Citus cannot distribute is changed on every node
-- first: the primary keys without operator_id and the foreign keys go, and
-- come back through Citus afterwards.  The extension's triggers are off
-- while Citus copies the rows already stored into the shards (a row copied
-- is no new row to check), and each gets its enable mode back.
CREATE FUNCTION credit_sandbox.distribute() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab text;
    r record;
    versions text[];
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'credit_sandbox.distribute() needs Citus'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The citus extension is not installed in this database.',
                  HINT = 'On one node the tables need no distribution; on Citus, CREATE EXTENSION citus and add the workers first.';
    END IF;
    IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'credit_sandbox.transactions'::regclass) THEN
        RETURN;
    END IF;
    IF NOT citus_is_coordinator() THEN
        RAISE EXCEPTION 'credit_sandbox.distribute() runs on the coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT array_agg(DISTINCT w.result) INTO versions
      FROM run_command_on_workers($q$SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'$q$) w;
    IF versions IS NOT NULL AND versions <> ARRAY[(SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox')] THEN
        RAISE EXCEPTION 'credit_sandbox is not at the same version on every worker'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Workers have %s.', versions),
                  HINT = 'Run ALTER EXTENSION credit_sandbox UPDATE on each worker.';
    END IF;
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- foreign keys to reference tables: one connection per node throughout
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);

    CREATE TEMP TABLE trigger_modes ON COMMIT DROP AS
        SELECT t.tgrelid::regclass AS tab, t.tgname, t.tgenabled
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND NOT t.tgisinternal;
    CREATE TEMP TABLE foreign_keys ON COMMIT DROP AS
        SELECT k.conrelid::regclass AS tab, k.conname, pg_get_constraintdef(k.oid) AS definition
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND k.contype = 'f';
    CREATE TEMP TABLE new_keys ON COMMIT DROP AS
        SELECT c.oid::regclass AS tab, k.conname, a.attname AS id_column
          FROM pg_class c
          JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT EXISTS (SELECT FROM pg_attribute o
                            WHERE o.attrelid = c.oid AND o.attname = 'operator_id' AND o.attnum = ANY (k.conkey))
           AND EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'operator_id')
           AND NOT c.relispartition;

    FOR r IN SELECT pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', f.tab, f.conname) AS ddl
               FROM foreign_keys f
             UNION ALL
             SELECT pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', k.tab, k.conname) FROM new_keys k
             UNION ALL
             SELECT 'DROP INDEX credit_sandbox.feed_entries_position'
             UNION ALL
             SELECT pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER USER', m.tab)
               FROM (SELECT DISTINCT t.tab FROM trigger_modes t) m LOOP
        EXECUTE r.ddl;
        PERFORM run_command_on_workers(r.ddl);
    END LOOP;

    FOREACH tab IN ARRAY ARRAY['rules', 'rule_history', 'regulated_categories', 'prohibited_categories',
                               'prohibited_terms', 'absolute_terms', 'return_exempt_categories', 'reference_prices',
                               'grading_weights', 'grade_boundaries', 'inspectors', 'inspection_draws',
                               'warning_status_history', 'removed_rows', 'feed_seal', 'feed_subscriptions'] LOOP
        PERFORM create_reference_table(pg_catalog.format('credit_sandbox.%I', tab));
    END LOOP;
    PERFORM create_distributed_table('credit_sandbox.transactions', 'operator_id');
    FOREACH tab IN ARRAY ARRAY['operators', 'operator_lists', 'returns', 'complaints', 'warnings', 'warning_hits',
                               'operator_grades', 'sandbox_memberships', 'operator_logins', 'feed_entries',
                               'inspection_pool', 'inspection_tasks', 'inspector_conflicts'] LOOP
        PERFORM create_distributed_table(pg_catalog.format('credit_sandbox.%I', tab), 'operator_id',
                                         colocate_with => 'credit_sandbox.transactions');
    END LOOP;

    -- through Citus: to the tables on every node and to every shard
    FOR r IN SELECT * FROM new_keys LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (operator_id, %I)',
                                  r.tab, r.conname, r.id_column);
    END LOOP;
    FOR r IN SELECT * FROM foreign_keys LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tab, r.conname, r.definition);
    END LOOP;
    -- shard moves (citus_rebalance_start) replicate logically: every table needs a replica identity
    ALTER TABLE credit_sandbox.warning_hits REPLICA IDENTITY FULL;
    FOR r IN SELECT m.* FROM trigger_modes m WHERE m.tgenabled <> 'D' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE %s TRIGGER %I', r.tab,
                                  CASE r.tgenabled WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END,
                                  r.tgname);
    END LOOP;
END $$;
COMMENT ON FUNCTION credit_sandbox.distribute() IS
    'Citus coordinator, once, after the workers are added: every table distributed by operator_id (co-located) or a reference table. 0A000 without Citus.';
REVOKE ALL ON FUNCTION credit_sandbox.distribute() FROM PUBLIC;

-- Grading and the sandbox on Citus: the per-operator work and the locks on
-- the operator's worker (src/placement.c, cs_call_at_operator), regrade per
-- shard group there; in_sandbox in C, beside the operator's rows;
-- sandbox_members_at in PL/pgSQL, since Citus cannot plan a SQL function.

-- What regrade and grade_ungraded run on Citus on each shard group's worker,
-- under the group's locks (src/grading.c); on one node it grades everyone.
-- Only they call it, as the extension's owner.
CREATE FUNCTION credit_sandbox.grade_shard_group(operator_id text, at timestamptz, only_ungraded boolean)
    RETURNS bigint
    LANGUAGE c STRICT SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_grade_shard_group';
COMMENT ON FUNCTION credit_sandbox.grade_shard_group(text, timestamptz, boolean) IS
    'Grades as of at, in one pass, every operator (or every one never graded) stored beside operator_id: its Citus shard group, or all on one node; returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.grade_shard_group(text, timestamptz, boolean) FROM PUBLIC;

COMMENT ON FUNCTION credit_sandbox.lock_operator(text) IS
    'Takes the transaction-level lock that serialises the checks of one operator (on Citus, on the operator''s worker).';

CREATE OR REPLACE FUNCTION credit_sandbox.in_sandbox(operator_id text) RETURNS boolean
    LANGUAGE c STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_in_sandbox';

CREATE OR REPLACE FUNCTION credit_sandbox.sandbox_members_at(at timestamptz)
    RETURNS TABLE (operator_id text, admitted_at timestamptz, admit_reason text)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- (PL/pgSQL: Citus cannot plan a SQL function's parameters)
    RETURN QUERY
    SELECT m.operator_id, m.admitted_at, m.admit_reason
      FROM credit_sandbox.sandbox_memberships m
     WHERE m.admitted_at <= sandbox_members_at.at
       AND (m.exited_at IS NULL OR m.exited_at > sandbox_members_at.at)
     ORDER BY m.operator_id;
END $$;
