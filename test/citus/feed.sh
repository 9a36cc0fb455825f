#!/usr/bin/env bash
# feed.sh -- the feed read through the Citus coordinator (SPEC.md section 8, README
# "Delivery: the feed"): entries written on the workers, sealed and read on the
# coordinator, compared with one node.
#
#   bash test/citus/feed.sh   (as root, or through sudo)
#
# Every committed entry is read once, in position order, whatever worker wrote it; ack
# moves past them; a subscription from now on starts after them; an entry written in a
# two-phase transaction spanning both workers is read once it commits. A seal is one
# prepared transaction per worker, a reader waits for a seal in progress (it could see it
# on one worker and not yet on another), a read-only one is refused (25006).
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_feed

for db in postgres one; do
    citus_generate "$db" 100 5000 500 300
    citus_load "$db" all
    q "$db" "SELECT credit_sandbox.create_subscription('all', true)" -p "$COORDINATOR" >/dev/null
done
entries="SELECT count(*), count(DISTINCT position), md5(string_agg(concat_ws('|', operator_id, code, list, subject_key,
                                                                        occurred_at, due_at), E'\n' ORDER BY operator_id, code, subject_key, occurred_at))
           FROM credit_sandbox.read_feed('all', 100000)"
conc_true "one node: the feed has entries" "$(one "SELECT count(*) > 50 FROM credit_sandbox.feed_entries")"
conc_check "read_feed through the coordinator: one node's entries, each once" "$(one "$entries")" "$(c "$entries")"
conc_check "every entry has a position, unique across the workers" \
    "$(c "SELECT count(*), count(*) FROM credit_sandbox.feed_entries")" \
    "$(c "SELECT count(position), count(DISTINCT position) FROM credit_sandbox.feed_entries")"
conc_check "read again without ack: the same entries at the same positions" \
    "$(c "SELECT md5(string_agg(position || ':' || warning_id::text, ',' ORDER BY position)) FROM credit_sandbox.read_feed('all', 100000)")" \
    "$(c "SELECT md5(string_agg(position || ':' || warning_id::text, ',' ORDER BY position)) FROM credit_sandbox.feed_entries")"
conc_check "ack_feed up to the tenth: one node's count" \
    "$(one "SELECT credit_sandbox.ack_feed('all', (SELECT position FROM credit_sandbox.read_feed('all', 10) ORDER BY 1 DESC LIMIT 1))")" \
    "$(c "SELECT credit_sandbox.ack_feed('all', (SELECT position FROM credit_sandbox.read_feed('all', 10) ORDER BY 1 DESC LIMIT 1))")"
conc_check "after the ack: one node's rest" "$(one "SELECT count(*) FROM credit_sandbox.read_feed('all', 100000)")" \
    "$(c "SELECT count(*) FROM credit_sandbox.read_feed('all', 100000)")"
c "SELECT credit_sandbox.create_subscription('next')" >/dev/null
conc_check "a subscription from now on reads nothing of what was sealed" "0" \
    "$(c "SELECT count(*) FROM credit_sandbox.read_feed('next')")"
conc_check "create_subscription twice: 42710" "42710" \
    "$(c "DO \$\$BEGIN PERFORM credit_sandbox.create_subscription('next'); EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END\$\$" 2>&1 | grep -o '42710')"

# one statement, operators on both workers: a two-phase commit across them
c "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
   SELECT 'CF-' || g, '2030-01-01 00:00+00', 'gun', 'firearms', 1 FROM generate_series(1, 8) g"
conc_check "the CF- operators sit on both workers" "2" \
    "$(c "SELECT count(DISTINCT nodeport) FROM unnest(ARRAY(SELECT 'CF-' || g FROM generate_series(1, 8) g)) o,
            LATERAL (SELECT nodeport FROM pg_dist_shard_placement
                      WHERE shardid = get_shard_id_for_distribution_column('credit_sandbox.transactions', o)) p")"
conc_check "their entries, from both workers, are read once each, above every position read before" "$(c "SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'CF-%'")|8|t" \
    "$(c "SELECT count(*), count(DISTINCT operator_id), min(position) > (SELECT max(position) FROM credit_sandbox.feed_entries
                                                                          WHERE operator_id NOT LIKE 'CF-%')
            FROM credit_sandbox.read_feed('next') WHERE operator_id LIKE 'CF-%'")"
conc_check "... and again the same, until acknowledged" "$(c "SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'CF-%'")" \
    "$(c "SELECT count(*) FROM credit_sandbox.read_feed('next') WHERE operator_id LIKE 'CF-%'")"

# error_of PSQL-OPTIONS: the SQLSTATE of the first error, through the coordinator
error_of() {
    psql -X -q -v VERBOSITY=verbose -p "$COORDINATOR" -d postgres "$@" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1
}

# A seal in progress commits on the coordinator before on the workers: it runs on one
# connection per worker, a reader meanwhile waits for it (on one node it would skip it), a
# read-only one is refused, and afterwards every entry is read once, in position order, as
# on one node.
for db in postgres one; do
    q "$db" "SELECT credit_sandbox.create_subscription('whole', true)" -p "$COORDINATOR" >/dev/null
    q "$db" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
             SELECT 'CG-' || g, '2030-01-01 00:00+00', 'gun', 'firearms', 1 FROM generate_series(1, 40) g" \
        -p "$COORDINATOR"
done
# (no slow start: in parallel mode Citus would open every connection it may at once)
PGAPPNAME=feed_sealer PGOPTIONS='-c citus.executor_slow_start_interval=0' \
    psql -X -q -A -t -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d postgres \
    -c 'BEGIN' -c 'SELECT citus_backend_gpid()' \
    -c "SELECT count(*) FROM credit_sandbox.read_feed('next', 100000) WHERE operator_id LIKE 'CG-%'" \
    -c 'SELECT pg_sleep(6)' -c 'COMMIT' >"$CONC_TMP/sealer.out" 2>&1 &
sealer=$!
CONC_PIDS+=("$sealer")
sleeping="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'feed_sealer' AND wait_event = 'PgSleep'"
for _ in $(seq 40); do [ "$(c "$sleeping")" = 1 ] && break; sleep 0.1; done
conc_check "a reader seals the new entries and holds its transaction open" "1" "$(c "$sleeping")"
# on one connection per worker, so one prepared transaction there: its positions and its
# update of feed_seal, which the next reader waits for, commit together
sealer_on="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'citus_internal gpid=$(head -n 1 "$CONC_TMP/sealer.out")'"
conc_check "... on one connection per worker" "1 1" \
    "$(q postgres "$sealer_on" -p "${WORKERS[0]}") $(q postgres "$sealer_on" -p "${WORKERS[1]}")"
# (it waits on the first worker, where Citus serialises the row locks of a reference table,
# SKIP LOCKED or not: there the SET LOCAL reaches)
conc_check "another reader meanwhile waits for it (lock_timeout: 55P03)" "55P03" \
    "$(error_of -c BEGIN -c "SET LOCAL citus.propagate_set_commands = 'local'" -c "SET LOCAL lock_timeout = '1s'" \
                -c "SELECT count(*) FROM credit_sandbox.read_feed('whole', 100000)" -c COMMIT)"
rc=0
wait "$sealer" || rc=$?
conc_check "the sealing reader commits, having read every new entry" \
    "0|$(c "SELECT count(*) FROM credit_sandbox.feed_entries WHERE operator_id LIKE 'CG-%'")" \
    "$rc|$(sed -n 2p "$CONC_TMP/sealer.out")"
conc_check "a read-only reader on Citus: 25006" "25006" \
    "$(error_of -c 'BEGIN READ ONLY' -c "SELECT count(*) FROM credit_sandbox.read_feed('whole', 100000)" -c COMMIT)"
whole="SELECT count(*), count(DISTINCT position), md5(string_agg(concat_ws('|', operator_id, code, list, subject_key,
                                                                      occurred_at, due_at), E'\n' ORDER BY operator_id, code, subject_key, occurred_at))
         FROM credit_sandbox.read_feed('whole', 100000) WHERE operator_id NOT LIKE 'CF-%'"
conc_check "then every entry once, the sealed ones included: one node's" "$(one "$whole")" "$(c "$whole")"
conc_true "... in position order" \
    "$(c "SELECT array_agg(position) = array_agg(position ORDER BY position) FROM credit_sandbox.read_feed('whole', 100000)")"
conc_finish
