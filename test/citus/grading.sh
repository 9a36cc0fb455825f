#!/usr/bin/env bash
# grading.sh -- credit classes and the sandbox on a Citus cluster (SPEC.md sections 4
# and 6), everything through the coordinator (test/citus/lib.bash starts it), compared
# with one node.
#
#   bash test/citus/grading.sh   (as root, or through sudo; test/check.sh runs it)
#
# The project's generated marketplace is loaded with its members admitted (admit()
# through the coordinator, test/bench/load.sql's master phase), then its events; then
# grade, regrade, grade_ungraded and renew_sandbox as of fixed moments.  After each step
# the grades, the stays (without ids and wall-clock stamps: each node draws its own),
# in_sandbox of every operator (alone, and in a query Citus pushes down to the shards),
# sandbox_members_at and the views operator_classes and sandbox_stays are one node's.  A
# refused admit() leaves no grade on the worker.  The operator locks: a grading waits for a
# check that holds the operator's lock on its worker and counts its warning clue, and a
# check waits for the end of the statement (autocommit) that graded, admitted or renewed,
# and for the COMMIT after lock_operator(); with citus.function_opens_transaction_block
# off a grade through the coordinator is refused outside BEGIN ... COMMIT.  Anyone's
# login asks in_sandbox, an analyst's reads sandbox_members_at.
set -euo pipefail
# shellcheck source=test/citus/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cs_require_root "$@"
citus_start citus_grading

declare -A admitted_by_then
for db in postgres one; do
    citus_generate "$db" 200 20000 2000 1000
    citus_load "$db" master
    admitted_by_then[$db]=$(q "$db" "SELECT clock_timestamp()" -p "$COORDINATOR")
done

# both sides, one node's first: "one-node-result|citus-result" compared by the caller
both() {  # description sql
    conc_check "$1" "$(one "$2")" "$(c "$2")"
}
# grades admit() wrote as of now() (after the data's last day) compare without that moment
grades_sql="SELECT count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
              FROM (SELECT concat_ws('|', operator_id,
                                     CASE WHEN graded_as_of < '2026-01-01' THEN graded_as_of::text END,
                                     score, score_class, class, indicators, hard_rules, cause) x
                      FROM credit_sandbox.operator_grades) s"
stays_sql="SELECT count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
             FROM (SELECT concat_ws('|', operator_id, admitted_by, admit_reason, exited_at IS NULL,
                                    exit_code, exit_reason, exit_warning_id IS NULL, exit_hit_at) x
                     FROM credit_sandbox.sandbox_memberships) s"
members_sql="SELECT string_agg(operator_id || ':' || credit_sandbox.in_sandbox(operator_id), ',' ORDER BY operator_id)
               FROM bench_data.operators"
# in a query Citus pushes down to the shards of operators
pushed_sql="SELECT string_agg(operator_id, ',' ORDER BY operator_id) FROM credit_sandbox.operators
             WHERE credit_sandbox.in_sandbox(operator_id)"
views_sql="SELECT 'classes', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
             FROM (SELECT concat_ws('|', operator_id, class, score, graded_as_of) x
                     FROM credit_sandbox.operator_classes WHERE graded_as_of < '2026-01-01') s
           UNION ALL
           SELECT 'stays', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
             FROM (SELECT concat_ws('|', operator_id, operator_name, region, admitted_by, admit_reason,
                                    exit_code, exit_reason, exit_warning_id IS NULL, exit_hit_at, ongoing,
                                    duration >= interval '0') x
                     FROM credit_sandbox.sandbox_stays) s"
stamps_sql="SELECT count(*) FILTER (WHERE exited_at < admitted_at OR (exited_at IS NULL) <> (exit_code IS NULL)),
                   count(*) FILTER (WHERE exited_at IS NULL)
              FROM credit_sandbox.sandbox_memberships"
state() {  # step: the grades, stays, members and views, one node's
    both "$1: operator_grades" "$grades_sql"
    both "$1: sandbox_memberships" "$stays_sql"
    both "$1: in_sandbox of every operator" "$members_sql"
    both "$1: in_sandbox in a query on the operators' shards" "$pushed_sql"
    both "$1: operator_classes and sandbox_stays" "$views_sql"
    both "$1: every ended stay stamped, not before it began" "$stamps_sql"
}

# --------------------------------------------------------------------- admissions
conc_true "the generated marketplace admits members on one node" \
    "$(one "SELECT count(*) > 50 FROM credit_sandbox.sandbox_memberships")"
state "admit() through the coordinator (load.sql)"
both "admit() of a member: false" "SELECT credit_sandbox.admit(min(operator_id)) FROM credit_sandbox.sandbox_memberships"
error_of() {  # db sql: the first line of its error
    q "$1" "$2" -p "$COORDINATOR" 2>&1 | head -n 1 || true
}
D=$(one "SELECT min(operator_id) FROM bench_data.operators WHERE kind = 'dishonest'")
for call in "admit('$D')" \
            "admit('OP-NONE')" "grade('OP-NONE')" "grade('OP000001', 'infinity')" "regrade('-infinity')"; do
    conc_check "$call: one node's error" "$(error_of one "SELECT credit_sandbox.$call")" \
        "$(error_of postgres "SELECT credit_sandbox.$call")"
done
# admit() locked and graded D on its worker before refusing it: all rolled back there
both "... the refused admit('$D') left no grade on the worker" \
    "SELECT count(*) FROM credit_sandbox.operator_grades WHERE operator_id = '$D'"

# --------------------------------------------------------------------- the events: clues end stays
for db in postgres one; do citus_load "$db" events; done
state "the events (warning clues end stays)"
conc_true "... some stays ended on one node" \
    "$(one "SELECT count(*) > 5 FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NOT NULL")"
# each side's moment between the admissions and the events
both "sandbox_members_at(between admissions and events)" \
    "SELECT count(*), md5(coalesce(string_agg(operator_id || admit_reason, ',' ORDER BY operator_id), ''))
       FROM credit_sandbox.sandbox_members_at((SELECT max(admitted_at) FROM credit_sandbox.sandbox_memberships))"
conc_check "sandbox_members_at(the moment load.sql's admissions ended)" \
    "$(one "SELECT string_agg(operator_id, ',') FROM credit_sandbox.sandbox_members_at('${admitted_by_then[one]}')")" \
    "$(c "SELECT string_agg(operator_id, ',') FROM credit_sandbox.sandbox_members_at('${admitted_by_then[postgres]}')")"
both "sandbox_members_at(now())" \
    "SELECT count(*), md5(coalesce(string_agg(operator_id || admit_reason, ',' ORDER BY operator_id), ''))
       FROM credit_sandbox.sandbox_members_at(now())"

# --------------------------------------------------------------------- grade, regrade, renew
AT="'2025-04-01 00:00+08'"
both "grade(operator, at) of every tenth operator and of every planted one" \
    "SELECT string_agg(operator_id || credit_sandbox.grade(operator_id, $AT), ',' ORDER BY operator_id)
       FROM bench_data.operators WHERE kind <> 'ordinary' OR operator_id LIKE '%0'"
state "grade(operator, at)"
both "regrade(at): every operator" "SELECT credit_sandbox.regrade($AT)"
both "grade_ungraded(at): none left" "SELECT credit_sandbox.grade_ungraded($AT)"
state "regrade(at) (members below A leave)"
conc_true "... regrade ended stays for the class on one node" \
    "$(one "SELECT count(*) > 0 FROM credit_sandbox.sandbox_memberships WHERE exit_code = 'CLASS'")"
conc_true "grade ids are unique across the cluster" \
    "$(c "SELECT count(*) = count(DISTINCT grade_id) FROM credit_sandbox.operator_grades")"
for db in postgres one; do q "$db" "INSERT INTO credit_sandbox.operators (operator_id, name, registered_on, licence_valid_until)
                                    VALUES ('OP-NEW', 'new', '2020-01-01', '2030-01-01')" -p "$COORDINATOR"; done
both "grade_ungraded(at): the new operator" "SELECT credit_sandbox.grade_ungraded($AT)"
renew_sql="SELECT string_agg(concat_ws('|', operator_id, action, reason), E'\n' ORDER BY action, operator_id)
             FROM credit_sandbox.renew_sandbox('2025-04-02 00:00+08')"
both "renew_sandbox(at): what it changed" "$renew_sql"
both "renew_sandbox(at) again: nothing" "$renew_sql"
state "renew_sandbox(at)"

# --------------------------------------------------------------------- the operator locks
# a check of member X holds X's lock (on its worker, through the coordinator) while
# writing a warning clue; a grading of X started meanwhile waits for it and counts it
X=$(one "SELECT min(operator_id) FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL")
hold() {  # db sql: runs sql and then sleeps 2 s in the background, returning once it sleeps
    local tries=0
    PGAPPNAME=cs_grading_hold q "$1" "$2" -p "$COORDINATOR" >/dev/null &
    until [ "$(c "SELECT count(*) FROM pg_stat_activity
                   WHERE application_name = 'cs_grading_hold' AND wait_event = 'PgSleep'")" = 1 ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { echo "# $2: never reached its sleep" >&2; break; }
        sleep 0.1
    done
}
lock_race() {  # db
    hold "$1" "BEGIN;
               INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
               VALUES ('$X', '2025-03-31 12:00+00', 'gun-race', 'firearms', 1);
               SELECT pg_sleep(2);
               COMMIT"
    q "$1" "SELECT credit_sandbox.grade('$X', $AT)" -p "$COORDINATOR"
    wait
}
conc_check "grade() of a member whose check holds its lock on the worker waits and counts the clue" \
    "$(lock_race one)" "$(lock_race postgres)"
state "a grade racing a warning clue"
# a check of member X (class A) waits until the transaction that graded (admitted,
# renewed) X ends
X=$(one "SELECT min(m.operator_id) FROM credit_sandbox.sandbox_memberships m
           JOIN credit_sandbox.operator_classes c ON c.operator_id = m.operator_id
          WHERE m.exited_at IS NULL AND c.class = 'A'")
waits() {  # db sql: whether an insert of X started meanwhile waited for its end
    local start waited
    hold "$1" "$2"
    start=$EPOCHREALTIME
    q "$1" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
            VALUES ('$X', '2025-03-31 13:00+00', 'fruit-wait', 'fruit', 1)" -p "$COORDINATOR"
    waited=$(( ${EPOCHREALTIME/./} - ${start/./} > 1000000 ))
    wait
    echo "$waited"
}
# autocommit statements: on the worker, the call's transaction ends with the statement's
for call in "credit_sandbox.grade('$X', $AT)" "credit_sandbox.regrade($AT)" \
            "credit_sandbox.admit('$X')" \
            "(SELECT count(*) FROM credit_sandbox.renew_sandbox($AT))"; do
    conc_check "a check of $X waits for the end of the statement that ran $call" \
        "$(waits one "SELECT $call, pg_sleep(2)")" "$(waits postgres "SELECT $call, pg_sleep(2)")"
done
locked="BEGIN; SELECT credit_sandbox.lock_operator('$X'); SELECT pg_sleep(2); COMMIT"
conc_check "a check of $X waits for the COMMIT of $locked" "$(waits one "$locked")" "$(waits postgres "$locked")"
# without citus.function_opens_transaction_block Citus would commit the call on the worker
# as it returns: refused outside BEGIN ... COMMIT, where the grade is one node's
no_block="-c citus.function_opens_transaction_block=off"
conc_check "grade() through the coordinator without citus.function_opens_transaction_block: refused" \
    "ERROR:  grade through a Citus coordinator needs citus.function_opens_transaction_block on" \
    "$(PGOPTIONS=$no_block error_of postgres "SELECT credit_sandbox.grade('$X', $AT)")"
conc_check "... and inside BEGIN ... COMMIT one node's grade" \
    "$(PGOPTIONS=$no_block one "BEGIN; SELECT credit_sandbox.grade('$X', $AT); COMMIT")" \
    "$(PGOPTIONS=$no_block c "BEGIN; SELECT credit_sandbox.grade('$X', $AT); COMMIT")"
state "the waits"

# --------------------------------------------------------------------- who may ask
c "SELECT credit_sandbox.create_roles()" >/dev/null
c "CREATE ROLE ct_anyone LOGIN"
c "CREATE ROLE ct_analyst LOGIN IN ROLE credit_sandbox_analyst"
conc_check "anyone's login asks in_sandbox through the coordinator" \
    "$(c "SELECT credit_sandbox.in_sandbox('$X')")" \
    "$(q postgres "SELECT credit_sandbox.in_sandbox('$X')" -p "$COORDINATOR" -U ct_anyone 2>&1)"
conc_check "an analyst's login reads sandbox_members_at through the coordinator" \
    "$(c "SELECT count(*) FROM credit_sandbox.sandbox_members_at(now())")" \
    "$(q postgres "SELECT count(*) FROM credit_sandbox.sandbox_members_at(now())" -p "$COORDINATOR" -U ct_analyst 2>&1)"
# ids drawn on different nodes do not follow time: a grade written through the coordinator
# after one written on the operator's worker has the lower id, and is still the latest
c "SELECT credit_sandbox.grade('OP000001', '2031-01-01')" >/dev/null
c "INSERT INTO credit_sandbox.operator_grades (operator_id, graded_as_of, score, score_class, class, indicators,
                                               hard_rules, cause)
   VALUES ('OP000001', '2031-01-02', 1, 'D', 'D', '{}', '[]', 'grading.sh')"
conc_check "the latest grade is the one written last, whatever its id" "D" \
    "$(c "SELECT class FROM credit_sandbox.operator_classes WHERE operator_id = 'OP000001'")"
conc_check "... whose id is lower than the one written before it on the worker" "t" \
    "$(c "SELECT min(grade_id) FILTER (WHERE cause = 'grading.sh') < max(grade_id) FILTER (WHERE cause = 'grade')
            FROM credit_sandbox.operator_grades WHERE operator_id = 'OP000001'")"
conc_finish
