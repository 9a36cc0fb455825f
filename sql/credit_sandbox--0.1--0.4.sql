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
