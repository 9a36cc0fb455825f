#!/usr/bin/env bash
# rebalance.sh -- a worker added to a running cluster and citus_rebalance_start(): every
# warning and hit is kept, and the checks go on on the worker the shards moved to, with
# the history that moved with them (SPEC.md section 7).
#
#   bash test/citus/rebalance.sh  (as root, or through sudo; test/check.sh runs it)
#
# The generated marketplace is loaded through the coordinator and into one node; 32
# operators ('RB-...') each send 4 orders to one address.  A third worker joins and the
# shards are rebalanced (logical replication: wal_level = logical, a replica identity on
# every table).  Then each RB- operator sends 4 more orders to its address within 24
# hours: RL04 (8 orders to one address) must fire for every one of them, those whose
# shards moved included, as on one node.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_rebalance

citus_marketplace
orders() {  # first hour: 4 orders of each RB- operator, an hour apart
    local sql="INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, unit_price)
               SELECT 'RB-' || o, '2030-03-01 00:00+00'::timestamptz + (h || ' hours')::interval, 'b' || h,
                      'addr-' || o, 'item', 1
                 FROM generate_series(1, 32) o, generate_series($1, $1 + 3) h"
    c "$sql"
    one "$sql"
}
orders 0
before=$(c "$CITUS_OUTCOME_SQL")
conc_check "before the move: one node's warnings and hits" "$(one "$CITUS_OUTCOME_SQL")" "$before"

NEW_WORKER=$((COORDINATOR + 3))
citus_add_worker "$NEW_WORKER"
c "SET client_min_messages = warning; SELECT citus_rebalance_start(shard_transfer_mode => 'force_logical')" >/dev/null
c "SELECT citus_rebalance_wait()" >/dev/null
conc_true "citus_rebalance_start() moved shards to the new worker" \
    "$(c "SELECT count(*) > 0 FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid)
            WHERE s.logicalrelid = 'credit_sandbox.transactions'::regclass AND p.nodeport = $NEW_WORKER")"
moved=$(c "SELECT count(*) FROM generate_series(1, 32) o, pg_dist_shard_placement p
            WHERE p.shardid = get_shard_id_for_distribution_column('credit_sandbox.transactions', 'RB-' || o)
              AND p.nodeport = $NEW_WORKER")
conc_true "some RB- operators' shards are on the new worker ($moved of 32)" "$([ "$moved" -gt 0 ] && echo t)"
conc_check "after the move: every warning and hit kept" "$before" "$(c "$CITUS_OUTCOME_SQL")"

orders 4
rl04="SELECT count(*) FROM credit_sandbox.warnings WHERE code = 'RL04' AND operator_id LIKE 'RB-%'"
conc_check "the orders after the move complete each RB- operator's window: RL04 for all 32" "32" "$(c "$rl04")"
conc_check "... as on one node: the same warnings and hits" "$(one "$CITUS_OUTCOME_SQL")" "$(c "$CITUS_OUTCOME_SQL")"
conc_true "warning ids stay unique, the new worker's included" \
    "$(c "SELECT count(*) = count(DISTINCT warning_id) FROM credit_sandbox.warnings")"
conc_finish
