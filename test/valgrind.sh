#!/usr/bin/env bash
# valgrind.sh -- the test suite (pg_regress and every pgTAP file, as test/check.sh
# runs them; not the concurrency scripts nor the fuzzing smoke run) against a server
# running under Valgrind memcheck, then a report of the errors Valgrind found in
# credit_sandbox code.
# Too slow for CI (10 to 15 minutes); run it by hand:
#
#   sudo bash test/valgrind.sh            # CS_PGBIN / CS_PGPORT as for check.sh
#
# Every server process writes its own log (one per pid) to a directory kept after
# the run and printed at the end.  Suppressions for PostgreSQL's own known noise
# (padding bytes written to WAL and files) are in test/valgrind.supp.  Exits 1 when
# an error has a credit_sandbox frame in its stack, or when the suite failed.
#
# Debian's PostgreSQL is built without USE_VALGRIND, so memory contexts are not
# instrumented: Valgrind sees reads and writes outside malloc'd blocks and uses
# of uninitialised bytes, not overruns inside a context's block.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"

if ! command -v valgrind >/dev/null; then
    echo "== installing valgrind"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

logs=$(mktemp -d -t cs_valgrind.XXXXXX)
chmod 755 "$logs"
mkdir "$logs/server"
chown postgres: "$logs/server"
# pg_ctl starts this instead of postgres; the postmaster's children are forks of
# it, so Valgrind follows every backend.  JIT off: generated code is noise here.
cat >"$logs/postgres" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --trace-children=yes --error-limit=no --num-callers=40 \\
    --read-var-info=no --leak-check=no --track-origins=yes \\
    --suppressions="$logs/valgrind.supp" --log-file="$logs/server/%p.log" \\
    --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \\
    "$CS_PGBIN/postgres" "\$@" -c jit=off -c shared_buffers=64MB
WRAP
chmod 755 "$logs/postgres"
cp "$CS_REPO/test/valgrind.supp" "$logs/valgrind.supp"
chmod 644 "$logs/valgrind.supp"

start=$(date +%s)
suite_rc=0
CS_POSTGRES=$logs/postgres CS_PG_CTL_TIMEOUT=600 CS_CONCURRENCY=0 CS_FUZZ=0 \
    bash "$CS_REPO/test/check.sh" 2>&1 | tee "$logs/suite.log" || suite_rc=$?
echo "== suite under Valgrind: $(( $(date +%s) - start )) s"

# One file per error, each the text between Valgrind's markers.
awk -v dir="$logs" '
    /VALGRINDERROR-BEGIN/ { n++; file = sprintf("%s/error.%05d", dir, n); inerr = 1; next }
    /VALGRINDERROR-END/   { inerr = 0; close(file); next }
    inerr                 { sub(/^==[0-9]+== ?/, ""); print > file }
' "$logs"/server/*.log
errors=("$logs"/error.*)
[ -e "${errors[0]}" ] || errors=()
ours=()
for e in "${errors[@]}"; do
    grep -q 'credit_sandbox\.so' "$e" && ours+=("$e")
done
for e in "${ours[@]}"; do
    echo "== $e"
    cat "$e"
done
echo "== Valgrind: ${#errors[@]} errors, ${#ours[@]} in credit_sandbox code; logs in $logs"
[ "$suite_rc" -eq 0 ] && [ ${#ours[@]} -eq 0 ]
