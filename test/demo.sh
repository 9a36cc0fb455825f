#!/usr/bin/env bash
# demo.sh -- `sudo bash test/demo.sh`: builds and installs the extension, starts a
# throwaway cluster (test/cluster.sh), generates a small synthetic marketplace with
# the shared benchmark's gen.sql, loads it into credit_sandbox with load.sql (timed),
# shows what the red-line triggers found, then inserts one live row while LISTENing
# to show the NOTIFY a business system would receive.
#
# Scale: DEMO_OPERATORS (300) DEMO_TXNS (30000) DEMO_RETURNS (800)
# DEMO_COMPLAINTS (500). CS_KEEP_CLUSTER=1 keeps the cluster (database demo) to explore.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"

BENCH=$CS_REPO/../shared/bench
if [ ! -f "$BENCH/gen.sql" ] || [ ! -f "$BENCH/load.sql" ]; then
    cs_die "benchmark scripts not found: expected gen.sql and load.sql in $BENCH"
fi
BENCH=$(cd "$BENCH" && pwd)

cs_install_deps
cs_build_install
cs_start_cluster
cs_psql -q -c 'CREATE DATABASE demo'
export PGDATABASE=demo
now() { date +%s.%N; }
# psql options for the report: aligned tables without the "(n rows)" footer
show() { echo; echo "-- $1"; cs_psql -P footer=off -c "$2"; }

echo "== gen.sql: operators=${DEMO_OPERATORS:-300} txns=${DEMO_TXNS:-30000}" \
     "returns=${DEMO_RETURNS:-800} complaints=${DEMO_COMPLAINTS:-500}"
# stdout only carries gen.sql's helper SELECTs; errors go to stderr
cs_psql -q -v operators="${DEMO_OPERATORS:-300}" -v txns="${DEMO_TXNS:-30000}" \
    -v returns="${DEMO_RETURNS:-800}" -v complaints="${DEMO_COMPLAINTS:-500}" \
    -f "$BENCH/gen.sql" >/dev/null
cs_psql -q -c 'CREATE EXTENSION credit_sandbox'

echo "== load.sql into credit_sandbox: master data, then events (timed)"
cs_psql -q -v target=credit_sandbox -v phase=master -f "$BENCH/load.sql" >/dev/null
t0=$(now)
cs_psql -q -v target=credit_sandbox -v phase=events -f "$BENCH/load.sql" >/dev/null
t1=$(now)

show "rows loaded" "
SELECT 'operators' AS table_name, count(*) AS rows FROM credit_sandbox.operators
UNION ALL SELECT 'operator_lists', count(*) FROM credit_sandbox.operator_lists
UNION ALL SELECT 'transactions', count(*) FROM credit_sandbox.transactions
UNION ALL SELECT 'returns', count(*) FROM credit_sandbox.returns
UNION ALL SELECT 'complaints', count(*) FROM credit_sandbox.complaints
UNION ALL SELECT 'warnings', count(*) FROM credit_sandbox.warnings"

events=$(cs_psql -qAt -c "SELECT (SELECT count(*) FROM credit_sandbox.transactions)
                                + (SELECT count(*) FROM credit_sandbox.returns)
                                + (SELECT count(*) FROM credit_sandbox.complaints)")
awk -v n="$events" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "\n-- events phase: %d rows in %.2f s = %.0f rows/s\n", n, b - a, n / (b - a) }'

show "warnings by code and list" "
SELECT code, list, count(*), sum(hits) AS hits
  FROM credit_sandbox.warnings GROUP BY 1, 2 ORDER BY 1, 2"

show "10 newest warnings" "
SELECT operator_id, code, list, subject_key, hits, evidence
  FROM credit_sandbox.warnings ORDER BY raised_at DESC, warning_id DESC LIMIT 10"

show "sandbox exits" "
SELECT count(*) AS exited FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NOT NULL"
show "5 examples" "
SELECT operator_id, admitted_at, exited_at, exit_reason
  FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NOT NULL
 ORDER BY exited_at, membership_id LIMIT 5"

# the supervision cycle a regulator runs on a schedule, as of the end of the data
AS_OF="timestamptz '2025-04-01 00:00+08'"
show "grading and sandbox renewal as of 2025-04-01: what changed" "
SELECT action, count(*) FROM credit_sandbox.renew_sandbox($AS_OF) GROUP BY 1 ORDER BY 1"
show "classes" "
SELECT class, count(*), round(avg(score), 1) AS avg_score FROM credit_sandbox.operator_classes GROUP BY 1 ORDER BY 1"
show "overdue tips escalated to warning clues" "
SELECT credit_sandbox.escalate_overdue($AS_OF) AS escalated"
cs_psql -q -c "INSERT INTO credit_sandbox.inspectors (inspector_id, name, region)
               SELECT 'INS' || i, 'inspector ' || i, 'District-' || (1 + i % 16) FROM generate_series(1, 12) i"
draw=$(cs_psql -qAt -c "SELECT credit_sandbox.draw_inspections('demo-seed-2025-04')")
show "dual-random draw $draw: tasks per class and reason" "
SELECT p.class, t.reason, count(*) FROM credit_sandbox.inspection_tasks t
  JOIN credit_sandbox.inspection_pool p USING (draw_id, operator_id)
 WHERE t.draw_id = $draw GROUP BY 1, 2 ORDER BY 1, 2"
show "verify_draw($draw)" "SELECT credit_sandbox.verify_draw($draw)"
show "summary" "SELECT * FROM credit_sandbox.summary"

# psql prints "Asynchronous notification ... received" after the command that
# committed the NOTIFY, when the session itself is listening
echo
echo "== live: one transaction by an unknown operator, seen by a LISTENing session"
cs_psql -a <<'EOF'
LISTEN credit_sandbox;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
VALUES ('DEMO-UNKNOWN', now(), 'demo-1', 10);
-- the wake-up names nothing; a session allowed to read the warnings reads them
SELECT code, list, subject_key, evidence ->> 'reasons' AS reasons
  FROM credit_sandbox.warnings WHERE operator_id = 'DEMO-UNKNOWN';
EOF
