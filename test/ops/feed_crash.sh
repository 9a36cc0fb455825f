#!/usr/bin/env bash
# feed_crash.sh -- the feed across a crash (README, "Delivery: the feed"): the
# server is stopped with `pg_ctl stop -m immediate` while platforms write,
# a consumer reads, records and acknowledges in one transaction over and over,
# another has read entries it has not acknowledged, a third is mid-way (it has
# read and acknowledged in a transaction not yet committed), and a platform's
# transaction is prepared.  After crash recovery:
#   - the unacknowledged read returns the same entries, at the same positions,
#     and the mid-way reader's uncommitted acknowledgement is gone;
#   - every warning has its entry and no entry is without its warning;
#   - the prepared transaction, committed after the restart, is delivered;
#   - the consumer, resumed, has every warning exactly once, in ascending
#     positions, across the crash.
# A cluster of its own (port CS_PGPORT + 1, fsync on, synchronous_commit on), as
# test/ops/crash.sh.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
cs_require_root "$@"

WRITERS=3
DB=cs_ops_feed_crash

CS_PGPORT=$((${CS_PGPORT:-54329} + 1)) CS_FSYNC=on cs_start_cluster >/dev/null
conc_init feed_crash   # replaces the cluster's EXIT trap: the cluster is stopped by conc_cleanup
CONC_AT_EXIT+=(cs_stop_cluster)
conc_check "fsync and synchronous_commit on" "on|on" \
    "$(q postgres "SELECT current_setting('fsync') || '|' || current_setting('synchronous_commit')")"

createdb "$DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
CREATE EXTENSION credit_sandbox;
SELECT credit_sandbox.create_subscription('consumer');
SELECT credit_sandbox.create_subscription('unacked');
-- what the consumer got, in the order it got it, written with its ack
CREATE TABLE public.feed_delivered (seq bigint GENERATED ALWAYS AS IDENTITY, position bigint, warning_id bigint,
                                    batch int);
SQL

# writers: one unregistered operator's 'ivory' sale a transaction (RL01, RL03), without end
pids=()
for ((w = 1; w <= WRITERS; w++)); do
    (for ((i = 1; ; i++)); do
         echo "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
               VALUES ('FC-W$w-$i', '2030-06-01 12:00+08', 'i', 'ivory', 1);"
     done | psql -X -q -d "$DB" -f - >/dev/null 2>&1 || true) &
    pids+=($!)
    CONC_PIDS+=($!)
done
conc_feed_consumer_sql consumer 10 false | psql -X -q -d "$DB" -f - >"$CONC_TMP/consumer1.out" 2>&1 &
CONC_PIDS+=($!)
sleep 1.5

# the unacknowledged read (committed), then the mid-way reader and the prepared transaction
q "$DB" "SELECT position || ':' || warning_id FROM credit_sandbox.read_feed('unacked', 50)" >"$CONC_TMP/unacked.before"
conc_session mid "$DB"
conc_send mid "BEGIN; SELECT 'mid ' || count(*) FROM credit_sandbox.read_feed('unacked', 500);
SELECT 'mid acked ' || credit_sandbox.ack_feed('unacked', 9223372036854775807);"
conc_session prep "$DB"
conc_send prep "BEGIN;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('FC-PREP', '2030-06-01 12:00+08', 'i', 'ivory', 1);
PREPARE TRANSACTION 'fc_prepared'; SELECT 'prepared';"
conc_true "setup: the mid-way reader has read and acknowledged, uncommitted" \
    "$(conc_wait_backend mid 'idle in transaction' '%ack_feed%' && echo t || echo f)"
for ((i = 0; i < 100; i++)); do grep -q prepared "$CONC_TMP/prep.out" && break; sleep 0.1; done
conc_check "setup: a prepared transaction with new warnings" prepared "$(cat "$CONC_TMP/prep.out")"
sleep 0.5
busy=0
for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then busy=$((busy + 1)); fi; done
cs_as_pg pg_ctl -D "$CS_DIR/data" -m immediate -w stop >/dev/null
conc_check "$WRITERS writers inserting when the server was stopped" "$WRITERS" "$busy"
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
conc_end_session mid
conc_end_session prep

cs_as_pg pg_ctl -D "$CS_DIR/data" -l "$CS_DIR/server.log" -w start >/dev/null
conc_true "the server restarted through crash recovery" \
    "$(grep -q 'redo starts at' "$CS_DIR/server.log" && echo t || echo f)" "no redo in the server log"

n_before=$(wc -l <"$CONC_TMP/unacked.before")
# (more may follow them, if fewer than 50 had positions then)
q "$DB" "SELECT position || ':' || warning_id FROM credit_sandbox.read_feed('unacked', 50)" | head -n "$n_before" \
    >"$CONC_TMP/unacked.after"
conc_true "the unacknowledged read returns the same $n_before entries, same positions, after the crash" \
    "$([ "$n_before" -ge 10 ] && cmp -s "$CONC_TMP/unacked.before" "$CONC_TMP/unacked.after" && echo t || echo f)" \
    "$(diff "$CONC_TMP/unacked.before" "$CONC_TMP/unacked.after" | head -n 5 | tr '\n' ' ')"
conc_check "the mid-way reader's uncommitted ack is gone" 0 \
    "$(q "$DB" "SELECT acked_to FROM credit_sandbox.feed_subscriptions WHERE name = 'unacked'")"
conc_check "every warning has its entry, every entry its warning" "0|0|0" \
    "$(q "$DB" "SELECT (SELECT count(*) FROM credit_sandbox.warnings w
                         WHERE NOT EXISTS (SELECT FROM credit_sandbox.feed_entries e WHERE e.warning_id = w.warning_id)),
                       (SELECT count(*) FROM credit_sandbox.feed_entries e
                         WHERE NOT EXISTS (SELECT FROM credit_sandbox.warnings w WHERE w.warning_id = e.warning_id)),
                       (SELECT count(*) - count(DISTINCT warning_id) FROM credit_sandbox.feed_entries)")"
conc_check "the prepared transaction survived the crash, and commits" "fc_prepared|ok" \
    "$(q "$DB" "SELECT gid FROM pg_prepared_xacts")|$(q "$DB" "COMMIT PREPARED 'fc_prepared'" >/dev/null && echo ok)"

at_restart=$(q "$DB" "SELECT count(*) FROM public.feed_delivered")
conc_feed_consumer_sql consumer 10 true | psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f - >"$CONC_TMP/consumer2.out" 2>&1 \
    || conc_notok "the consumer resumed with an error: $(cat "$CONC_TMP/consumer2.out")"
n=$(q "$DB" "SELECT count(*) FROM credit_sandbox.warnings")
conc_check "across the crash the consumer got every warning exactly once ($n, 2 of them prepared)" "$n|0|0|2" \
    "$(q "$DB" "SELECT count(*),
                       (SELECT count(*) FROM credit_sandbox.warnings w
                         WHERE NOT EXISTS (SELECT FROM public.feed_delivered d WHERE d.warning_id = w.warning_id)),
                       count(*) - count(DISTINCT warning_id),
                       (SELECT count(*) FROM public.feed_delivered d JOIN credit_sandbox.warnings w USING (warning_id)
                         WHERE w.operator_id = 'FC-PREP')
                  FROM public.feed_delivered")"
conc_check "in ascending positions" 0 \
    "$(q "$DB" "SELECT count(*) FROM (SELECT position <= lag(position) OVER (ORDER BY seq) AS back
                                        FROM public.feed_delivered) d WHERE back")"
conc_true "it had delivered entries before the crash ($at_restart) and more after" \
    "$(q "$DB" "SELECT $at_restart > 0 AND count(*) > $at_restart FROM public.feed_delivered")"

conc_finish
