#!/usr/bin/env bash
# dump_restore.sh -- a dump of the coordinator restores (README, "Scaling out with Citus"):
# pg_dump through the coordinator gathers every shard; the dump restored, as the README's
# "Backups" says, into a new database whose nodes are then added and distribute() run,
# holds every warning and hit, and goes on where the source stopped: an open warning
# counts the next hit, and new ids collide with none of the restored ones, although the
# new cluster's groups draw from the same ranges (group id above 2^48) as the old one's.
#
#   bash test/citus/dump_restore.sh   (as root, or through sudo; test/check.sh runs it)
#
# The new cluster is a database "restored" on the same three servers.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_dump_restore

citus_marketplace
sell_gun() {  # db: CT-dump's open RL03 warning takes one more hit
    q "$1" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
            VALUES ('CT-dump', '2030-01-01 00:00+00', 'gun', 'firearms', 1)" -p "$COORDINATOR"
}
sell_gun postgres
source_outcome=$(c "$CITUS_OUTCOME_SQL")
rows_sql="SELECT string_agg(format('%s=%s', c.relname,
                   (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass),
                                                        false, true, '')))[1]), ',' ORDER BY c.relname)
            FROM pg_class c WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p')
             AND NOT c.relispartition"
source_rows=$(c "$rows_sql")

DUMP=$CONC_TMP/coordinator.dump
pg_dump -Fc -p "$COORDINATOR" -d postgres -f "$DUMP"
for port in "${WORKERS[@]}"; do
    PGOPTIONS='-c client_min_messages=warning' q postgres 'CREATE DATABASE restored' -p "$port"
    q restored 'CREATE EXTENSION citus' -p "$port"
done
PGOPTIONS='-c client_min_messages=warning' q postgres 'CREATE DATABASE restored' -p "$COORDINATOR"
PGOPTIONS='-c session_replication_role=replica' pg_restore --single-transaction -p "$COORDINATOR" -d restored "$DUMP"
r() { q restored "$1" -p "$COORDINATOR" "${@:2}"; }
r "SELECT citus_set_coordinator_host('127.0.0.1', $COORDINATOR)" >/dev/null
for port in "${WORKERS[@]}"; do r "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null; done
r 'SET client_min_messages = warning; SELECT credit_sandbox.distribute()' >/dev/null

conc_check "restored and distributed: every table's rows" "$source_rows" "$(r "$rows_sql")"
conc_check "restored and distributed: every warning and hit" "$source_outcome" "$(r "$CITUS_OUTCOME_SQL")"
conc_check "every table of the extension is distributed or a reference table again" "0" \
    "$(r "SELECT count(*) FROM pg_class t WHERE t.relnamespace = 'credit_sandbox'::regnamespace
            AND t.relkind IN ('r', 'p') AND NOT t.relispartition
            AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t.oid)")"

sell_gun postgres
sell_gun restored
conc_check "an open warning counts the next hit, as in the source" \
    "$(c "SELECT hits FROM credit_sandbox.warnings WHERE operator_id = 'CT-dump' AND code = 'RL03'")" \
    "$(r "SELECT hits FROM credit_sandbox.warnings WHERE operator_id = 'CT-dump' AND code = 'RL03'")"
new_sales="INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
           SELECT 'CT-new-' || g, '2030-01-02 00:00+00', 'gun', 'firearms', 1 FROM generate_series(1, 40) g"
r "$new_sales"
conc_check "new warnings on every worker: ids unique among the restored ones" "0" \
    "$(r "SELECT count(*) - count(DISTINCT warning_id) FROM credit_sandbox.warnings")"
conc_check "... and the feed's ids too" "0" \
    "$(r "SELECT count(*) - count(DISTINCT entry_id) FROM credit_sandbox.feed_entries")"
c "$new_sales"
conc_check "the restored cluster goes on as the source: the same warnings and hits" \
    "$(c "$CITUS_OUTCOME_SQL")" "$(r "$CITUS_OUTCOME_SQL")"
conc_finish
