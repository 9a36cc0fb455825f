#!/usr/bin/env bash
# citus.sh -- the benchmark on a Citus cluster (not part of the test suite): everything
# through the coordinator, the extension against the same distributed tables without
# checks, with one worker and then with two.
#
#   bash test/bench/citus.sh [--operators N] [--txns N] [--runs K] [--pgbench-time S]
#                            [--clients C]
# As root, or through sudo. Needs Citus installed for the PostgreSQL in use.
#
# The cluster (test/citus/lib.bash: a coordinator and one worker on loopback, fsync and
# synchronous_commit on) gets the project's generated marketplace (generate.sql: N
# operators, N transactions, returns 2.5 % and complaints 1.5 % of them) in schema
# bench_data, and two targets distributed by operator_id in one co-location group:
# credit_sandbox (the extension after distribute(); admit=off) and plain (its
# operators, lists and event tables copied with LIKE ... INCLUDING ALL, no triggers).
# Each run measures, for each target, after emptying its event tables:
#   INSERT..SELECT  load.sql phase=events: arrival batches of 2,000 rows, three
#                   statements a batch, one transaction each
#   COPY            transactions, returns, complaints (arrival order, one COPY each,
#                   read from the coordinator's bench_data), rows/s
#   pgbench         single-row INSERT transactions of random operators (-c C -j 2 -T S),
#                   test/bench/run.sh's statement
#   pgbench_hits    the same, every row a hit of an open warning (the worst case)
# Then a second worker joins, the shards are rebalanced, and the runs are repeated. The
# table gives medians over the runs: rows/s (or TPS), the ratio extension/plain, and
# rows/s per worker; then the ratio in each run. All the nodes share this machine's
# cores: per-worker figures show how the work splits, not what separate machines would
# give (README, "Scaling out with Citus", for the arithmetic of a larger cluster).
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../citus/lib.bash"
cs_require_root "$@"

OPERATORS=2000 TXNS=100000 RUNS=3 PGBENCH_TIME=20 CLIENTS=4
while [ $# -gt 0 ]; do
    case $1 in
        --operators) OPERATORS=$2; shift 2 ;;
        --txns) TXNS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --pgbench-time) PGBENCH_TIME=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        *) cs_die "unknown option $1" ;;
    esac
done

export CITUS_WORKERS=1 CS_SERVER_CONF="fsync = on
synchronous_commit = on
shared_buffers = 512MB
max_wal_size = 4GB
checkpoint_timeout = 30min"
cs_build_install >/dev/null
citus_start citus_bench
RESULTS=$CONC_TMP/results    # one line per measurement: workers target kind value

echo "== generate.sql: operators=$OPERATORS txns=$TXNS"
psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d postgres -v operators="$OPERATORS" -v txns="$TXNS" \
    -v returns=$((TXNS / 40)) -v complaints=$((TXNS * 3 / 200)) -v seed=0.42 \
    -f "$CS_REPO/test/bench/generate.sql" >/dev/null
EVENTS=$(c "SELECT (SELECT count(*) FROM bench_data.transactions) + (SELECT count(*) FROM bench_data.returns)
               + (SELECT count(*) FROM bench_data.complaints)")

# plain: the same tables, distributed the same way, without the extension's triggers
c "CREATE SCHEMA plain"
for t in operators operator_lists transactions returns complaints; do
    c "CREATE TABLE plain.$t (LIKE credit_sandbox.$t INCLUDING ALL)"
    c "SELECT create_distributed_table('plain.$t', 'operator_id', colocate_with => 'credit_sandbox.transactions')" >/dev/null
done
for target in credit_sandbox plain; do
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d postgres -v target=$target -v admit=off -v phase=master \
        -f "$CS_REPO/test/bench/load.sql" >/dev/null
done

empty() {  # target
    local derived=""
    [ "$1" = credit_sandbox ] && derived=", credit_sandbox.warnings, credit_sandbox.warning_hits, credit_sandbox.feed_entries"
    c "TRUNCATE $1.transactions, $1.returns, $1.complaints$derived"
}
seconds() {  # command...: wall-clock seconds it took
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
insert_select() {
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d postgres -v target="$1" -v admit=off -v phase=events \
        -f "$CS_REPO/test/bench/load.sql"
}
copy_events() {
    local spec table cols
    for spec in "transactions:txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price" \
                "returns:return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome" \
                "complaints:complaint_id, operator_id, received_at, channel, category"; do
        table=${spec%%:*} cols=${spec#*:}
        c "COPY (SELECT $cols FROM bench_data.$table ORDER BY arrival) TO STDOUT" \
            | c "COPY $1.$table ($cols) FROM STDIN"
    done
}
# Single-row INSERTs of random operators. pgbench: test/bench/run.sh's statement (random
# buyers and times, 12 items an operator, a list price on 5 %), where a row seldom hits.
# pgbench_hits: every row of an operator to its one address, the item's price random, so
# after the first rows each row is a hit of RL04 (and often RL05): a hit logged and its
# warning updated per row, the worst case.
cat >"$CONC_TMP/pgbench.sql" <<EOF
\\set op random(1, $OPERATORS)
\\set it random(1, 12)
\\set sec random(0, 7775999)
\\set buyer random(1, 1000000)
\\set cents random(100, 100000)
\\set disc random(1, 100)
INSERT INTO :target.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price) VALUES ('OP' || lpad(:op::text, 6, '0'), timestamptz '2025-01-01 00:00+08' + :sec * interval '1 second', 'PB' || :buyer, substr(md5('pgb:' || :buyer), 1, 16), 'OP' || lpad(:op::text, 6, '0') || '-' || :it, '测试商品 ' || :it, 'books', 1, :cents / 100.0, CASE WHEN :disc <= 5 THEN :cents / 80.0 END);
EOF
cat >"$CONC_TMP/pgbench_hits.sql" <<EOF
\\set op random(1, $OPERATORS)
\\set price random(1, 500)
INSERT INTO :target.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, unit_price) VALUES ('OP' || lpad(:op::text, 6, '0'), now(), 'pgb', 'pgbench-' || :op, 'pgbench-item', 'pgbench item', 'electronics', :price);
EOF
pgbench_tps() {  # target script
    pgbench -n -p "$COORDINATOR" -d postgres -c "$CLIENTS" -j 2 -T "$PGBENCH_TIME" -D target="$1" \
        -f "$CONC_TMP/$2.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# Before each pgbench, as test/bench/run.sh does: VACUUM ANALYZE of the table (through the
# coordinator, every shard), so that no autovacuum of the load before runs meanwhile, and
checkpoint() {  # on every node, so that no checkpoint of one measure falls in the next
    local port
    for port in "$COORDINATOR" "${WORKERS[@]}" "${ADDED_WORKERS[@]}"; do
        q postgres 'CHECKPOINT' -p "$port"
    done
}

measure() {  # workers
    local run target s kind
    for ((run = 1; run <= RUNS; run++)); do
        for target in plain credit_sandbox; do
            empty $target
            checkpoint
            s=$(seconds insert_select $target)
            echo "$1 $target insert_select $(echo "$EVENTS / $s" | bc)" >>"$RESULTS"
            empty $target
            checkpoint
            s=$(seconds copy_events $target)
            echo "$1 $target copy $(echo "$EVENTS / $s" | bc)" >>"$RESULTS"
            for kind in pgbench pgbench_hits; do
                c "VACUUM ANALYZE $target.transactions"
                checkpoint
                echo "$1 $target $kind $(pgbench_tps $target $kind)" >>"$RESULTS"
            done
            echo "   workers=$1 run $run $target done"
        done
    done
}

echo "== one worker: $RUNS run(s)"
measure 1
echo "== a second worker, shards rebalanced"
citus_add_worker "$((COORDINATOR + 2))"
c "SET client_min_messages = warning; SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" >/dev/null
c "SELECT citus_rebalance_wait()" >/dev/null
echo "== two workers: $RUNS run(s)"
measure 2

middle() {  # numbers, one a line: their median
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
median() {  # workers target kind
    awk -v w="$1" -v t="$2" -v k="$3" '$1 == w && $2 == t && $3 == k { print $4 }' "$RESULTS" | middle
}
run_ratios() {  # workers kind: credit_sandbox / plain in each run, one a line
    awk -v w="$1" -v k="$2" '$1 == w && $3 == k { if ($2 == "plain") p[++np] = $4; else e[++ne] = $4 }
        END { for (i = 1; i <= ne; i++) printf "%.2f\n", e[i] / p[i] }' "$RESULTS"
}
echo
echo "credit_sandbox on Citus: $OPERATORS operators, $EVENTS events, medians of $RUNS run(s), $CLIENTS pgbench clients"
printf '%-8s %-15s %12s %12s %7s %16s\n' workers measure plain credit_sandbox ratio "ext per worker"
for w in 1 2; do
    for kind in copy insert_select pgbench pgbench_hits; do
        p=$(median $w plain $kind) e=$(median $w credit_sandbox $kind)
        printf '%-8s %-15s %12.0f %12.0f %7.2f %16.0f\n' "$w" "$kind" "$p" "$e" "$(echo "$e / $p" | bc -l)" \
            "$(echo "$e / $w" | bc -l)"
    done
done
echo "(rows/s for copy and insert_select, transactions/s for pgbench and pgbench_hits)"
echo "ratio in each run (plain and credit_sandbox measured one after the other), and their median:"
for w in 1 2; do
    for kind in copy insert_select pgbench pgbench_hits; do
        printf '%-8s %-15s %s (median %.2f)\n' "$w" "$kind" "$(run_ratios $w $kind | paste -sd ' ')" \
            "$(run_ratios $w $kind | middle)"
    done
done
conc_finish
