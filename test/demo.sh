#!/usr/bin/env bash
# demo.sh -- `bash test/demo.sh` as root (or `sudo bash test/demo.sh`): builds and
# installs the extension, starts a throwaway cluster (test/cluster.sh), generates
# a synthetic marketplace with test/bench/generate.sql, loads it into
# credit_sandbox with test/bench/load.sql (timed), shows what the red-line
# triggers found -- and fails unless every red line and the TP01 tip fired --
# then inserts one live row while LISTENing to show the wake-up a business system
# would receive. Needs nothing beside the repository.
#
# Scale: DEMO_OPERATORS (300) DEMO_TXNS (30000) DEMO_RETURNS (2.5 % of DEMO_TXNS)
# DEMO_COMPLAINTS (1.5 %) DEMO_SEED (0.42). CS_KEEP_CLUSTER=1 keeps the cluster
# (database demo) to explore.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"

BENCH=$CS_REPO/test/bench
OPERATORS=${DEMO_OPERATORS:-300} TXNS=${DEMO_TXNS:-30000}
RETURNS=${DEMO_RETURNS:-$((TXNS * 25 / 1000))} COMPLAINTS=${DEMO_COMPLAINTS:-$((TXNS * 15 / 1000))}

cs_install_deps
cs_build_install
cs_start_cluster
cs_psql -q -c 'CREATE DATABASE demo'
export PGDATABASE=demo
now() { date +%s.%N; }
# psql options for the report: aligned tables without the "(n rows)" footer
show() { echo; echo "-- $1"; cs_psql -P footer=off -c "$2"; }

echo "== generate.sql: operators=$OPERATORS txns=$TXNS returns=$RETURNS complaints=$COMPLAINTS"
cs_psql -q -v operators="$OPERATORS" -v txns="$TXNS" -v returns="$RETURNS" \
    -v complaints="$COMPLAINTS" -v seed="${DEMO_SEED:-0.42}" -f "$BENCH/generate.sql"
cs_psql -q -c 'CREATE EXTENSION credit_sandbox'

echo "== load.sql into credit_sandbox: master data and sandbox admissions, then events (timed)"
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

# every red line and the tip, those that found nothing included
show "warnings per red line: clues (risk_trigger), tips (admin_tip) and their hits" "
SELECT r.code, r.title,
       count(w.*) FILTER (WHERE w.list = 'risk_trigger') AS warning_clues,
       count(w.*) FILTER (WHERE w.list = 'admin_tip') AS tips,
       coalesce(sum(w.hits), 0) AS hits
  FROM credit_sandbox.rules r LEFT JOIN credit_sandbox.warnings w USING (code)
 GROUP BY r.code, r.title ORDER BY r.code"
silent=$(cs_psql -qAt -c "SELECT string_agg(code, ' ' ORDER BY code) FROM credit_sandbox.rules r
                           WHERE NOT EXISTS (SELECT FROM credit_sandbox.warnings w WHERE w.code = r.code)")
[ -z "$silent" ] || cs_die "no warning for $silent: the generated data should make every red line fire"
echo "every red line and the tip fired"

show "one warning per red line: the latest, with its evidence" "
SELECT DISTINCT ON (code) code, list, operator_id, subject_key, hits, evidence
  FROM credit_sandbox.warnings ORDER BY code, last_hit_at DESC, warning_id DESC"

show "sandbox tips: a member's first tolerable slip" "
SELECT operator_id, code, subject_key, hits, status, due_at
  FROM credit_sandbox.warnings WHERE list = 'admin_tip' AND code <> 'TP01'
 ORDER BY occurred_at, warning_id LIMIT 5"

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
