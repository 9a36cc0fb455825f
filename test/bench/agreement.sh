#!/usr/bin/env bash
# agreement.sh -- the shared benchmark's agreement check against this build: a
# throwaway cluster (test/cluster.sh, fsync on), then the shared benchmark's bench.sh
# --extension [more bench.sh options, e.g. --pgbench], which loads one generated
# marketplace into plain tables, the PL/pgSQL reference and the extension, prints
# their rates and compares the warning sets. Ends with "1 passed, 0 failed" when they
# are IDENTICAL, so that test/majors.sh can run it on every major:
#
#   CS_BENCH_SHARED=DIR sudo -E bash test/bench/agreement.sh --pgbench
#   CS_BENCH_SHARED=DIR CS_MAJORS_SCRIPT=test/bench/agreement.sh CS_MAJORS_ARGS=--pgbench sudo -E bash test/majors.sh
#
# CS_BENCH_RUNS=N (default 1) runs bench.sh N times on the same cluster and ends with
# the medians of the extension's ratios to plain (bulk load; single-row INSERT with
# synchronous_commit on and off, when --pgbench is given); every run must agree.
# A benchmark, not a test: neither check.sh nor CI runs it. Optional: it needs the
# shared benchmark, whose folder CS_BENCH_SHARED=DIR names.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
cs_require_root "$@"
BENCH=${CS_BENCH_SHARED:-}
[ -n "$BENCH" ] || cs_die "the agreement check needs the shared benchmark: CS_BENCH_SHARED=DIR"
[ -f "$BENCH/bench.sh" ] || cs_die "no $BENCH/bench.sh: the agreement check needs the shared benchmark (CS_BENCH_SHARED=DIR)"
BENCH=$(cd "$BENCH" && pwd)

cs_install_deps
cs_build_install
CS_FSYNC=on cs_start_cluster
runs=${CS_BENCH_RUNS:-1} agreed=0
bulk=() sync_on=() sync_off=()
for ((i = 1; i <= runs; i++)); do
    out=$CS_DIR/bench.$i.out
    echo "== run $i of $runs"
    bash "$BENCH/bench.sh" --extension "$@" | tee "$out"
    if grep -q '^ *IDENTICAL' "$out"; then agreed=$((agreed + 1)); fi
    # "credit_sandbox  ROWS  SECONDS  ROWS/S  RATIO (..)" and "credit_sandbox  on|off  TPS  RATIO (..)"
    bulk+=("$(awk '$1 == "credit_sandbox" && $2 ~ /^[0-9]+$/ { print $5 }' "$out")")
    sync_on+=("$(awk '$1 == "credit_sandbox" && $2 == "on" { print $4 }' "$out")")
    sync_off+=("$(awk '$1 == "credit_sandbox" && $2 == "off" { print $4 }' "$out")")
done
median() { printf '%s\n' "$@" | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
echo "== credit_sandbox / plain over $runs runs (median; each run)"
echo "bulk load            $(median "${bulk[@]}")  (${bulk[*]})"
echo "1-row INSERT sync on $(median "${sync_on[@]}")  (${sync_on[*]})"
echo "1-row INSERT sync off $(median "${sync_off[@]}")  (${sync_off[*]})"
echo "warning sets IDENTICAL in $agreed of $runs runs"
echo "$agreed passed, $((runs - agreed)) failed"
[ "$agreed" -eq "$runs" ]
