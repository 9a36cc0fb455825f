-- feed_standin.sql -- a stand-in for the feed's three functions, for the consumer tests
-- (test/ops/consumer.sh) on a version of the extension that has no feed yet: the same
-- names and signatures (create_subscription, read_feed, ack_feed), executable by
-- credit_sandbox_admin only.  Not a model of the real feed's ordering: positions are
-- given at insert, which is commit order only for one writer at a time, all the tests
-- need.  Run by the tests only when credit_sandbox.read_feed does not exist; delete this
-- file once the extension has the feed.
SET client_min_messages = warning;

CREATE TABLE credit_sandbox.standin_feed (
    position     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id   bigint NOT NULL,
    operator_id  text NOT NULL,
    code         text NOT NULL,
    list         text NOT NULL,
    subject_key  text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    due_at       timestamptz
);
CREATE TABLE credit_sandbox.standin_subscriptions (
    name   text PRIMARY KEY,
    acked  bigint NOT NULL
);

CREATE FUNCTION credit_sandbox.standin_feed_entry() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO credit_sandbox.standin_feed (warning_id, operator_id, code, list, subject_key, occurred_at, due_at)
    SELECT n.warning_id, n.operator_id, n.code, n.list, n.subject_key, n.occurred_at, n.due_at
      FROM new_rows n ORDER BY n.warning_id;
    RETURN NULL;
END $$;
CREATE TRIGGER standin_feed AFTER INSERT ON credit_sandbox.warnings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.standin_feed_entry();

CREATE FUNCTION credit_sandbox.create_subscription(name text, from_start boolean DEFAULT false) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO credit_sandbox.standin_subscriptions (name, acked)
    SELECT $1, CASE WHEN $2 THEN 0 ELSE (SELECT coalesce(max(f.position), 0) FROM credit_sandbox.standin_feed f) END
$$;

CREATE FUNCTION credit_sandbox.read_feed(name text, max_entries int DEFAULT 100)
RETURNS TABLE ("position" bigint, warning_id bigint, operator_id text, code text, list text,
               subject_key text, occurred_at timestamptz, due_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    from_pos bigint;
BEGIN
    SELECT s.acked INTO from_pos FROM credit_sandbox.standin_subscriptions s WHERE s.name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    RETURN QUERY SELECT f.position, f.warning_id, f.operator_id, f.code, f.list, f.subject_key, f.occurred_at, f.due_at
                   FROM credit_sandbox.standin_feed f WHERE f.position > from_pos ORDER BY f.position LIMIT $2;
END $$;

CREATE FUNCTION credit_sandbox.ack_feed(name text, up_to bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    before bigint;
BEGIN
    SELECT s.acked INTO before FROM credit_sandbox.standin_subscriptions s WHERE s.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE credit_sandbox.standin_subscriptions s SET acked = greatest(s.acked, $2) WHERE s.name = $1;
    RETURN (SELECT count(*) FROM credit_sandbox.standin_feed f WHERE f.position > before AND f.position <= $2);
END $$;

REVOKE ALL ON FUNCTION credit_sandbox.create_subscription(text, boolean), credit_sandbox.read_feed(text, int),
                       credit_sandbox.ack_feed(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_sandbox.create_subscription(text, boolean), credit_sandbox.read_feed(text, int),
                          credit_sandbox.ack_feed(text, bigint) TO credit_sandbox_admin;
