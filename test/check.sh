#!/usr/bin/env bash
# check.sh -- the test command (CI and `sudo bash test/check.sh`): installs the
# dependencies, builds and installs the extension, starts a throwaway cluster
# (test/cluster.sh), then runs
#   1. pg_regress (`make installcheck`): one suite per test in REGRESS;
#   2. pg_prove on each pgTAP file test/*.sql, in database cs_tap, and again in
#      cs_tap_partitioned where transactions is hash-partitioned by operator_id;
#   3. each test/concurrency/*.sh, test/ops/*.sh and test/citus/*.sh (exit status;
#      PGHOST/PGPORT/PGUSER set; test/ops/crash.sh runs a cluster of its own
#      on port CS_PGPORT + 1, the Citus tests a coordinator and two workers on
#      CS_PGPORT + 20..22, or say they are skipped where Citus is not installed),
#      unless CS_CONCURRENCY=0 (test/valgrind.sh: their timing is not a server's
#      under Valgrind);
#   4. a fuzzing smoke run, test/fuzz/run.sh 5: each target replays the inputs that once
#      found a bug, then fuzzes for 5 seconds (CS_FUZZ=0 skips it);
#   5. that META.json (PGXN) gives the control file's version and its install script,
#      and CHANGELOG.md has an entry for it;
#   6. test/readme.sh: every example of README.md, on a cluster of its own (with
#      pg_cron preloaded) on port CS_PGPORT + 2.
# Ends with the line "N passed, M failed" and exits non-zero if M > 0.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"
cd "$CS_REPO"
shopt -s nullglob

passed=0 failed=0
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }

cs_install_deps
# test/history_paths.sql reads the statements the triggers run; every test runs
# beside test/neighbour, which takes 7 of the backend's 10 relcache callback slots,
# PostgreSQL 2, leaving credit_sandbox one (test/neighbours.sql)
export CS_PRELOAD="pg_stat_statements, cs_neighbour"
{ cs_build_install && make -s -C test/neighbour clean all install PG_CONFIG="$CS_PG_CONFIG"; } \
    || { echo "build failed"; failed=1; summary; exit 1; }
cs_start_cluster

echo "== pg_regress"
rm -f regression.diffs regression.out
regress_log=$CS_DIR/regress.log
regress_rc=0
make -s installcheck PG_CONFIG="$CS_PG_CONFIG" >"$regress_log" 2>&1 || regress_rc=$?
cat "$regress_log"
# one line per test: "test NAME ... ok|FAILED" up to 15 (indented in parallel groups),
# "ok N - NAME" or "not ok N - NAME" from 16 on ("+" instead of "-" in parallel groups)
ok=$(grep -cE ' \.\.\. ok( |$)|^ok [0-9]+ +[-+] ' "$regress_log" || true)
bad=$(grep -cE ' \.\.\. FAILED( |$)|^not ok [0-9]+ +[-+] ' "$regress_log" || true)
# pg_regress failing before it ran a test still counts as one failed suite
[ "$regress_rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
[ -f regression.diffs ] && [ "$bad" -gt 0 ] && cat regression.diffs
passed=$((passed + ok)) failed=$((failed + bad))

tap_files=(test/*.sql)
# pgTAP files run twice: on the plain transactions table, and on one
# hash-partitioned by operator_id (same triggers, same results expected)
run_tap() {  # database, partitions
    echo "== pgTAP in $1 (credit_sandbox.transaction_partitions = $2)"
    if cs_psql -q -c "CREATE DATABASE $1" \
       && cs_psql -q -d "$1" -c 'CREATE EXTENSION pgtap' \
              -c "SET credit_sandbox.transaction_partitions = $2" -c 'CREATE EXTENSION credit_sandbox'; then
        for f in "${tap_files[@]}"; do
            if pg_prove -d "$1" "$f"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
        done
    else
        echo "$1 setup failed: ${#tap_files[@]} pgTAP files not run"
        failed=$((failed + ${#tap_files[@]}))
    fi
}
if [ ${#tap_files[@]} -gt 0 ]; then
    run_tap cs_tap 0
    run_tap cs_tap_partitioned 8
fi

scripts=(test/concurrency/*.sh test/ops/*.sh test/citus/*.sh)
[ "${CS_CONCURRENCY:-1}" = 0 ] && scripts=()
for s in "${scripts[@]}"; do
    echo "== $s"
    if bash "$s"; then passed=$((passed + 1)); else echo "FAILED: $s"; failed=$((failed + 1)); fi
done

if [ "${CS_FUZZ:-1}" != 0 ]; then
    echo "== test/fuzz/run.sh 5"
    if bash test/fuzz/run.sh 5; then passed=$((passed + 1)); else echo "FAILED: test/fuzz/run.sh"; failed=$((failed + 1)); fi
fi

# PGXN's META.json repeats the control file's version (as semver): the release's and
# the extension's version must not drift apart, and the release names the version's
# whole install script, which a CHANGELOG.md entry describes
echo "== META.json version"
version=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" credit_sandbox.control)
if [ "$(grep -c "\"version\": \"$version.0\"" META.json)" -eq 2 ] \
   && grep -q "\"file\": \"sql/credit_sandbox--$version.sql\"" META.json \
   && [ -f "sql/credit_sandbox--$version.sql" ] && grep -q "^## \[$version\] - " CHANGELOG.md; then
    passed=$((passed + 1))
else
    echo "FAILED: META.json does not give version $version.0 to the release and to the extension," \
         "or sql/credit_sandbox--$version.sql or its CHANGELOG.md entry is missing"
    failed=$((failed + 1))
fi

# the README's examples, as one test: its own cluster (pg_cron preloaded, the README's
# settings), on a port beside this one and the crash test's
echo "== test/readme.sh"
if CS_README_BUILD=0 CS_PGPORT=$((${CS_PGPORT:-54329} + 2)) bash test/readme.sh; then
    passed=$((passed + 1))
else
    echo "FAILED: test/readme.sh"
    failed=$((failed + 1))
fi

summary
