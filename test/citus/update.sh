#!/usr/bin/env bash
# update.sh -- ALTER EXTENSION credit_sandbox UPDATE through the coordinator updates every
# node (README, "Scaling out with Citus"): Citus sends the statement on to the workers,
# each of which has the extension's objects of its own. A cluster that made the
# extension at the release before this one and updated it then distributes and checks
# rows as a new one does.
#
#   bash test/citus/update.sh   (as root, or through sudo; test/check.sh runs it)
#
# The updated cluster is a database "updated" on the same three servers; citus_start's
# database "postgres" made the extension at this release.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_update

current=$(c "SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'")
previous=$(c "SELECT max(v.version) FROM pg_available_extension_versions v
               WHERE v.name = 'credit_sandbox' AND v.version <> '$current'
                 AND EXISTS (SELECT FROM pg_extension_update_paths('credit_sandbox') p
                              WHERE p.source = v.version AND p.target = '$current' AND p.path IS NOT NULL)
                 AND string_to_array(v.version, '.')::int[] < string_to_array('$current', '.')::int[]")
for port in "$COORDINATOR" "${WORKERS[@]}"; do
    PGOPTIONS='-c client_min_messages=warning' q postgres 'CREATE DATABASE updated' -p "$port"
    q updated 'CREATE EXTENSION citus' -p "$port"
done
u() { q updated "$1" -p "${2:-$COORDINATOR}"; }
u "SELECT citus_set_coordinator_host('127.0.0.1', $COORDINATOR)" >/dev/null
for port in "${WORKERS[@]}"; do u "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null; done
u "CREATE EXTENSION credit_sandbox VERSION '$previous'"
u "ALTER EXTENSION credit_sandbox UPDATE"

versions() {  # db: every node's version of the extension
    local port out=""
    for port in "$COORDINATOR" "${WORKERS[@]}"; do
        out+="$(q "$1" "SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'" -p "$port") "
    done
    echo "$out"
}
objects_sql="SELECT md5(string_agg(d, E'\n' ORDER BY d)) FROM (
               SELECT pg_identify_object(e.classid, e.objid, e.objsubid)::text
                      || coalesce(CASE WHEN e.classid = 'pg_proc'::regclass THEN pg_get_functiondef(e.objid)
                                       WHEN e.classid = 'pg_class'::regclass THEN pg_get_viewdef(e.objid) END, '') AS d
                 FROM pg_depend e
                WHERE e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e'
                  AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'credit_sandbox')) s"
conc_check "updated from $previous through the coordinator alone: every node at $current" \
    "$(versions postgres)" "$(versions updated)"
for port in "${WORKERS[@]}"; do
    conc_check "the worker on $port has the objects of an update, as the coordinator" \
        "$(u "$objects_sql")" "$(u "$objects_sql" "$port")"
done
conc_check "... which are those of a new install" "$(one "$objects_sql")" "$(u "$objects_sql")"

u 'SET client_min_messages = warning; SELECT credit_sandbox.distribute()' >/dev/null
conc_check "the updated cluster distributes every table" "$(c "SELECT count(*) FROM pg_dist_partition")" \
    "$(u "SELECT count(*) FROM pg_dist_partition")"
sales="INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
       SELECT 'CT-upd-' || g % 7, '2030-01-02 00:00+00', 'gun', 'firearms', 1 FROM generate_series(1, 40) g"
u "$sales"
one "$sales"
conc_check "rows through the updated coordinator are checked on the workers as on one node" \
    "$(one "$CITUS_OUTCOME_SQL")" "$(u "$CITUS_OUTCOME_SQL")"
conc_finish
