#!/usr/bin/env bash
# rule_change.sh -- a rule change made in another session reaches the next
# inserted row of an already open transaction once it commits, never before,
# and never if it rolls back (rules are cached per backend and invalidated on
# commit).  Under READ COMMITTED and REPEATABLE READ:
#   session w: BEGIN; row 1 for operator X, ship_to addr   (RL04 threshold 8)
#   session a: BEGIN; UPDATE rules RL04 threshold 2        (not committed)
#   session w: row 2 -> no RL04 (the change is not committed; 2 < 8)
#   session a: COMMIT
#   session w: row 3 -> RL04 with the new rule version (3 >= 2); COMMIT
#   session a: BEGIN; UPDATE RL04 threshold 1; ROLLBACK
#   session w: one row for operator Y -> no RL04 (threshold still 2; 1 < 2)
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init rule_change

DB=cs_conc_rule_change
conc_createdb "$DB"

ins() {  # ins OPERATOR: a sale to addr (unknown operators also hit RL01)
    echo "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, quantity, unit_price)" \
         "VALUES ('$1', '2024-03-10 10:00:00+08', 'addr', 'cup', 1, 10);"
}
rl04() {  # rl04 OPERATOR TAG: print TAG:<hits>@v<rule_version> of the RL04 warnings, or TAG:none
    echo "SELECT '$2:' || coalesce(string_agg(hits || '@v' || rule_version, ','), 'none')" \
         "FROM credit_sandbox.warnings WHERE operator_id = '$1' AND code = 'RL04';"
}
set_threshold() {  # the UPDATE statement
    echo "UPDATE credit_sandbox.rules SET params = jsonb_set(params, '{threshold}', '$1') WHERE code = 'RL04';"
}
step() {  # step SESSION MARK SQL...: send, then wait until the session ran SELECT 'MARK'
    local s=$1 mark=$2
    shift 2
    conc_send "$s" "$(printf '%s\n' "$@")"
    conc_send "$s" "SELECT '$mark';"
    conc_wait_backend "$s" 'idle%' "SELECT '$mark'%" || { conc_notok "session $s: step $mark did not finish"; conc_finish; }
}
result() {  # result TAG: the value printed by rl04 TAG in session w
    sed -n "s/^$1://p" "$CONC_TMP/w.out" | tail -n 1
}

conc_session w "$DB"
conc_session a "$DB"
for level in "rc:read committed" "rr:repeatable read"; do
    lvl=${level%%:*} iso=${level#*:}
    ISO=${iso^^}
    X="X-$lvl" Y="Y-$lvl"
    step w "$lvl-1" "BEGIN ISOLATION LEVEL $ISO;" "$(ins "$X")"
    step a "$lvl-2" "BEGIN;" "$(set_threshold 2)"
    step w "$lvl-3" "$(ins "$X")" "$(rl04 "$X" "$lvl-row2")"
    conc_check "uncommitted rule change not used by another session ($ISO)" none "$(result "$lvl-row2")"
    step a "$lvl-4" "COMMIT;"
    version=$(q "$DB" "SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'")
    step w "$lvl-5" "$(ins "$X")" "$(rl04 "$X" "$lvl-row3")" "COMMIT;"
    conc_check "committed rule change used by the next row of an open transaction ($ISO)" \
        "1@v$version" "$(result "$lvl-row3")"
    step a "$lvl-6" "BEGIN;" "$(set_threshold 1)" "ROLLBACK;"
    step w "$lvl-7" "$(ins "$Y")" "$(rl04 "$Y" "$lvl-rolledback")"
    conc_check "rolled-back rule change never used ($ISO)" none "$(result "$lvl-rolledback")"
    step a "$lvl-8" "$(set_threshold 8)"
done
conc_end_session w
conc_end_session a
unexpected=$(grep -hE 'ERROR|FATAL' "$CONC_TMP/w.out" "$CONC_TMP/a.out" || true)
conc_check "no error in the sessions" "" "$unexpected"

conc_finish
