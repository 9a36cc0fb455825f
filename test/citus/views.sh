#!/usr/bin/env bash
# views.sh -- what analysts and operators see, through the Citus coordinator, read by
# logins of their roles, compared with one node (SPEC.md section 6, README "What
# analysts see", "Operators' own view", "Privileges").
#
#   bash test/citus/views.sh   (as root, or through sudo; test/check.sh runs it)
#
# Each view of the extension read by a login of the analyst role (and my_warnings,
# my_warning_history by an operator's login) gives one node's rows; the analyst still
# reads no table (transactions, warnings) and no view query directly.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_views

for db in postgres one; do
    citus_generate "$db" 100 5000 500 300
    citus_load "$db" all
    # the same grades and stays on both, then the same statuses
    q "$db" "SET client_min_messages = warning; SELECT credit_sandbox.create_roles();
             SELECT credit_sandbox.regrade('2031-01-01'); SELECT credit_sandbox.renew_sandbox('2031-01-01')" \
        -p "$COORDINATOR" >/dev/null
done
for db in postgres one; do
    q "$db" "UPDATE credit_sandbox.warnings SET status = 'acknowledged', due_at = '2020-01-01'
              WHERE list = 'admin_tip' AND operator_id IN (SELECT operator_id FROM credit_sandbox.operators ORDER BY 1 LIMIT 30)" \
        -p "$COORDINATOR" >/dev/null
    q "$db" "CREATE ROLE cv_analyst_$db LOGIN IN ROLE credit_sandbox_analyst;
             CREATE ROLE cv_operator_$db LOGIN IN ROLE credit_sandbox_operator;
             INSERT INTO credit_sandbox.operator_logins
             SELECT 'cv_operator_$db', operator_id FROM credit_sandbox.warnings GROUP BY 1, 2 ORDER BY 2 LIMIT 5" -p "$COORDINATOR"
done

# a view's rows without the ids and clock times a node draws
rows_of() {  # view columns
    echo "SELECT count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
            FROM (SELECT concat_ws('|', $2) x FROM credit_sandbox.$1) s"
}
as_login() {  # db login sql
    psql -X -q -A -t -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$1" -U "$2" -c "$3" 2>&1 || true
}
check_view() {  # view columns login-suffix-role
    local expected
    expected=$(as_login one "cv_$3_one" "$(rows_of "$1" "$2")")
    conc_true "one node: $1 has rows for the $3" "$(as_login one "cv_$3_one" "SELECT count(*) > 0 FROM credit_sandbox.$1")"
    conc_check "$1 read by the $3's login through the coordinator: one node's rows" \
        "$expected" "$(as_login postgres "cv_$3_postgres" "$(rows_of "$1" "$2")")"
}
check_view open_warnings "operator_id, operator_name, region, code, rule_title, list, subject_key, status, hits, occurred_at,
                          last_hit_at, due_at, rule_version, tolerable, evidence, source_table, source_id, registered, in_sandbox" analyst
check_view operator_risk "operator_id, name, region, class, score, graded_as_of, in_sandbox, open_warning_clues, open_tips,
                          last_hit_at, indicators, hard_rules" analyst
check_view rule_hits_daily "day, code, list, hits, warnings, operators" analyst
check_view summary "sandbox_operators, no_disturbance_operators, warning_clues, admin_tips, classified_operators,
                    random_spot_checks, triggered_inspections" analyst
check_view no_disturbance "operator_id, name, region, class, score" analyst
check_view operator_classes "operator_id, class, score, graded_as_of" analyst
check_view warnings_daily "day, region, code, rule_title, warnings, warning_clues, admin_tips, hits, operators, open,
                           acknowledged, corrected, escalated, closed" analyst
check_view sandbox_stays "operator_id, operator_name, region, admit_reason, exit_code, exit_reason, exit_hit_at, ongoing" analyst
check_view overdue_tips "operator_id, operator_name, region, code, rule_title, subject_key, status, hits, occurred_at,
                         last_hit_at, due_at, days_overdue, in_sandbox" analyst
check_view my_warnings "operator_id, operator_name, code, list, subject_key, status, hits, occurred_at" operator
for v in inspection_draw_summary inspection_task_details my_warning_history; do
    conc_check "$v read by the analyst's login through the coordinator: one node's rows (none here)" \
        "$(as_login one cv_analyst_one "$(rows_of "$v" "1")")" "$(as_login postgres cv_analyst_postgres "$(rows_of "$v" "1")")"
done
conc_check "my_warnings shows an analyst nothing" "0" \
    "$(as_login postgres cv_analyst_postgres "SELECT count(*) FROM credit_sandbox.my_warnings")"

# --------------------------------------------------------------------- the privileges stay
for sql in "SELECT buyer_id FROM credit_sandbox.transactions LIMIT 1" "SELECT * FROM credit_sandbox.warnings LIMIT 1" \
           "SELECT * FROM credit_sandbox_queries.open_warnings LIMIT 1" \
           "SELECT * FROM credit_sandbox.owner_rows(NULL::credit_sandbox.transactions) LIMIT 1"; do
    conc_true "the analyst's login is refused: $sql" \
        "$(as_login postgres cv_analyst_postgres "$sql" | grep -q 'permission denied' && echo t)"
done
conc_true "the operator's login reads no analyst view" \
    "$(as_login postgres cv_operator_postgres "SELECT count(*) FROM credit_sandbox.open_warnings" | grep -q 'permission denied' && echo t)"
conc_finish
