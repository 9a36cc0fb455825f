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
        -- and the generated keys, which the library refuses to a platform that
        -- names one (src/key_readback.c): on Citus the coordinator draws the key and
        -- names it in the statement the shard checks with the platform's privileges
        format('GRANT INSERT (txn_id) ON credit_sandbox.transactions TO %I', app),
        format('GRANT INSERT (return_id) ON credit_sandbox.returns TO %I', app),
        format('GRANT INSERT (complaint_id) ON credit_sandbox.complaints TO %I', app),
        format('GRANT INSERT (operator_id, name, region) ON credit_sandbox.operators TO %I', app),
        -- analysts: every view, and the readers that need no base table
        format('GRANT SELECT ON %s TO %I',
               (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
                 WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('v', 'm')), analyst),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz),'
               ' credit_sandbox.verify_draw(bigint) TO %I, %I', analyst, admin),
        -- the views of a Citus node read their queries through owner_rows
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.owner_rows(anyelement) TO %I, %I, %I', analyst, admin, operator),
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

-- An operator login's own tip on Citus: a statement Citus plans
CREATE OR REPLACE FUNCTION credit_sandbox.check_own_tip(warning_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    -- the login, read here: on Citus SESSION_USER in a statement is the
    -- user of the coordinator's connection to the worker
    caller name := SESSION_USER;
BEGIN
    IF has_function_privilege(caller, 'credit_sandbox.close_warning(bigint, text)', 'EXECUTE') THEN
        RETURN;
    END IF;
    -- a statement, not IF NOT EXISTS (...): Citus plans no expression's
    -- EXISTS over a distributed table with a parameter ("a column definition
    -- list is required for functions returning record")
    PERFORM FROM credit_sandbox.warnings w
      JOIN credit_sandbox.operator_logins l ON l.operator_id = w.operator_id
     WHERE w.warning_id = check_own_tip.warning_id AND w.list = 'admin_tip' AND l.login = caller;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied for warning %', check_own_tip.warning_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Login %s may acknowledge and record corrections only on the tips (admin_tip) of the operators operator_logins maps it to.',
                                  quote_ident(caller)),
                  HINT = 'Your tips are the rows of credit_sandbox.my_warnings with list admin_tip; the regulator maps logins to operators.';
    END IF;
END $$;
COMMENT ON FUNCTION credit_sandbox.check_own_tip(bigint) IS
    'Internal: refuses (42501) a warning that is not a tip of the calling login''s operators, unless the login may close warnings (the regulator).';
REVOKE ALL ON FUNCTION credit_sandbox.check_own_tip(bigint) FROM PUBLIC;

-- Status changes on Citus: the warning's row named with its operator (the
-- distribution column), where FOR UPDATE and UPDATE can run
CREATE OR REPLACE FUNCTION credit_sandbox.change_warning_status(warning_id bigint, from_status text[], to_status text,
                                                     note text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    w credit_sandbox.warnings;
    old_status text;
    -- the login, read here: on Citus SESSION_USER in a statement is the
    -- user of the coordinator's connection to the worker
    caller name := SESSION_USER;
BEGIN
    SELECT * INTO w FROM credit_sandbox.warnings x WHERE x.warning_id = change_warning_status.warning_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % does not exist', change_warning_status.warning_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM credit_sandbox.lock_operator(w.operator_id);
    -- read again under the lock: the status another transaction left.  The
    -- operator named too, here and below: on Citus (tables distributed by
    -- operator_id) the row's shard, where FOR UPDATE and UPDATE run.
    SELECT x.status INTO old_status FROM credit_sandbox.warnings x
     WHERE x.operator_id = w.operator_id AND x.warning_id = w.warning_id FOR UPDATE;
    IF NOT old_status = ANY (from_status) THEN
        RAISE EXCEPTION 'warning % is %, not %', w.warning_id, old_status, array_to_string(from_status, ' or ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A warning goes open -> acknowledged -> corrected or escalated -> closed.';
    END IF;
    UPDATE credit_sandbox.warnings x
       SET status = to_status, status_changed_at = pg_catalog.now(), status_changed_by = caller,
           status_note = coalesce(note, x.status_note)
     WHERE x.operator_id = w.operator_id AND x.warning_id = w.warning_id;
    INSERT INTO credit_sandbox.warning_status_history (warning_id, from_status, to_status, changed_by, changed_at, note)
    VALUES (w.warning_id, old_status, to_status, caller, pg_catalog.now(), note);
END $$;
COMMENT ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) IS
    'Internal: moves a warning from one of from_status to to_status, under its operator''s lock, and records the change in warning_status_history.';
REVOKE ALL ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) FROM PUBLIC;

-- replay() on Citus runs replay_placed on every shard group's node;
-- check_consistency in PL/pgSQL, which Citus plans
CREATE FUNCTION credit_sandbox.replay_placed(shard regclass, since timestamptz, until timestamptz, rules jsonb)
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, list text,
                   subject_key text, occurred_at timestamptz, rule_version integer,
                   first_hit boolean, evidence jsonb)
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_replay_placed';
COMMENT ON FUNCTION credit_sandbox.replay_placed(regclass, timestamptz, timestamptz, jsonb) IS
    'Internal: replay() of the shard group of shard, a Citus shard on this node (replay() calls it on Citus).';
REVOKE ALL ON FUNCTION credit_sandbox.replay_placed(regclass, timestamptz, timestamptz, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION credit_sandbox.check_consistency(since timestamptz DEFAULT '-infinity',
                                                 until timestamptz DEFAULT 'infinity')
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, problem text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no SQL function's parameters; a hit is
    -- joined to its warning on the operator too, Citus's distribution column
    RETURN QUERY
    WITH replayed AS (
        SELECT r.source_table, r.source_id, r.operator_id, r.code
          FROM credit_sandbox.replay(since, until) r
    ), logged AS (
        SELECT h.source_table, h.source_id, w.operator_id, w.code
          FROM credit_sandbox.warning_hits h
          JOIN credit_sandbox.warnings w ON w.operator_id = h.operator_id AND w.warning_id = h.warning_id
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
    ORDER BY 1, 2, 4;
END $$;
COMMENT ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) IS
    'Stored rows of [since, until) whose logged hits differ from a replay under the current rules: problem ''missing'' or ''extra''.';
REVOKE ALL ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) FROM PUBLIC;

-- Draws on Citus: one connection per node (the draw's tables refer to a
-- reference table), draw_tasks in PL/pgSQL, which Citus plans, and the
-- summary's counts per draw joined, not correlated on draw_id
CREATE OR REPLACE FUNCTION credit_sandbox.draw_tasks(draw_id bigint)
    RETURNS TABLE (operator_id text, reason text, inspectors text[])
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no SQL function's parameters
    RETURN QUERY
    WITH d AS (SELECT * FROM credit_sandbox.inspection_draws x WHERE x.draw_id = draw_tasks.draw_id),
    ranked AS (
        SELECT p.operator_id, p.class, p.triggered,
               row_number() OVER (PARTITION BY p.class
                                  ORDER BY sha256(convert_to(d.seed || ':' || p.operator_id, 'UTF8'))) AS rank,
               count(*) OVER (PARTITION BY p.class) AS n,
               (d.ratios ->> p.class)::numeric AS ratio
          FROM credit_sandbox.inspection_pool p, d
         WHERE p.draw_id = d.draw_id AND p.class IS NOT NULL),
    chosen AS (
        SELECT r.operator_id, 'random' AS reason FROM ranked r
         WHERE r.ratio IS NOT NULL AND r.rank <= ceil(r.ratio * r.n)
        UNION ALL
        SELECT p.operator_id, 'triggered' FROM credit_sandbox.inspection_pool p, d
         WHERE p.draw_id = d.draw_id AND p.triggered
           AND NOT EXISTS (SELECT FROM ranked r WHERE r.operator_id = p.operator_id
                              AND r.ratio IS NOT NULL AND r.rank <= ceil(r.ratio * r.n)))
    SELECT c.operator_id, c.reason,
           ARRAY(SELECT i FROM unnest(d.inspector_pool) AS i
                  WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(d.conflicts) AS x(pair)
                                     WHERE x.pair ->> 0 = i AND x.pair ->> 1 = c.operator_id)
                  ORDER BY sha256(convert_to(d.seed || ':' || c.operator_id || ':' || i, 'UTF8'))
                  LIMIT d.inspectors_per_task)
      FROM chosen c, d;
END $$;
COMMENT ON FUNCTION credit_sandbox.draw_tasks(bigint) IS
    'The tasks a recorded draw''s inputs give (the one definition draw_inspections and verify_draw share).';
REVOKE ALL ON FUNCTION credit_sandbox.draw_tasks(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION credit_sandbox.draw_inspections(seed text,
        ratios jsonb DEFAULT '{"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}',
        inspectors_per_task int DEFAULT 2) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    k text;
    v jsonb;
    new_draw bigint;
BEGIN
    IF seed IS NULL OR seed = '' THEN
        RAISE EXCEPTION 'draw seed must not be empty' USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Publish the seed before the draw, for instance the closing figures of a public lottery.';
    END IF;
    IF ratios IS NULL OR jsonb_typeof(ratios) <> 'object' THEN
        RAISE EXCEPTION 'draw ratios must be a JSON object such as {"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(ratios) LOOP
        IF k NOT IN ('A', 'B', 'C', 'D') THEN
            RAISE EXCEPTION 'draw ratios: unknown class "%"', k USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Classes are A, B, C and D.';
        END IF;
        IF jsonb_typeof(v) <> 'number' OR v::text::numeric < 0 OR v::text::numeric > 1 THEN
            RAISE EXCEPTION 'draw ratios: the ratio of class % must be a number from 0 to 1, not %', k, v
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF inspectors_per_task IS NULL OR inspectors_per_task < 1 THEN
        RAISE EXCEPTION 'inspectors_per_task must be at least 1, not %', inspectors_per_task
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- on Citus the draw's tables refer to inspection_draws, a reference
    -- table: one connection per node throughout
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    -- ungraded operators are graded by the draw
    PERFORM credit_sandbox.grade_ungraded();

    INSERT INTO credit_sandbox.inspection_draws (seed, ratios, inspectors_per_task, inspector_pool, conflicts)
    SELECT draw_inspections.seed, draw_inspections.ratios, draw_inspections.inspectors_per_task,
           ARRAY(SELECT i.inspector_id FROM credit_sandbox.inspectors i WHERE i.active ORDER BY i.inspector_id),
           coalesce((SELECT jsonb_agg(jsonb_build_array(c.inspector_id, c.operator_id)
                                      ORDER BY c.inspector_id, c.operator_id)
                       FROM credit_sandbox.inspector_conflicts c), '[]')
    RETURNING draw_id INTO new_draw;

    -- the pool: graded operators off the no-disturbance list, and every
    -- operator with an open warning clue (registered or not)
    INSERT INTO credit_sandbox.inspection_pool (draw_id, operator_id, class, triggered)
    SELECT new_draw, x.operator_id, c.class,
           EXISTS (SELECT FROM credit_sandbox.warnings w
                    WHERE w.operator_id = x.operator_id AND w.list = 'risk_trigger'
                      AND w.status IN ('open', 'acknowledged'))
      FROM (SELECT o.operator_id FROM credit_sandbox.operators o
            UNION
            SELECT w.operator_id FROM credit_sandbox.warnings w
             WHERE w.list = 'risk_trigger' AND w.status IN ('open', 'acknowledged')) x
      LEFT JOIN credit_sandbox.operator_classes c ON c.operator_id = x.operator_id
     WHERE NOT EXISTS (SELECT FROM credit_sandbox.no_disturbance n WHERE n.operator_id = x.operator_id);

    INSERT INTO credit_sandbox.inspection_tasks (draw_id, operator_id, reason, inspectors)
    SELECT new_draw, t.operator_id, t.reason, t.inspectors FROM credit_sandbox.draw_tasks(new_draw) t;
    RETURN new_draw;
END $$;
COMMENT ON FUNCTION credit_sandbox.draw_inspections(text, jsonb, integer) IS
    'Draws inspection tasks from a published seed: per-class ratios of graded operators off the no-disturbance list, plus every open clue; returns the draw id.';
REVOKE ALL ON FUNCTION credit_sandbox.draw_inspections(text, jsonb, integer) FROM PUBLIC;

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
    low bigint;
    failed text;
    ddl text;
    view_ddl text[];
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
        SELECT pg_catalog.string_agg(n.result, '; ') INTO failed FROM run_command_on_workers(r.ddl) n WHERE NOT n.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not prepare every worker''s tables for distribution'
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pg_catalog.format('%s: %s', r.ddl, failed);
        END IF;
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
    -- An id drawn on a node is its Citus group id above 2^48 plus its own sequence's next
    -- value (src/placement.c).  Rows restored from a dump may carry another cluster's
    -- group ids: every node's sequences start above all their low parts.
    FOR r IN SELECT a.attrelid::regclass AS tab, a.attname,
                    pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) AS seq
               FROM pg_attribute a JOIN pg_dist_partition p ON p.logicalrelid = a.attrelid
              WHERE a.attidentity <> '' AND p.partmethod = 'h'
                AND a.attrelid::regclass::text LIKE 'credit_sandbox.%' LOOP
        EXECUTE pg_catalog.format('SELECT coalesce(max(%I & %s), 0) FROM %s', r.attname,
                                  (1::bigint << 48) - 1, r.tab) INTO low;
        IF low > 0 THEN
            SELECT pg_catalog.string_agg(n.result, '; ') INTO failed
              FROM run_command_on_all_nodes(pg_catalog.format(
                       'SELECT pg_catalog.setval(%1$L, GREATEST(%2$s, (SELECT last_value FROM %1$s)))', r.seq, low)) n
             WHERE NOT n.success;
            IF failed IS NOT NULL THEN
                RAISE EXCEPTION 'could not move % past the restored ids on every node', r.seq
                    USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = failed;
            END IF;
        END IF;
    END LOOP;
    FOR r IN SELECT m.* FROM trigger_modes m WHERE m.tgenabled <> 'D' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE %s TRIGGER %I', r.tab,
                                  CASE r.tgenabled WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END,
                                  r.tgname);
    END LOOP;

    -- The views: their queries to credit_sandbox_queries, in their place views
    -- reading them through owner_rows (see there), with their comments and
    -- grants; on every node alike, as the views are each node's own.  Computed
    -- before the first change, which renames.
    SELECT ARRAY['CREATE SCHEMA credit_sandbox_queries',
                 'COMMENT ON SCHEMA credit_sandbox_queries IS ''credit_sandbox on Citus: the queries of the views, read through credit_sandbox.owner_rows as the extension''''s owner.''',
                 'ALTER EXTENSION credit_sandbox ADD SCHEMA credit_sandbox_queries']
           || array_agg(d.statement ORDER BY v.relname, d.n) INTO view_ddl
      FROM pg_class v,
           LATERAL unnest(ARRAY[pg_catalog.format('ALTER VIEW credit_sandbox.%I SET SCHEMA credit_sandbox_queries', v.relname),
                                pg_catalog.format('CREATE VIEW credit_sandbox.%1$I WITH (security_barrier) AS'
                                                  ' SELECT * FROM credit_sandbox.owner_rows(NULL::credit_sandbox_queries.%1$I)',
                                                  v.relname),
                                pg_catalog.format('ALTER EXTENSION credit_sandbox ADD VIEW credit_sandbox.%I', v.relname),
                                pg_catalog.format('COMMENT ON VIEW credit_sandbox.%I IS %L', v.relname,
                                                  pg_catalog.obj_description(v.oid, 'pg_class'))]
                          || ARRAY(SELECT pg_catalog.format('COMMENT ON COLUMN credit_sandbox.%I.%I IS %L', v.relname,
                                                            a.attname, pg_catalog.col_description(v.oid, a.attnum))
                                     FROM pg_attribute a WHERE a.attrelid = v.oid AND a.attnum > 0 ORDER BY a.attnum)
                          || ARRAY(SELECT pg_catalog.format('GRANT %s ON credit_sandbox.%I TO %s', g.privilege_type,
                                                            v.relname, g.grantee::regrole)
                                     FROM aclexplode(v.relacl) g WHERE g.grantee NOT IN (0, v.relowner)))
               WITH ORDINALITY AS d(statement, n)
     WHERE v.relnamespace = 'credit_sandbox'::regnamespace AND v.relkind = 'v';
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    FOREACH ddl IN ARRAY view_ddl LOOP
        EXECUTE ddl;
        SELECT pg_catalog.string_agg(n.result, '; ') INTO failed
          FROM run_command_on_workers('SET citus.enable_ddl_propagation = off; ' || ddl) n WHERE NOT n.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not put the views in place on every worker'
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pg_catalog.format('%s: %s', ddl, failed);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION credit_sandbox.distribute() IS
    'Citus coordinator, once, after the workers are added: every table distributed by operator_id (co-located) or a reference table. 0A000 without Citus.';
REVOKE ALL ON FUNCTION credit_sandbox.distribute() FROM PUBLIC;

-- the views: the login computed once where the query is planned, joins on
-- operator_id (Citus plans them on the co-located shards)
CREATE OR REPLACE VIEW credit_sandbox.my_warnings WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.list, w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.raised_at, w.due_at,
       w.rule_version, r.tolerable, w.evidence, w.source_table, w.source_id,
       (o.operator_id IS NOT NULL) AS registered,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = (SELECT SESSION_USER));

CREATE OR REPLACE VIEW credit_sandbox.my_warning_history WITH (security_barrier) AS
SELECT h.history_id, h.warning_id, h.from_status, h.to_status, h.changed_by, h.changed_at, h.note
  FROM credit_sandbox.warning_status_history h
  JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = (SELECT SESSION_USER));

CREATE OR REPLACE VIEW credit_sandbox.operator_risk WITH (security_barrier) AS
SELECT o.operator_id, o.name, o.region, c.class, c.score, c.graded_as_of,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = o.operator_id AND m.exited_at IS NULL) AS in_sandbox,
       (SELECT count(*) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id
           AND w.list = 'risk_trigger' AND w.status IN ('open', 'acknowledged')) AS open_warning_clues,
       (SELECT count(*) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id
           AND w.list = 'admin_tip' AND w.status IN ('open', 'acknowledged')) AS open_tips,
       (SELECT max(w.last_hit_at) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id) AS last_hit_at,
       g.indicators, g.hard_rules
  FROM credit_sandbox.operators o
  LEFT JOIN credit_sandbox.operator_classes c ON c.operator_id = o.operator_id
  LEFT JOIN credit_sandbox.operator_grades g ON g.operator_id = c.operator_id AND g.grade_id = c.grade_id;

CREATE OR REPLACE VIEW credit_sandbox.rule_hits_daily WITH (security_barrier) AS
SELECT credit_sandbox.legal_day(h.hit_at) AS day,
       w.code, w.list, count(*) AS hits, count(DISTINCT w.warning_id) AS warnings,
       count(DISTINCT w.operator_id) AS operators
  FROM credit_sandbox.warning_hits h
  JOIN credit_sandbox.warnings w ON w.operator_id = h.operator_id AND w.warning_id = h.warning_id
 GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW credit_sandbox.inspection_draw_summary WITH (security_barrier) AS
SELECT d.draw_id, d.drawn_at, d.drawn_by, d.seed, d.ratios, d.inspectors_per_task,
       cardinality(d.inspector_pool) AS inspectors,
       coalesce(p.operators, 0) AS pool_operators, coalesce(p.by_class, '{}') AS pool_by_class,
       coalesce(t.random, 0) AS random_tasks, coalesce(t.triggered, 0) AS triggered_tasks
  FROM credit_sandbox.inspection_draws d
  -- counted per draw, then joined: Citus plans no subquery correlated on a draw
  LEFT JOIN (SELECT c.draw_id, sum(c.n)::bigint AS operators,
                    coalesce(jsonb_object_agg(c.class, c.n) FILTER (WHERE c.class IS NOT NULL), '{}') AS by_class
               FROM (SELECT p.draw_id, p.class, count(*) AS n FROM credit_sandbox.inspection_pool p
                      GROUP BY p.draw_id, p.class) c
              GROUP BY c.draw_id) p ON p.draw_id = d.draw_id
  LEFT JOIN (SELECT t.draw_id, count(*) FILTER (WHERE t.reason = 'random') AS random,
                    count(*) FILTER (WHERE t.reason = 'triggered') AS triggered
               FROM credit_sandbox.inspection_tasks t GROUP BY t.draw_id) t ON t.draw_id = d.draw_id;

-- ===================================================================== views on Citus
-- Citus checks the privileges of the user who runs a query on the shards it
-- reads, not those of the owner of a view the query names (Citus issues 1683
-- and 6161): through the coordinator, an analyst's view would need the
-- analyst to be granted the tables.  So on a Citus node distribute() moves
-- each view of the extension to schema credit_sandbox_queries, which no role
-- may use, and puts in its place a view of the same name, columns, comments
-- and grants that reads it through this function, as the extension's owner.
-- On one node it is not used: the views read their tables with their owner's
-- rights, and a filter on a view is pushed into its query.  It returns the
-- rows of a view of credit_sandbox_queries to a login that may read the view
-- of the same name in credit_sandbox, and nothing else.
CREATE FUNCTION credit_sandbox.owner_rows(query anyelement) RETURNS SETOF anyelement
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source regclass;
    facing regclass;
BEGIN
    SELECT q.oid, f.oid INTO source, facing
      FROM pg_type t
      JOIN pg_class q ON q.oid = t.typrelid AND q.relkind = 'v'
      JOIN pg_namespace n ON n.oid = q.relnamespace AND n.nspname = 'credit_sandbox_queries'
      JOIN pg_class f ON f.relname = q.relname AND f.relnamespace = 'credit_sandbox'::regnamespace
     WHERE t.oid = pg_typeof(query);
    IF facing IS NULL OR NOT has_table_privilege(SESSION_USER, facing, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for the rows of %', pg_typeof(query)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'owner_rows gives the rows of a view of credit_sandbox_queries to a login that may read the view of the same name in credit_sandbox.';
    END IF;
    RETURN QUERY EXECUTE format('SELECT * FROM %s', source);
END $$;
COMMENT ON FUNCTION credit_sandbox.owner_rows(anyelement) IS
    'Citus: the rows of the view credit_sandbox_queries.X whose row type query has, read as the extension''s owner, for a login that may read credit_sandbox.X (the views distribute() puts in place); 42501 otherwise.';
REVOKE ALL ON FUNCTION credit_sandbox.owner_rows(anyelement) FROM PUBLIC;

-- the feed read through a Citus coordinator: positions drawn on the reader's
-- node, the seal before waited for on every node
CREATE OR REPLACE FUNCTION credit_sandbox.create_subscription(name text, from_start boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    start bigint := 0;
    created text;
BEGIN
    IF create_subscription.name IS NULL OR from_start IS NULL THEN
        RAISE EXCEPTION 'a feed subscription needs a name and from_start' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- from now on: above the highest position given so far (entries that have
    -- committed but have no position yet come too).  Read first, then
    -- inserted: on Citus the entries are distributed and the subscriptions a
    -- reference table, whose inserts set no FOUND (RETURNING tells).
    IF NOT from_start THEN
        start := coalesce((SELECT pg_catalog.max(e.position) FROM credit_sandbox.feed_entries e), 0);
    END IF;
    INSERT INTO credit_sandbox.feed_subscriptions AS s (name, acked_to) VALUES (create_subscription.name, start)
        ON CONFLICT ON CONSTRAINT feed_subscriptions_pkey DO NOTHING
        RETURNING s.name INTO created;
    IF created IS NULL THEN
        RAISE EXCEPTION 'feed subscription "%" already exists', create_subscription.name
            USING ERRCODE = 'duplicate_object';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION credit_sandbox.read_feed(name text, max_entries int DEFAULT 100)
    RETURNS TABLE ("position" bigint, warning_id bigint, operator_id text, code text, list text, subject_key text,
                   occurred_at timestamptz, due_at timestamptz, raised_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked bigint;
    sealed bigint;
    operators text[];
    entries bigint[];
    positions bigint[];
    read_only boolean := pg_catalog.current_setting('transaction_read_only')::boolean;
    distributed boolean := false;
    seal boolean := false;
BEGIN
    IF max_entries IS NULL OR max_entries < 1 THEN
        RAISE EXCEPTION 'max_entries must be at least 1, not %', coalesce(max_entries::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.acked_to INTO acked FROM credit_sandbox.feed_subscriptions s WHERE s.name = read_feed.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', read_feed.name
            USING ERRCODE = 'undefined_object', HINT = 'Create it with create_subscription(name).';
    END IF;
    -- On Citus (the entries distributed) a seal commits on the coordinator,
    -- where the lock is, before on the workers (two-phase): a reader that
    -- skipped the lock, or a read-only one, could see part of a seal and be
    -- acknowledged past a position that commits a moment later.  So there a
    -- reader waits for the lock, then updates the row, on every node, which
    -- waits for the seal before it to have committed there too.
    IF EXISTS (SELECT FROM pg_catalog.pg_extension x WHERE x.extname = 'citus') THEN
        distributed := EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                                WHERE p.logicalrelid = 'credit_sandbox.feed_entries'::pg_catalog.regclass);
    END IF;
    IF distributed AND read_only THEN
        RAISE EXCEPTION 'read_feed cannot run in a read-only transaction on Citus'
            USING ERRCODE = 'read_only_sql_transaction',
                  DETAIL = 'A seal commits on each node in turn: only a reader that waits for it, by updating feed_seal, sees all of its positions or none.',
                  HINT = 'Read the feed in a read-write transaction.';
    ELSIF distributed THEN
        -- one connection per node: a seal's positions and its update of the
        -- row commit together on each worker
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
        PERFORM FROM credit_sandbox.feed_seal l FOR UPDATE;
        UPDATE credit_sandbox.feed_seal l SET seals = l.seals;
        seal := EXISTS (SELECT e.entry_id FROM credit_sandbox.feed_entries e WHERE e.position IS NULL);
    ELSIF NOT read_only THEN
        PERFORM FROM credit_sandbox.feed_seal l FOR UPDATE SKIP LOCKED;
        seal := FOUND AND EXISTS (SELECT e.entry_id FROM credit_sandbox.feed_entries e WHERE e.position IS NULL);
        IF seal THEN
            UPDATE credit_sandbox.feed_seal l SET seals = l.seals;
        END IF;
    END IF;
    IF seal THEN
        -- a new statement, so (READ COMMITTED) a new snapshot: every seal
        -- before this one has committed and is seen.  The positions are
        -- drawn here, in entry order, then written: Citus sends no nextval
        -- to the workers.  (Entry order on Citus: by worker, then as inserted.)
        SELECT pg_catalog.array_agg(b.operator_id ORDER BY b.entry_id), pg_catalog.array_agg(b.entry_id ORDER BY b.entry_id)
          INTO operators, entries
          FROM (SELECT e.operator_id, e.entry_id FROM credit_sandbox.feed_entries e
                 WHERE e.position IS NULL ORDER BY e.entry_id LIMIT max_entries) b;
        positions := ARRAY(SELECT pg_catalog.nextval('credit_sandbox.feed_position_seq')
                             FROM pg_catalog.generate_series(1, pg_catalog.cardinality(entries)));
        UPDATE credit_sandbox.feed_entries e SET position = n.pos
          FROM unnest(operators, entries, positions) AS n(operator_id, entry_id, pos)
         WHERE e.operator_id = n.operator_id AND e.entry_id = n.entry_id AND e.position IS NULL;
        GET DIAGNOSTICS sealed = ROW_COUNT;
        IF sealed > 0 THEN
            UPDATE credit_sandbox.feed_seal l SET seals = l.seals + 1, sealed_at = pg_catalog.now();
        END IF;
    END IF;
    RETURN QUERY
        SELECT e.position, e.warning_id, e.operator_id, e.code, e.list, e.subject_key, e.occurred_at, e.due_at,
               e.raised_at
          FROM credit_sandbox.feed_entries e
         WHERE e.position > acked
         ORDER BY e.position
         LIMIT max_entries;
END $$;

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

-- renew_sandbox: admissions without a correlated subquery (Citus)
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
       -- not correlated: on Citus the view is a function's rows, which a correlated
       -- subquery of a distributed table cannot follow
       AND c.operator_id NOT IN (SELECT x.operator_id FROM credit_sandbox.sandbox_memberships x
                                  WHERE x.exited_at IS NULL)
     ORDER BY c.operator_id
    ON CONFLICT DO NOTHING
    RETURNING m.operator_id, 'admitted', m.admit_reason;
END $$;

-- An operator's latest grade by graded_at (the clock under its lock), not by
-- grade_id: ids drawn on different Citus nodes do not follow time
COMMENT ON COLUMN credit_sandbox.operator_grades.grade_id IS 'Generated key (unique across Citus nodes, not in time order across them).';
COMMENT ON COLUMN credit_sandbox.operator_grades.graded_at IS
    'Wall-clock time the grade was written, under the operator''s lock: an operator''s class is its latest row by graded_at (then grade_id).';
DROP INDEX credit_sandbox.operator_grades_latest;
CREATE INDEX operator_grades_latest ON credit_sandbox.operator_grades (operator_id, graded_at, grade_id);
CREATE OR REPLACE VIEW credit_sandbox.operator_classes WITH (security_barrier) AS
SELECT DISTINCT ON (g.operator_id) g.operator_id, g.class, g.score, g.graded_as_of, g.grade_id
  FROM credit_sandbox.operator_grades g
 ORDER BY g.operator_id, g.graded_at DESC, g.grade_id DESC;
CREATE OR REPLACE FUNCTION credit_sandbox.admit(operator_id text) RETURNS boolean
    LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
     WHERE x.operator_id = admit.operator_id ORDER BY x.graded_at DESC, x.grade_id DESC LIMIT 1;
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
