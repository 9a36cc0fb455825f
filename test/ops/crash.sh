#!/usr/bin/env bash
# crash.sh -- crash safety: the server is stopped with `pg_ctl stop -m
# immediate` (every server process killed at once, no shutdown checkpoint)
# during a multi-client load; after crash recovery every committed row is
# there, once, with exactly the warnings and hits the checks wrote for it.
# (The operating system survives, and its cache with it: this tests what
# PostgreSQL makes durable at COMMIT and the checks' transactionality, not
# the disk.)
#
# A cluster of its own (port CS_PGPORT + 1, fsync on, synchronous_commit on:
# a COMMIT returns once its WAL is flushed), the extension with the RL04
# threshold and a reference price armed.  CLIENTS psql clients each run a
# script of single- and multi-row transactions over the three event tables,
# hitting RL01, RL04, RL06 (a sandbox member: a tip, then warning clues and
# its exit), RL07, RL08 and RL09; every row carries its transaction's tag
# (transactions.buyer_id, complaints.channel, returns through their sale).  A
# client prints "begin TAG counts" before BEGIN and the ids INSERT ...
# RETURNING gave only after COMMIT returned.  After LOAD_SECONDS the server
# is stopped, restarted (crash recovery), and:
#   - every id reported committed is there with its tag;
#   - no id twice; every transaction's rows all there or none, never twice;
#     rows not reported committed belong to the one transaction each client
#     had in flight;
#   - no warning or hit for a row that is not there; every warning's hits
#     equal its logged hits; no duplicate open warning; indexes intact
#     (amcheck);
#   - credit_sandbox.check_consistency() (the evaluator re-run over the
#     stored rows in id order) reports nothing missing or extra;
#   - a new row is still checked.
# Each client writes the rows of its own operators only: rows of one
# operator from concurrent clients may commit out of id order (ids are drawn
# before the operator's lock is taken), which a replay in id order would
# rightly report; one client's rows commit in id order.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
cs_require_root "$@"

CLIENTS=4
LOAD_SECONDS=${CRASH_LOAD_SECONDS:-4}
DB=cs_ops_crash

CS_PGPORT=$((${CS_PGPORT:-54329} + 1)) CS_FSYNC=on cs_start_cluster >/dev/null
conc_init crash   # replaces the cluster's EXIT trap: the cluster is stopped by conc_cleanup
CONC_AT_EXIT+=(cs_stop_cluster)
conc_check "fsync and synchronous_commit on" "on|on" \
    "$(q postgres "SELECT current_setting('fsync') || '|' || current_setting('synchronous_commit')")"

# not conc_createdb: no need to drop it, the cluster goes
createdb "$DB"
{
    echo "CREATE EXTENSION credit_sandbox;"
    echo "UPDATE credit_sandbox.rules SET params = '{\"window\": \"24 hours\", \"threshold\": 4}' WHERE code = 'RL04';"
    echo "INSERT INTO credit_sandbox.reference_prices (category, price, valid_from) VALUES ('face_masks', 20, '2020-01-01');"
    for ((c = 1; c <= CLIENTS; c++)); do
        echo "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
              VALUES ('K$c-R', 'client $c retailer', 'r1', '2020-01-01', '2030-12-31', '{}'),
                     ('K$c-M', 'client $c member', 'r1', '2020-01-01', '2030-12-31', '{}');
              SELECT credit_sandbox.admit('K$c-M');"
    done
} | psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null

# client_script C: the endless stream of transactions of client C (operators
# K<C>-U unknown, K<C>-R registered, K<C>-M sandbox member), one minute apart;
# written as psql reads it, it ends when psql does
client_script() {
    awk -v c="$1" '
    function at(s, k) { return sprintf("timestamptz %s2025-03-01 00:00+08%s + interval %s%d minutes %d seconds%s", q, q, q, s, k, q) }
    function sale(op, s, k, tag, ship, item, title, cat, price) {
        return sprintf("(%sK%d-%s%s, %s, %s%s%s, %s, %s%s%s, %s%s%s, %s%s%s, 1, %d)", q, c, op, q, at(s, k), q, tag, q,
                       ship == "" ? "NULL" : q ship q, q, item, q, q, title, q, q, cat, q, price)
    }
    function insert(table, cols, id, values, var) {
        printf "WITH i AS (INSERT INTO credit_sandbox.%s (%s) VALUES %s RETURNING %s) ", table, cols, values, id
        printf "SELECT string_agg(%s::text, %s %s ORDER BY %s) AS %s FROM i \\gset\n", id, q, q, id, var
    }
    BEGIN {
        q = "\047"
        tcols = "operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price"
        for (s = 1; ; s++) {
            tag = "c" c "-" s
            kind = s % 5
            # begin TAG transactions returns complaints (rows planned)
            if (kind == 0) {
                print "\\echo begin " tag " 1 0 0\nBEGIN;"
                insert("transactions", tcols, "txn_id", sale("U", s, 0, tag, "", "u1", "cup", "kitchen", 10), "t")
            } else if (kind == 1) {     # three orders to one address: RL04
                ship = "a" c "-" int(s / 25)
                print "\\echo begin " tag " 3 0 0\nBEGIN;"
                insert("transactions", tcols, "txn_id",
                       sale("R", s, 0, tag, ship, "r1", "plain mug", "kitchen", 10) ", " \
                       sale("R", s, 1, tag, ship, "r1", "plain mug", "kitchen", 10) ", " \
                       sale("R", s, 2, tag, ship, "r1", "plain mug", "kitchen", 10), "t")
            } else if (kind == 2) {     # a complaint (RL08), a sale and its refused return (RL07)
                print "\\echo begin " tag " 1 1 1\nBEGIN;"
                insert("complaints", "operator_id, received_at, channel, category", "complaint_id",
                       sprintf("(%sK%d-R%s, %s, %s%s%s, %squality%s)", q, c, q, at(s, 0), q, tag, q, q, q), "k")
                insert("transactions", tcols, "txn_id", sale("R", s, 0, tag, "", "r2", "plain mug", "kitchen", 10), "t")
                insert("returns", "txn_id, operator_id, category, delivered_at, requested_at, outcome", "return_id",
                       sprintf("(:t, %sK%d-R%s, %skitchen%s, %s, %s + interval %s1 day%s, %srefused%s)",
                               q, c, q, q, q, at(s, 0), at(s, 0), q, q, q, q), "r")
            } else if (kind == 3) {     # the member: RL06 tip, then warning clues
                print "\\echo begin " tag " 1 0 0\nBEGIN;"
                insert("transactions", tcols, "txn_id",
                       sale("M", s, 0, tag, "", "m" (s % 4), "最佳 tea", "tea", 10), "t")
            } else {                    # two operators in one statement: RL01 and RL09
                print "\\echo begin " tag " 2 0 0\nBEGIN;"
                insert("transactions", tcols, "txn_id",
                       sale("U", s, 0, tag, "", "u1", "cup", "kitchen", 10) ", " \
                       sale("R", s, 1, tag, "", "r3", "mask", "face_masks", 40), "t")
            }
            print "COMMIT;"
            print "\\echo commit " tag " transactions :t"
            if (kind == 2) {
                print "\\echo commit " tag " complaints :k"
                print "\\echo commit " tag " returns :r"
            }
        }
    }'
}

pids=()
for ((c = 1; c <= CLIENTS; c++)); do
    # the subshell exits with psql's status
    (client_script "$c" | psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f - \
         >"$CONC_TMP/client$c.out" 2>"$CONC_TMP/client$c.err"
     exit "${PIPESTATUS[1]}") &
    pids+=($!)
    CONC_PIDS+=($!)
done
sleep "$LOAD_SECONDS"
busy=0
for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then busy=$((busy + 1)); fi
done
cs_as_pg pg_ctl -D "$CS_DIR/data" -m immediate -w stop >/dev/null
conc_check "$CLIENTS clients inserting when the server was stopped" "$CLIENTS" "$busy"
for ((c = 1; c <= CLIENTS; c++)); do
    rc=0
    wait "${pids[c - 1]}" || rc=$?
    n=$(grep -c '^commit .* transactions' "$CONC_TMP/client$c.out" || true)
    # psql exits with 2 when it loses its connection between statements, and
    # with 3 (an SQL error under ON_ERROR_STOP) when it loses it during one
    lost=f
    if [ "$rc" -eq 2 ] || { [ "$rc" -eq 3 ] &&
        grep -qE 'terminated abnormally|connection to server was lost|server closed the connection' \
            "$CONC_TMP/client$c.err"; }; then
        lost=t
    fi
    conc_true "client $c: $n transactions committed, then lost its connection" \
        "$([ "$n" -ge 20 ] && [ "$lost" = t ] && echo t || echo f)" \
        "psql exit $rc: $(tail -n 2 "$CONC_TMP/client$c.err" | tr '\n' ' ')"
done

cs_as_pg pg_ctl -D "$CS_DIR/data" -l "$CS_DIR/server.log" -w start >/dev/null
conc_true "the server restarted through crash recovery" \
    "$(grep -q 'redo starts at' "$CS_DIR/server.log" && echo t || echo f)" "no redo in the server log"

# what the clients saw: committed rows (table, id, tag) and the transactions begun
awk '$1 == "commit" { for (i = 4; i <= NF; i++) print $3 "\t" $i "\t" $2 }' "$CONC_TMP"/client*.out \
    >"$CONC_TMP/committed.tsv"
awk '$1 == "begin" { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$CONC_TMP"/client*.out >"$CONC_TMP/begun.tsv"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
CREATE TABLE public.committed (tab text, id bigint, tag text);
CREATE TABLE public.begun (tag text PRIMARY KEY, transactions int, returns int, complaints int,
                           client text GENERATED ALWAYS AS (split_part(tag, '-', 1)) STORED,
                           seq int GENERATED ALWAYS AS (split_part(tag, '-', 2)::int) STORED);
\copy public.committed FROM '$CONC_TMP/committed.tsv'
\copy public.begun (tag, transactions, returns, complaints) FROM '$CONC_TMP/begun.tsv'
-- the rows there now, with their transaction's tag
CREATE VIEW public.present AS
SELECT 'transactions' AS tab, txn_id AS id, buyer_id AS tag FROM credit_sandbox.transactions
UNION ALL
SELECT 'returns', r.return_id, t.buyer_id FROM credit_sandbox.returns r LEFT JOIN credit_sandbox.transactions t USING (txn_id)
UNION ALL
SELECT 'complaints', complaint_id, channel FROM credit_sandbox.complaints;
SQL

read -r n_committed n_missing < <(q "$DB" "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                                               SELECT FROM public.present p WHERE (p.tab, p.id, p.tag) = (c.tab, c.id, c.tag)))
                                             FROM public.committed c" -F ' ')
conc_check "every committed row is there with its transaction's tag ($n_committed rows)" 0 "$n_missing"
conc_check "no id twice" "0" \
    "$(q "$DB" "SELECT count(*) - count(DISTINCT (tab, id)) FROM public.present")"
conc_check "every transaction's rows there in full or not at all, none twice" "" \
    "$(q "$DB" "SELECT string_agg(format('%s: %s transactions, %s returns, %s complaints', p.tag, p.t, p.r, p.k), ', ')
                  FROM (SELECT tag, count(*) FILTER (WHERE tab = 'transactions') AS t,
                               count(*) FILTER (WHERE tab = 'returns') AS r,
                               count(*) FILTER (WHERE tab = 'complaints') AS k
                          FROM public.present GROUP BY tag) p
                  LEFT JOIN public.begun b USING (tag)
                 WHERE (p.t, p.r, p.k) IS DISTINCT FROM (b.transactions, b.returns, b.complaints)")"
in_flight=$(q "$DB" "SELECT count(DISTINCT tag) FROM public.present p
                      WHERE NOT EXISTS (SELECT FROM public.committed c WHERE c.tag = p.tag)")
conc_check "rows not reported committed are those of a client's last transaction ($in_flight of $CLIENTS landed)" "" \
    "$(q "$DB" "SELECT string_agg(DISTINCT p.tag, ', ') FROM public.present p JOIN public.begun b USING (tag)
                 WHERE NOT EXISTS (SELECT FROM public.committed c WHERE c.tag = p.tag)
                   AND b.seq <> (SELECT max(x.seq) FROM public.begun x WHERE x.client = b.client)")"

conc_check "no warning or logged hit for a row that is not there" "0" \
    "$(q "$DB" "SELECT (SELECT count(*) FROM credit_sandbox.warning_hits h
                         WHERE NOT EXISTS (SELECT FROM public.present p WHERE (p.tab, p.id) = (h.source_table, h.source_id)))
                     + (SELECT count(*) FROM credit_sandbox.warnings w
                         WHERE NOT EXISTS (SELECT FROM public.present p WHERE (p.tab, p.id) = (w.source_table, w.source_id)))")"
conc_check "warnings landed during the load" "RL01,RL04,RL06,RL07,RL08,RL09" \
    "$(q "$DB" "SELECT string_agg(DISTINCT code, ',' ORDER BY code) FROM credit_sandbox.warnings")"
conc_hit_log "$DB" "%" "after the crash"
conc_no_duplicate_open "$DB" "after the crash"
conc_true "every index of the extension intact (amcheck, heap and index agree)" \
    "$(q "$DB" "CREATE EXTENSION amcheck;
                SELECT count(bt_index_check(c.oid, true)) > 10
                  FROM pg_class c JOIN pg_am am ON am.oid = c.relam
                 WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'i' AND am.amname = 'btree'")"

# the evaluator re-run over the stored rows must find every logged hit, and no other
if problems=$(q "$DB" "SELECT format('%s %s %s %s: %s', source_table, source_id, operator_id, code, problem)
                         FROM credit_sandbox.check_consistency()" 2>&1); then
    conc_check "check_consistency() reports nothing missing or extra" "" "$problems"
else
    conc_notok "check_consistency() failed: $problems"
fi

conc_check "a new row is still checked: the open RL01 warning counts it" \
    "$(q "$DB" "SELECT hits + 1 FROM credit_sandbox.warnings WHERE operator_id = 'K1-U' AND code = 'RL01' AND status = 'open'")" \
    "$(q "$DB" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                VALUES ('K1-U', '2025-06-01 00:00+08', 'u1', 10);
                SELECT hits FROM credit_sandbox.warnings WHERE operator_id = 'K1-U' AND code = 'RL01' AND status = 'open'")"

conc_finish
