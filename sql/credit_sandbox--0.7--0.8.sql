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

CREATE OR REPLACE VIEW credit_sandbox.inspection_draw_summary WITH (security_barrier) AS
SELECT d.draw_id, d.drawn_at, d.drawn_by, d.seed, d.ratios, d.inspectors_per_task,
       cardinality(d.inspector_pool) AS inspectors,
       coalesce(p.pool_operators, 0) AS pool_operators,
       coalesce(p.pool_by_class, '{}') AS pool_by_class,
       coalesce(t.random_tasks, 0) AS random_tasks,
       coalesce(t.triggered_tasks, 0) AS triggered_tasks
  FROM credit_sandbox.inspection_draws d
  LEFT JOIN (SELECT c.draw_id, sum(c.n)::bigint AS pool_operators,
                    jsonb_object_agg(c.class, c.n) FILTER (WHERE c.class IS NOT NULL) AS pool_by_class
               FROM (SELECT x.draw_id, x.class, count(*) AS n FROM credit_sandbox.inspection_pool x
                      GROUP BY x.draw_id, x.class) c
              GROUP BY c.draw_id) p ON p.draw_id = d.draw_id
  LEFT JOIN (SELECT x.draw_id, count(*) FILTER (WHERE x.reason = 'random') AS random_tasks,
                    count(*) FILTER (WHERE x.reason = 'triggered') AS triggered_tasks
               FROM credit_sandbox.inspection_tasks x GROUP BY x.draw_id) t ON t.draw_id = d.draw_id;

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
