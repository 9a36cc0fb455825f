#!/usr/bin/env bash
# lifecycle.sh -- warnings' lifecycle, escalation, the audit trail, dual-random
# inspections and replay on a Citus cluster (SPEC.md sections 3, 5, 7 and 8), every
# call through the coordinator (test/citus/lib.bash starts it), every result compared
# with one node's: the same statements in the database "one" without Citus.
#
#   bash test/citus/lifecycle.sh   (as root, or through sudo)
#
# On the generated marketplace (test/bench, no admissions) and eight sandbox members
# LM-1..LM-8 with an RL06 tip each (data time 2025-03-01): acknowledge,
# record_correction and close_warning on warnings chosen by (operator_id, code,
# subject_key) (ids differ between the two databases), their refusals, and an
# operator login's own tip (check_own_tip); escalate_overdue at a moment that has
# passed for some tips, again (nothing left), then as of now(): one clue per tip,
# linked both ways, the sandbox exits, the feed and the audit trail; overdue_tips; two
# draws with fixed seeds (pool, tasks, verify_draw, inspection_draw_summary,
# inspection_task_details); replay() as is and with a proposed change, and
# check_consistency() after a rule is disabled.  Grades are written by hand, in both
# databases alike, so that the draw grades no one: grading on Citus is tested apart.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
# no admissions: the grades written by hand below are then every operator's latest
export CITUS_ADMIT=off
citus_start citus_lifecycle

both() { one "$1" >/dev/null; c "$1" >/dev/null; }
# same DESCRIPTION SQL: the coordinator's result is one node's
same() { conc_check "$1" "$(one "$2")" "$(c "$2")"; }
# sqlstate DB SQL: the SQLSTATE the statement fails with (or "no error")
sqlstate() {
    local out
    if out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -p "$COORDINATOR" -d "$1" -c "$2" 2>&1); then
        echo "no error"
    else
        sed -n 's/^ERROR: *//p' <<<"$out" | head -n 1
    fi
}
# warning_id DB OPERATOR CODE LIST: the warning of that key in that database
warning_id() {
    q "$1" "SELECT warning_id FROM credit_sandbox.warnings
             WHERE operator_id = '$2' AND code = '$3' AND list = '$4' ORDER BY warning_id LIMIT 1" -p "$COORDINATOR"
}
# on DB FUNCTION OPERATOR CODE LIST [NOTE]: credit_sandbox.FUNCTION on that warning
on() {
    q "$1" "SELECT credit_sandbox.$2($(warning_id "$1" "$3" "$4" "$5"), ${6:-NULL})" -p "$COORDINATOR" >/dev/null
}

# --------------------------------------------------------------------- fixtures
citus_marketplace
both "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
      SELECT 'LM-' || g, 'member ' || g, 'Test', '2020-01-01', '2031-12-31', '{}' FROM generate_series(1, 8) g"
both "INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
      SELECT 'LM-' || g, 'lifecycle.sh' FROM generate_series(1, 8) g"
both "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, category, unit_price)
      SELECT 'LM-' || g, '2025-03-01 04:00+00'::timestamptz + g * interval '1 hour', 'ad', '最佳 耳机', 'misc', 1
        FROM generate_series(1, 8) g"
both "INSERT INTO credit_sandbox.operator_grades (operator_id, graded_as_of, score, score_class, class, indicators,
                                                 hard_rules, cause)
      SELECT o.operator_id, '2025-06-01', 50, k, k, '{}', '[]', 'lifecycle.sh'
        FROM credit_sandbox.operators o, LATERAL (SELECT (ARRAY['A', 'B', 'C', 'D'])[1 + abs(hashtext(o.operator_id)) % 4] k) x"
both "INSERT INTO credit_sandbox.inspectors (inspector_id, name) SELECT 'I' || g, 'inspector ' || g FROM generate_series(1, 6) g"
both "INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id)
      SELECT 'I' || (1 + n % 6), operator_id
        FROM (SELECT operator_id, row_number() OVER (ORDER BY operator_id) n FROM credit_sandbox.operators) o
       WHERE n % 7 = 0"
conc_check "the LM- members sit on both workers" "2" \
    "$(c "SELECT count(DISTINCT nodeport) FROM unnest(ARRAY(SELECT 'LM-' || g FROM generate_series(1, 8) g)) o,
            LATERAL (SELECT nodeport FROM pg_dist_shard_placement
                      WHERE shardid = get_shard_id_for_distribution_column('credit_sandbox.transactions', o)) p")"
conc_check "setup: every LM- member has an open RL06 tip due 7 days after its sale" "8|8" \
    "$(c "SELECT count(*), count(*) FILTER (WHERE due_at = occurred_at + interval '7 days') FROM credit_sandbox.warnings
           WHERE operator_id LIKE 'LM-%' AND code = 'RL06' AND list = 'admin_tip' AND status = 'open'")"

# what a warning's lifecycle left, without the ids and wall-clock times a node draws;
# escalated_to as the key and list of the warning it links
state_sql="SELECT count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
             FROM (SELECT concat_ws('|', w.operator_id, w.code, w.list, w.subject_key, w.status, w.status_changed_by,
                                    w.status_note, w.hits, w.evidence - 'escalated_from',
                                    (w.evidence ? 'escalated_from'), e.code, e.list, e.subject_key) x
                     FROM credit_sandbox.warnings w
                     LEFT JOIN credit_sandbox.warnings e ON e.operator_id = w.operator_id AND e.warning_id = w.escalated_to) s"
history_sql="SELECT count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
               FROM (SELECT concat_ws('|', w.operator_id, w.code, w.list, w.subject_key, h.from_status, h.to_status,
                                      h.changed_by, CASE WHEN h.to_status = 'escalated'
                                                         THEN (h.note = format('overdue: warning clue %s written for it', w.escalated_to))::text
                                                         ELSE h.note END) x
                       FROM credit_sandbox.warning_status_history h
                       JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id) s"
# the marketplace's first three warning clues by key
mapfile -t picked < <(one "SELECT operator_id || ' ' || code FROM credit_sandbox.warnings
                            WHERE list = 'risk_trigger' AND operator_id NOT LIKE 'LM-%'
                            ORDER BY operator_id, code, subject_key LIMIT 3")
[ "${#picked[@]}" -eq 3 ] || { echo "not ok - setup: the marketplace has no three warning clues"; exit 1; }
read -r op1 code1 <<<"${picked[0]}"
read -r op2 code2 <<<"${picked[1]}"
read -r op3 code3 <<<"${picked[2]}"
conc_check "setup: the chosen clues have one warning each on both" \
    "$(one "SELECT count(*) FROM credit_sandbox.warnings WHERE (operator_id, code) IN (('$op1', '$code1'), ('$op2', '$code2'), ('$op3', '$code3'))")" \
    "$(c "SELECT count(*) FROM credit_sandbox.warnings WHERE (operator_id, code) IN (('$op1', '$code1'), ('$op2', '$code2'), ('$op3', '$code3'))")"

# --------------------------------------------------------------------- status changes
for db in postgres one; do
    on "$db" acknowledge LM-1 RL06 admin_tip "'seen'"
    on "$db" record_correction LM-2 RL06 admin_tip "'fixed'"
    on "$db" acknowledge LM-4 RL06 admin_tip
    on "$db" close_warning LM-4 RL06 admin_tip "'settled'"
    on "$db" acknowledge "$op1" "$code1" risk_trigger "'seen by the regulator'"
    on "$db" record_correction "$op2" "$code2" risk_trigger
    on "$db" close_warning "$op3" "$code3" risk_trigger "'no case'"
done
conc_true "acknowledge, record_correction and close_warning change the status through the coordinator" \
    "$(c "SELECT array_agg(status ORDER BY operator_id) = '{acknowledged,corrected,closed}'
            FROM credit_sandbox.warnings
           WHERE (operator_id, code, list) IN (('LM-1', 'RL06', 'admin_tip'), ('LM-2', 'RL06', 'admin_tip'),
                                               ('LM-4', 'RL06', 'admin_tip'))")"
same "status changes: one node's warnings" "$state_sql"
same "status changes: one node's audit trail" "$history_sql"
for spec in "acknowledge LM-1 RL06 admin_tip" "record_correction LM-4 RL06 admin_tip" "close_warning $op3 $code3 risk_trigger"; do
    read -r fn op code list <<<"$spec"
    conc_check "$fn refused as on one node (status)" \
        "$(sqlstate one "SELECT credit_sandbox.$fn($(warning_id one "$op" "$code" "$list"))")" \
        "$(sqlstate postgres "SELECT credit_sandbox.$fn($(warning_id postgres "$op" "$code" "$list"))")"
done
conc_check "a warning that does not exist: as on one node" \
    "$(sqlstate one "SELECT credit_sandbox.close_warning(-1)")" "$(sqlstate postgres "SELECT credit_sandbox.close_warning(-1)")"

# an operator's login on its own tip and on another's (check_own_tip)
c "SELECT credit_sandbox.create_roles()" >/dev/null
one "SELECT credit_sandbox.create_roles()" >/dev/null
c "CREATE ROLE lc_member LOGIN IN ROLE credit_sandbox_operator"
both "INSERT INTO credit_sandbox.operator_logins (login, operator_id) VALUES ('lc_member', 'LM-5')"
for db in postgres one; do
    q "$db" "SELECT credit_sandbox.acknowledge($(warning_id "$db" LM-5 RL06 admin_tip), 'we are on it')" \
        -p "$COORDINATOR" -U lc_member >/dev/null
done
conc_check "an operator's login acknowledges its own tip, as on one node (status, by whom)" \
    "$(one "SELECT status, status_changed_by FROM credit_sandbox.warnings WHERE operator_id = 'LM-5' AND code = 'RL06'")" \
    "$(c "SELECT status, status_changed_by FROM credit_sandbox.warnings WHERE operator_id = 'LM-5' AND code = 'RL06'")"
conc_check "... and another operator's tip is refused (42501), as on one node" \
    "$(PGUSER=lc_member sqlstate one "SELECT credit_sandbox.acknowledge($(warning_id one LM-6 RL06 admin_tip))")" \
    "$(PGUSER=lc_member sqlstate postgres "SELECT credit_sandbox.acknowledge($(warning_id postgres LM-6 RL06 admin_tip))")"
conc_check "... 42501 indeed" "42501" \
    "$(PGUSER=lc_member sqlstate postgres "SELECT credit_sandbox.acknowledge($(warning_id postgres LM-6 RL06 admin_tip))")"

# --------------------------------------------------------------------- escalation
overdue_sql="SELECT count(*), md5(coalesce(string_agg(concat_ws('|', operator_id, operator_name, region, code, rule_title,
                        subject_key, status, hits, occurred_at, last_hit_at, due_at, days_overdue, in_sandbox),
                        E'\n' ORDER BY operator_id, code, subject_key), ''))
               FROM credit_sandbox.overdue_tips"
same "overdue_tips: one node's" "$overdue_sql"
same "escalate_overdue as of a passed moment: one node's count" \
    "SELECT credit_sandbox.escalate_overdue('2025-03-08 07:30+00')"
conc_check "... LM-1 (acknowledged) and LM-3 (open) escalated, LM-2 (corrected) not" "LM-1,LM-3" \
    "$(c "SELECT string_agg(operator_id, ',' ORDER BY operator_id) FROM credit_sandbox.warnings
           WHERE operator_id LIKE 'LM-%' AND status = 'escalated'")"
same "escalation: one node's warnings, each tip linked to its clue" "$state_sql"
same "escalation: one node's audit trail, the note naming the linked clue" "$history_sql"
conc_true "escalation: exactly one clue per escalated tip, of its key, linked by escalated_to" \
    "$(c "SELECT count(*) = 2 AND bool_and(n = 1)
            FROM (SELECT t.warning_id,
                         (SELECT count(*) FROM credit_sandbox.warnings k
                           WHERE k.operator_id = t.operator_id AND k.list = 'risk_trigger'
                             AND (k.evidence ->> 'escalated_from')::bigint = t.warning_id
                             AND k.warning_id = t.escalated_to AND k.code = t.code
                             AND k.subject_key = t.subject_key) n
                    FROM credit_sandbox.warnings t WHERE t.status = 'escalated') s")"
same "escalation: one node's sandbox exits" \
    "SELECT string_agg(concat_ws('|', operator_id, exited_at IS NULL, exit_code, exit_reason, exit_hit_at), ',' ORDER BY operator_id)
       FROM credit_sandbox.sandbox_memberships WHERE operator_id LIKE 'LM-%'"
same "escalation: every clue has its feed entry" \
    "SELECT count(*) FROM credit_sandbox.warnings w
       JOIN credit_sandbox.feed_entries f ON f.operator_id = w.operator_id AND f.warning_id = w.warning_id
      WHERE w.operator_id LIKE 'LM-%'"
same "escalate_overdue again: nothing left to escalate" "SELECT credit_sandbox.escalate_overdue('2025-03-08 07:30+00')"
c "CREATE ROLE lc_admin LOGIN IN ROLE credit_sandbox_admin"
conc_check "escalate_overdue as of now() by an administrator's login: one node's count" \
    "$(one "SELECT credit_sandbox.escalate_overdue()" -U lc_admin)" "$(c "SELECT credit_sandbox.escalate_overdue()" -U lc_admin)"
conc_check "... the tips and the audit trail name that login" "t|t" \
    "$(c "SELECT bool_and(w.status_changed_by = 'lc_admin'), bool_and(h.changed_by = 'lc_admin')
            FROM credit_sandbox.warnings w JOIN credit_sandbox.warning_status_history h ON h.warning_id = w.warning_id
           WHERE w.operator_id IN ('LM-6', 'LM-7', 'LM-8') AND w.list = 'admin_tip' AND h.to_status = 'escalated'")"
same "... one node's warnings" "$state_sql"
same "... one node's audit trail" "$history_sql"
same "... overdue_tips is empty, as on one node" "$overdue_sql"
conc_check "... a later moment is refused (22023), as on one node" \
    "$(sqlstate one "SELECT credit_sandbox.escalate_overdue(now() + interval '1 day')")" \
    "$(sqlstate postgres "SELECT credit_sandbox.escalate_overdue(now() + interval '1 day')")"

# --------------------------------------------------------------------- dual-random inspections
pool_sql() {  # seed
    printf '%s\n' "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', p.operator_id, p.class, p.triggered), E'\n'
                                                   ORDER BY p.operator_id), ''))
            FROM credit_sandbox.inspection_pool p JOIN credit_sandbox.inspection_draws d ON d.draw_id = p.draw_id
           WHERE d.seed = '$1'"
}
tasks_sql() {  # seed
    printf '%s\n' "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', t.operator_id, t.reason, t.inspectors), E'\n'
                                                   ORDER BY t.operator_id), ''))
            FROM credit_sandbox.inspection_tasks t JOIN credit_sandbox.inspection_draws d ON d.draw_id = t.draw_id
           WHERE d.seed = '$1'"
}
draw_of() { printf '%s\n' "SELECT draw_id FROM credit_sandbox.inspection_draws WHERE seed = '$1'"; }
for db in postgres one; do
    q "$db" "SELECT credit_sandbox.draw_inspections('lifecycle-1')" -p "$COORDINATOR" >/dev/null
    q "$db" "SELECT credit_sandbox.draw_inspections('lifecycle-2', '{\"A\": 0.5, \"D\": 1}', 3)" -p "$COORDINATOR" >/dev/null
done
for seed in lifecycle-1 lifecycle-2; do
    same "draw $seed: one node's pool" "$(pool_sql "$seed")"
    same "draw $seed: one node's tasks" "$(tasks_sql "$seed")"
    same "draw $seed: draw_tasks gives one node's tasks" \
        "SELECT md5(string_agg(concat_ws('|', t.operator_id, t.reason, t.inspectors), E'\n' ORDER BY t.operator_id))
           FROM credit_sandbox.draw_tasks(($(draw_of "$seed"))) t"
    conc_check "draw $seed: verify_draw true" "t" "$(c "SELECT credit_sandbox.verify_draw(($(draw_of "$seed")))")"
done
conc_true "the draws gave random and triggered tasks" \
    "$(c "SELECT count(DISTINCT reason) = 2 FROM credit_sandbox.inspection_tasks")"
both "UPDATE credit_sandbox.inspection_tasks SET inspectors = '{I1}'
       WHERE draw_id = ($(draw_of lifecycle-1))
         AND operator_id = (SELECT min(t.operator_id) FROM credit_sandbox.inspection_tasks t
                             WHERE t.draw_id = ($(draw_of lifecycle-1)))"
conc_check "verify_draw: a task changed by hand is found" "f" \
    "$(c "SELECT credit_sandbox.verify_draw(($(draw_of lifecycle-1)))")"
same "inspection_draw_summary: one node's" \
    "SELECT string_agg(concat_ws('|', seed, ratios, inspectors_per_task, inspectors, pool_operators, pool_by_class,
                                 random_tasks, triggered_tasks), E'\n' ORDER BY seed)
       FROM credit_sandbox.inspection_draw_summary"
same "inspection_task_details: one node's" \
    "SELECT count(*), md5(string_agg(concat_ws('|', d.seed, t.operator_id, t.operator_name, t.region, t.class, t.reason,
                                             t.inspectors, t.inspector_names), E'\n' ORDER BY d.seed, t.operator_id))
       FROM credit_sandbox.inspection_task_details t JOIN credit_sandbox.inspection_draws d ON d.draw_id = t.draw_id"

# --------------------------------------------------------------------- replay
replay_sql() {  # arguments
    printf '%s\n' "SELECT count(*), md5(coalesce(string_agg(r::text, E'\n'), '')) FROM credit_sandbox.replay($1) r"
}
conc_true "replay gives hits on one node" "$(one "SELECT count(*) > 100 FROM credit_sandbox.replay()")"
same "replay(): one node's hits, in one node's order" "$(replay_sql "")"
same "replay() of a range with a proposed change: one node's hits" \
    "$(replay_sql "'2025-01-01', 'infinity', '{\"RL04\": {\"threshold\": 2}, \"RL06\": {\"enabled\": false}}'")"
same "check_consistency(): one node's" \
    "SELECT count(*), md5(coalesce(string_agg(r::text, E'\n'), '')) FROM credit_sandbox.check_consistency() r"
both "UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL01'"
conc_true "check_consistency() after RL01 is disabled: logged hits the replay lacks" \
    "$(c "SELECT count(*) > 0 AND bool_and(problem = 'extra' AND code = 'RL01') FROM credit_sandbox.check_consistency()")"
same "... the rows one node gives" \
    "SELECT count(*), md5(coalesce(string_agg(r::text, E'\n'), '')) FROM credit_sandbox.check_consistency() r"
conc_finish
