#!/usr/bin/env bash
# hot_path.sh -- the checks on a Citus cluster (SPEC.md section 7), everything through
# the coordinator (test/citus/lib.bash starts it), compared with one node.
#
#   bash test/citus/hot_path.sh   (as root, or through sudo; test/check.sh runs it)
#
# distribute() makes every table of the extension distributed by operator_id in one
# co-location group or a reference table, and a second call changes nothing; the
# project's generated marketplace loaded through the coordinator in arrival batches
# (INSERT ... SELECT spanning every shard), then as COPY and as multi-row VALUES, gives
# the warnings and hits one node gives; warning and feed ids are unique across the
# cluster; a rule edit and a list edit reach the next row on every worker, and every
# node records the removal; four writers on one operator stay exact; the regulator's
# login reads the warnings through the coordinator.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_hot_path

# --------------------------------------------------------------------- distribution
conc_check "distribute(): every table of the extension is distributed or a reference table" \
    "0" "$(c "SELECT count(*) FROM pg_class t WHERE t.relnamespace = 'credit_sandbox'::regnamespace
                AND t.relkind IN ('r', 'p') AND NOT t.relispartition
                AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t.oid)")"
conc_check "distribute(): the distributed tables are co-located, by operator_id" \
    "1|1" "$(c "SELECT count(DISTINCT colocationid), count(DISTINCT column_to_column_name(logicalrelid, partkey))
                FROM pg_dist_partition WHERE partmethod = 'h'
                 AND logicalrelid::regclass::text LIKE 'credit_sandbox.%'")"
layout=$(c "SELECT string_agg(logicalrelid::regclass || partmethod || colocationid, ',' ORDER BY 1) FROM pg_dist_partition")
c 'SET client_min_messages = warning; SELECT credit_sandbox.distribute()' >/dev/null
conc_check "distribute() again changes nothing" \
    "$layout" "$(c "SELECT string_agg(logicalrelid::regclass || partmethod || colocationid, ',' ORDER BY 1) FROM pg_dist_partition")"

# --------------------------------------------------------------------- one node's results
citus_marketplace
expected=$(one "$CITUS_OUTCOME_SQL")
conc_true "the generated marketplace raises warnings on one node" \
    "$(one "SELECT count(*) > 100 FROM credit_sandbox.warnings")"
conc_check "INSERT ... SELECT in arrival batches through the coordinator: one node's warnings and hits" \
    "$expected" "$(c "$CITUS_OUTCOME_SQL")"
conc_true "warning ids are unique across the cluster, the workers' above their group's 2^48" \
    "$(c "SELECT count(*) = count(DISTINCT warning_id) AND min(warning_id) >= 2^48 FROM credit_sandbox.warnings")"
conc_check "every warning has one feed entry, with an id unique across the cluster" \
    "$(c "SELECT count(*), count(*) FROM credit_sandbox.warnings")" \
    "$(c "SELECT count(*), count(DISTINCT entry_id) FROM credit_sandbox.feed_entries")"

# the same events again into emptied tables: COPY (each table in arrival order), then
# multi-row VALUES of 50 rows spanning operators and workers
TXN_COLS="txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price"
RET_COLS="return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome"
CMP_COLS="complaint_id, operator_id, received_at, channel, category"
reset_events() {  # db
    q "$1" "TRUNCATE credit_sandbox.transactions, credit_sandbox.returns, credit_sandbox.complaints,
                     credit_sandbox.warnings, credit_sandbox.warning_hits, credit_sandbox.feed_entries" -p "$COORDINATOR"
}
copy_events() {  # db
    local spec table cols
    for spec in "transactions:$TXN_COLS" "returns:$RET_COLS" "complaints:$CMP_COLS"; do
        table=${spec%%:*} cols=${spec#*:}
        q "$1" "COPY (SELECT $cols FROM bench_data.$table ORDER BY arrival) TO STDOUT" -p "$COORDINATOR" \
            | q "$1" "COPY credit_sandbox.$table ($cols) FROM STDIN" -p "$COORDINATOR"
    done
}
values_events() {  # db
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$1" >/dev/null <<EOF
SELECT format('INSERT INTO credit_sandbox.transactions ($TXN_COLS) VALUES %s',
              string_agg(format('(%s, %L, %L, %L, %L, %L, %L, %L, %s, %s, %s)', txn_id, operator_id, occurred_at,
                                buyer_id, ship_to, item_id, item_title, category, coalesce(quantity::text, 'NULL'),
                                unit_price, coalesce(list_price::text, 'NULL')), ', ' ORDER BY arrival))
  FROM bench_data.transactions GROUP BY arrival / 50 ORDER BY arrival / 50
\gexec
EOF
}
for db in postgres one; do reset_events "$db"; copy_events "$db"; done
expected=$(one "$CITUS_OUTCOME_SQL")
conc_check "COPY through the coordinator: one node's warnings and hits" "$expected" "$(c "$CITUS_OUTCOME_SQL")"
for db in postgres one; do reset_events "$db"; values_events "$db"; done
expected=$(one "$CITUS_OUTCOME_SQL")
conc_true "multi-row VALUES on one node raise warnings" "$(one "SELECT count(*) > 50 FROM credit_sandbox.warnings")"
conc_check "multi-row VALUES through the coordinator: one node's warnings and hits" "$expected" "$(c "$CITUS_OUTCOME_SQL")"

# --------------------------------------------------------------------- edits reach every worker
# eight unregistered operators over both workers sell firearms (RL03, a prohibited category)
sell_firearms() {  # item
    c "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
       SELECT 'CT-' || g, '2030-01-01 00:00+00', '$1', 'firearms', 1 FROM generate_series(1, 8) g"
}
rl03_count() {  # item
    c "SELECT count(*) FROM credit_sandbox.warnings WHERE code = 'RL03' AND subject_key = '$1'"
}
conc_check "the CT- operators sit on both workers" "2" \
    "$(c "SELECT count(DISTINCT nodeport) FROM unnest(ARRAY(SELECT 'CT-' || g FROM generate_series(1, 8) g)) o,
            LATERAL (SELECT nodeport FROM pg_dist_shard_placement
                      WHERE shardid = get_shard_id_for_distribution_column('credit_sandbox.transactions', o)) p")"
sell_firearms gun-1
conc_check "RL03 fires on every worker" "8" "$(rl03_count gun-1)"
c "UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL03'"
sell_firearms gun-2
conc_check "a rule disabled on the coordinator: no worker checks it on the next row" "0" "$(rl03_count gun-2)"
c "UPDATE credit_sandbox.rules SET enabled = true WHERE code = 'RL03'"
c "DELETE FROM credit_sandbox.prohibited_categories WHERE category = 'firearms'"
sell_firearms gun-3
conc_check "a category taken off the list: no worker warns on the next row" "0" "$(rl03_count gun-3)"
conc_check "... and every node recorded the removal" "3" \
    "$(c "SELECT sum(result::int) FROM run_command_on_all_nodes(\$\$SELECT count(*) FROM credit_sandbox.removed_rows
            WHERE table_name = 'prohibited_categories' AND key = '{\"category\": \"firearms\"}'\$\$)")"
c "INSERT INTO credit_sandbox.prohibited_categories (category) VALUES ('firearms')"
sell_firearms gun-4
conc_check "put back: every worker warns again" "8" "$(rl03_count gun-4)"
conc_check "rule_history has the two new versions of RL03" "3" \
    "$(c "SELECT count(*) FROM credit_sandbox.rule_history WHERE code = 'RL03'")"

# --------------------------------------------------------------------- four writers, one operator
for w in 1 2 3 4; do
    (for i in $(seq 1 25); do
        c "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
           VALUES ('CT-four', '2030-02-01 00:00+00'::timestamptz + interval '$w minutes' + interval '$i seconds',
                   'gun-four', 'firearms', 1)"
     done) &
done
wait
conc_check "four writers on one operator: one open RL03 warning, every hit counted" "1|100" \
    "$(c "SELECT count(*), sum(hits) FROM credit_sandbox.warnings WHERE operator_id = 'CT-four' AND code = 'RL03'")"
conc_check "... and logged" "100" \
    "$(c "SELECT count(*) FROM credit_sandbox.warning_hits h JOIN credit_sandbox.warnings w USING (operator_id, warning_id)
            WHERE h.operator_id = 'CT-four' AND w.code = 'RL03'")"

# --------------------------------------------------------------------- an index dropped on one shard
# A worker's backend keeps which index reads RL04's window on each shard. An index dropped on
# the shard alone (by hand on the worker, not through the coordinator) leaves the table
# unchanged: the same backend's next check must take the query instead, not fail.
idx_shard=$(c "SELECT get_shard_id_for_distribution_column('credit_sandbox.transactions', 'CT-idx')")
orders() {  # minute: ten orders of CT-idx to one address, a minute apart from the given one
    echo "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, category, unit_price)
          SELECT 'CT-idx', '2030-03-01 00:00+00'::timestamptz + interval '1 minute' * ($1 + g), 'addr-idx', 'idx',
                 'books', 1
            FROM generate_series(1, 10) g"
}
# in one session, so on the one worker connection Citus keeps for it: orders, the drop, orders
c "$(orders 10)" -c "$(orders 0)" -c "SELECT count(*) FROM run_command_on_workers(
    \$\$DROP INDEX IF EXISTS credit_sandbox.transactions_operator_ship_to_$idx_shard\$\$) WHERE success" >/dev/null
one "$(orders 0)"
one "$(orders 10)"
idx_outcome="SELECT count(*), sum(hits) FROM credit_sandbox.warnings WHERE operator_id = 'CT-idx' AND code = 'RL04'"
conc_true "twenty orders to one address raise RL04 on one node" "$(one "SELECT count(*) > 0 FROM credit_sandbox.warnings
    WHERE operator_id = 'CT-idx' AND code = 'RL04'")"
conc_check "an index dropped on one shard alone: the next check reads its window by query, as one node" \
    "$(one "$idx_outcome")" "$(c "$idx_outcome")"

# --------------------------------------------------------------------- the regulator's login
c "SELECT credit_sandbox.create_roles()" >/dev/null
c "CREATE ROLE ct_admin LOGIN IN ROLE credit_sandbox_admin"
conc_check "a regulator's login reads the warnings through the coordinator" \
    "$(c "SELECT count(*) FROM credit_sandbox.warnings")" \
    "$(q postgres "SELECT count(*) FROM credit_sandbox.warnings" -p "$COORDINATOR" -U ct_admin 2>&1)"

# --------------------------------------------------------------------- a platform's login
c "CREATE ROLE ct_platform LOGIN IN ROLE credit_sandbox_app"
platform() { q postgres "$1" -p "$COORDINATOR" -U ct_platform 2>&1 || true; }
refused() { grep -q 'permission denied' <<<"$1" && echo t; }
key=$(platform "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
                VALUES ('CT-platform', '2030-04-01 00:00+00', 'gun-platform', 'firearms', 1) RETURNING txn_id")
conc_check "a platform's login inserts through the coordinator and reads back its row's key" \
    "$(c "SELECT txn_id FROM credit_sandbox.transactions WHERE operator_id = 'CT-platform'")" "$key"
printf 'CT-platform\t2030-04-02 00:00+00\tgun-platform-2\tfirearms\t1\n' \
    | q postgres "COPY credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price) FROM STDIN" \
        -p "$COORDINATOR" -U ct_platform
conc_check "... and copies; its rows are checked on the worker as anyone's" "2" \
    "$(c "SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'CT-platform' AND code = 'RL03'")"
conc_true "... may not choose a sale's key (INSERT)" \
    "$(refused "$(platform "INSERT INTO credit_sandbox.transactions (txn_id, operator_id, occurred_at, item_id, unit_price)
                            VALUES (1, 'CT-platform', '2030-04-03 00:00+00', 'i', 1)")")"
copied=$(printf '2\tCT-platform\t2030-04-03 00:00+00\ti\t1\n' \
         | q postgres "COPY credit_sandbox.transactions (txn_id, operator_id, occurred_at, item_id, unit_price) FROM STDIN" \
             -p "$COORDINATOR" -U ct_platform 2>&1 || true)
conc_true "... nor by COPY" "$(refused "$copied")"
conc_check "... so no row of those two is stored" "0" \
    "$(c "SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id = 'CT-platform' AND txn_id IN (1, 2)")"
conc_true "... and may read no warning" "$(refused "$(platform "SELECT count(*) FROM credit_sandbox.warnings")")"
conc_true "... nor another row of transactions" \
    "$(refused "$(platform "SELECT buyer_id FROM credit_sandbox.transactions LIMIT 1")")"
conc_finish
