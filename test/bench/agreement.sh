#!/usr/bin/env bash
# agreement.sh -- the shared benchmark's agreement check against this build: a
# throwaway cluster (test/cluster.sh, fsync on), then ../shared/bench/bench.sh
# --extension [more bench.sh options, e.g. --pgbench], which loads one generated
# marketplace into plain tables, the PL/pgSQL reference and the extension, prints
# their rates and compares the warning sets. Ends with "1 passed, 0 failed" when they
# are IDENTICAL, so that test/majors.sh can run it on every major:
#
#   sudo bash test/bench/agreement.sh --pgbench
#   CS_MAJORS_SCRIPT=test/bench/agreement.sh CS_MAJORS_ARGS=--pgbench sudo -E bash test/majors.sh
#
# A benchmark, not a test: neither check.sh nor CI runs it.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
cs_require_root "$@"
BENCH=$(cd "$CS_REPO/.." && pwd)/shared/bench
[ -f "$BENCH/bench.sh" ] || cs_die "no $BENCH/bench.sh: the shared benchmark is expected beside the checkout"

cs_install_deps
cs_build_install
CS_FSYNC=on cs_start_cluster
out=$CS_DIR/bench.out
bash "$BENCH/bench.sh" --extension "$@" | tee "$out"
if grep -q '^ *IDENTICAL' "$out"; then
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
    exit 1
fi
