#!/usr/bin/env bash
# feed_order.sh -- the feed's order and completeness under concurrent writers
# (README, "Delivery: the feed"), with real logins:
#   - four platform writers whose transactions stay open a random while, so that
#     they commit out of warning id order; one that keeps its transaction open
#     through the run (advisory locks held, SET CONSTRAINTS ALL IMMEDIATE), and
#     one that prepares its transaction and commits it later;
#   - two readers (an administrator login) of two subscriptions, each reading,
#     recording and acknowledging in one transaction, over and over, throughout:
#     they seal in turn.
# Checks: while the open and the prepared transactions wait, every other
# committed warning is delivered (nobody stalls the feed); in the end every
# warning is delivered exactly once, positions ascend in delivery order, the late
# ones come after entries they precede in id order; the platform can take no
# lock on the feed's tables.
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init feed_order

DB=cs_conc_feed
WRITERS=4 PER_WRITER=${CS_FEED_TXNS:-40}
conc_createdb "$DB"
q "$DB" "SELECT count(*) FROM credit_sandbox.create_roles('cs_fo_app', 'cs_fo_analyst', 'cs_fo_admin');
         CREATE ROLE cs_fo_platform LOGIN IN ROLE cs_fo_app;
         CREATE ROLE cs_fo_reader LOGIN IN ROLE cs_fo_admin;
         -- what the reader got, in the order it got it
         CREATE TABLE public.feed_delivered (seq bigint GENERATED ALWAYS AS IDENTITY, position bigint,
                                           warning_id bigint, batch int);
         CREATE TABLE public.feed_delivered2 (LIKE public.feed_delivered INCLUDING ALL);
         CREATE TABLE public.fo_stop (stop boolean);
         GRANT INSERT, SELECT ON public.feed_delivered, public.feed_delivered2, public.fo_stop TO cs_fo_reader" >/dev/null
drop_roles() {
    psql -X -q -d postgres -c "ROLLBACK PREPARED 'fo_prepared'" >/dev/null 2>&1 || true
    dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS cs_fo_platform, cs_fo_reader, cs_fo_app, cs_fo_analyst, cs_fo_admin" \
        >/dev/null 2>&1 || true
}
CONC_AT_EXIT+=(drop_roles)
q "$DB" "SELECT credit_sandbox.create_subscription('fo'); SELECT credit_sandbox.create_subscription('fo2')" \
    -U cs_fo_reader >/dev/null

as_platform() {  # as_platform SQL: prints output, or the SQLSTATE of the error
    PGOPTIONS='-c client_min_messages=error' psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
        -U cs_fo_platform -d "$DB" -c "$1" 2>&1 | sed 's/^ERROR:  \([0-9A-Z]\{5\}\)$/\1/'
}
for t in feed_entries feed_seal feed_subscriptions; do
    conc_check "the platform cannot lock $t" 42501 \
        "$(as_platform "BEGIN; LOCK TABLE credit_sandbox.$t IN ACCESS SHARE MODE; COMMIT")"
done
conc_check "the platform cannot read the feed" 42501 "$(as_platform "SELECT count(*) FROM credit_sandbox.read_feed('fo')")"

# an unregistered operator's 'ivory' sale: RL01 and RL03, two new warnings
sale() { echo "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
               VALUES ('$1', '2030-06-01 12:00+08', 'i', 'ivory', 1);"; }

# --- the readers, throughout: read up to 7 (5), record, acknowledge, commit
PGUSER=cs_fo_reader conc_session reader "$DB"
conc_send reader "$(conc_feed_consumer_sql fo 7 "EXISTS (SELECT FROM public.fo_stop)")
SELECT 'reader done';"
# a second subscription's reader beside it: the two seal in turn, neither waits
PGUSER=cs_fo_reader conc_session reader2 "$DB"
conc_send reader2 "$(conc_feed_consumer_sql fo2 5 "EXISTS (SELECT FROM public.fo_stop)" public.feed_delivered2)
SELECT 'reader done';"

# --- the one that stays open: first, so its warnings have the lowest ids; it holds
# every advisory lock it can take and makes its constraints immediate
PGUSER=cs_fo_platform conc_session hold "$DB"
conc_send hold "BEGIN; SET CONSTRAINTS ALL IMMEDIATE;
SELECT count(pg_advisory_lock(k)) FROM generate_series(1, 64) k;
$(sale FO-HOLD)
SELECT 'hold inserted';"
# --- the prepared one
PGUSER=cs_fo_platform conc_session prep "$DB"
conc_send prep "BEGIN; $(sale FO-PREP) PREPARE TRANSACTION 'fo_prepared'; SELECT 'prepared';"
for ((i = 0; i < 100; i++)); do
    grep -q 'hold inserted' "$CONC_TMP/hold.out" && grep -q prepared "$CONC_TMP/prep.out" && break
    sleep 0.1
done
conc_check "setup: the open and the prepared transactions have written their warnings" "hold inserted|prepared" \
    "$(grep -o 'hold inserted' "$CONC_TMP/hold.out")|$(grep -o prepared "$CONC_TMP/prep.out")"

# --- the writers: each transaction open 0-40 ms, commits interleaving
pids=()
for ((w = 1; w <= WRITERS; w++)); do
    f=$CONC_TMP/writer$w.sql
    for ((i = 1; i <= PER_WRITER; i++)); do
        echo "BEGIN; $(sale "FO-W$w-$i") SELECT pg_sleep(random() * 0.04) \\g /dev/null
              COMMIT;"
    done >"$f"
    PGOPTIONS='-c client_min_messages=error' psql -X -q -v ON_ERROR_STOP=1 -U cs_fo_platform -d "$DB" -f "$f" \
        >"$CONC_TMP/writer$w.log" 2>&1 &
    pids+=($!)
done
wfail=0
for p in "${pids[@]}"; do wait "$p" || wfail=$((wfail + 1)); done
conc_check "the writers committed their $((WRITERS * PER_WRITER)) transactions" 0 "$wfail"

# every committed warning is delivered while one transaction stays open and one is prepared
delivered_all() {
    q "$DB" "SELECT (SELECT count(*) FROM credit_sandbox.warnings) = (SELECT count(*) FROM public.feed_delivered)
                AND (SELECT count(*) FROM credit_sandbox.warnings) = (SELECT count(*) FROM public.feed_delivered2)"
}
for ((i = 0; i < 200; i++)); do [ "$(delivered_all)" = t ] && break; sleep 0.1; done
conc_check "an open and a prepared transaction hold up no other entry: all $((WRITERS * PER_WRITER * 2)) delivered" \
    "t|$((WRITERS * PER_WRITER * 2))" \
    "$(delivered_all)|$(q "$DB" "SELECT count(*) FROM public.feed_delivered")"

conc_send hold "COMMIT; SELECT 'hold committed';"
q "$DB" "COMMIT PREPARED 'fo_prepared'" -U cs_fo_platform >/dev/null
for ((i = 0; i < 200; i++)); do [ "$(delivered_all)" = t ] && break; sleep 0.1; done
q "$DB" "INSERT INTO public.fo_stop VALUES (true)" >/dev/null
for ((i = 0; i < 200; i++)); do
    grep -q 'reader done' "$CONC_TMP/reader.out" && grep -q 'reader done' "$CONC_TMP/reader2.out" && break
    sleep 0.1
done
conc_check "the readers ran to the end without an error" "reader done|reader done" \
    "$(cat "$CONC_TMP/reader.out")|$(cat "$CONC_TMP/reader2.out")"
conc_check "the second reader got the same entries at the same positions" "" \
    "$(q "$DB" "(SELECT position, warning_id FROM public.feed_delivered EXCEPT SELECT position, warning_id FROM public.feed_delivered2)
                UNION ALL
                (SELECT position, warning_id FROM public.feed_delivered2 EXCEPT SELECT position, warning_id FROM public.feed_delivered)")"

conc_check "every warning delivered exactly once" "$((WRITERS * PER_WRITER * 2 + 4))|0|0|0" \
    "$(q "$DB" "SELECT count(*),
                       (SELECT count(*) FROM credit_sandbox.warnings w
                         WHERE NOT EXISTS (SELECT FROM public.feed_delivered d WHERE d.warning_id = w.warning_id)),
                       (SELECT count(*) FROM public.feed_delivered d
                         WHERE NOT EXISTS (SELECT FROM credit_sandbox.warnings w WHERE w.warning_id = d.warning_id)),
                       count(*) - count(DISTINCT warning_id)
                  FROM public.feed_delivered")"
conc_check "positions strictly ascending in delivery order, for each reader" "0|0" \
    "$(q "$DB" "SELECT count(*) FROM (SELECT position <= lag(position) OVER (ORDER BY seq) AS back
                                        FROM public.feed_delivered) d WHERE back")|$(
       q "$DB" "SELECT count(*) FROM (SELECT position <= lag(position) OVER (ORDER BY seq) AS back
                                        FROM public.feed_delivered2) d WHERE back")"
conc_true "the writers committed out of id order: some entry was delivered after one with a higher id" \
    "$(q "$DB" "SELECT count(*) > 0 FROM (SELECT d.warning_id < max(d.warning_id) OVER (ORDER BY d.seq ROWS BETWEEN
                                                   UNBOUNDED PRECEDING AND 1 PRECEDING) AS late
                                            FROM public.feed_delivered d JOIN credit_sandbox.warnings w USING (warning_id)
                                           WHERE w.operator_id LIKE 'FO-W%') d WHERE late")"
conc_check "the open and the prepared transactions' entries: the lowest ids, delivered last" "4|4" \
    "$(q "$DB" "SELECT count(*) FILTER (WHERE w.operator_id IN ('FO-HOLD', 'FO-PREP')
                                         AND w.warning_id < (SELECT min(warning_id) FROM credit_sandbox.warnings
                                                              WHERE operator_id LIKE 'FO-W%')),
                       count(*) FILTER (WHERE w.operator_id IN ('FO-HOLD', 'FO-PREP')
                                         AND d.seq > (SELECT max(e.seq) FROM public.feed_delivered e
                                                        JOIN credit_sandbox.warnings v USING (warning_id)
                                                       WHERE v.operator_id LIKE 'FO-W%'))
                  FROM public.feed_delivered d JOIN credit_sandbox.warnings w USING (warning_id)")"
conc_check "the feed holds each warning once, every entry with a position" "0|0" \
    "$(q "$DB" "SELECT count(*) - count(DISTINCT warning_id), count(*) FILTER (WHERE position IS NULL)
                  FROM credit_sandbox.feed_entries")"
conc_end_session reader
conc_end_session reader2
conc_end_session hold
conc_end_session prep
conc_finish
