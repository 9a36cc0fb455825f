#!/usr/bin/env bash
# shared_bench.sh -- an optional extra: the shared benchmark's data (its gen.sql and
# load.sql, which are not part of this repository) loaded through a Citus coordinator
# and into one node must give the same warnings and hits, table by table.
#
#   CS_BENCH_SHARED=DIR bash test/citus/shared_bench.sh [gen.sql settings, e.g. -v operators=2000]
#
# Skipped, saying so, when CS_BENCH_SHARED does not name that directory, or when Citus
# is not installed.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
if [ ! -f "${CS_BENCH_SHARED:-}/gen.sql" ] || [ ! -f "${CS_BENCH_SHARED:-}/load.sql" ]; then
    echo "# citus_shared_bench: SKIPPED: CS_BENCH_SHARED does not name the shared benchmark's directory"
    exit 0
fi
citus_start citus_shared_bench

for db in postgres one; do
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$db" "$@" -f "$CS_BENCH_SHARED/gen.sql" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$db" -v target=credit_sandbox \
        -f "$CS_BENCH_SHARED/load.sql" >/dev/null
done
conc_true "the shared data raises warnings on one node" "$(one "SELECT count(*) > 0 FROM credit_sandbox.warnings")"
conc_check "through the coordinator: one node's warnings and hits" "$(one "$CITUS_OUTCOME_SQL")" "$(c "$CITUS_OUTCOME_SQL")"
per_table="SELECT string_agg(format('%s:%s:%s', source_table, n, h), ',' ORDER BY source_table)
             FROM (SELECT w.source_table, count(DISTINCT w.warning_id) n, count(*) h
                     FROM credit_sandbox.warnings w
                     JOIN credit_sandbox.warning_hits x ON x.operator_id = w.operator_id AND x.warning_id = w.warning_id
                    GROUP BY 1) s"
conc_check "... table by table: warnings and hits of transactions, returns and complaints" \
    "$(one "$per_table")" "$(c "$per_table")"
echo "# $(c "SELECT count(*) FROM credit_sandbox.warnings") warnings, $(c "SELECT count(*) FROM credit_sandbox.warning_hits") hits"
conc_finish
