#!/usr/bin/env bash
# notify.sh -- NOTIFY credit_sandbox is sent for every new warning or tip and
# delivered only if the inserting transaction commits; a hit on an open
# warning (dedup) sends nothing.
#
# A listener psql session (LISTEN credit_sandbox) reads its commands from a
# fifo and is poked with "SELECT 1" so that psql prints the notifications it
# received.  Absence is checked with sentinels: notifications arrive in commit
# order, so once a NOTIFY committed later has been printed, any earlier one
# would have been printed too.  Checks:
#   - no notification while the inserting transaction is open; delivered on
#     COMMIT, from the inserting backend, payload = the warning row (JSON keys)
#   - ROLLBACK, ROLLBACK TO SAVEPOINT, and a transaction aborted by a later
#     error: the warning existed inside the transaction, no notification ever
#   - dedup: a second hit on the open key sends nothing (hits = 2)
#   - one row raising RL01 and RL06: two notifications, in code order
#   - a sandbox member's tolerated hit: admin_tip with due_at in the payload
#   - a warning raised by a login that may only insert (create_roles' app role)
#   - pgbench, 6 clients committing or rolling back at random: exactly one
#     notification per committed warning, none for rolled-back ones
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init notify

DB=cs_conc_notify
LOUT=$CONC_TMP/listener.out
conc_createdb "$DB"
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
         VALUES ('M-tip', 'sandbox member', 'r1', '2020-01-01', '2030-12-31', '{}');
         SELECT credit_sandbox.admit('M-tip');" >/dev/null

ins() {  # ins OPERATOR ITEM TITLE: an INSERT statement (unknown operators hit RL01)
    echo "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, category, quantity, unit_price)" \
         "VALUES ('$1', '2024-03-10 10:00:00+08', '$2', '$3', 'kitchen', 1, 10);"
}
notes() {  # the notification lines printed so far
    grep -F 'Asynchronous notification "credit_sandbox" with payload' "$LOUT" || true
}
count_notes() {  # count_notes OPERATOR
    notes | grep -cF "\"operator_id\":\"$1\"" || true
}
wait_note() {  # wait_note TEXT: poke the listener until a notification containing TEXT is printed (15 s)
    local i
    for ((i = 0; i < 150; i++)); do
        notes | grep -qF -- "$1" && return 0
        conc_send listener 'SELECT 1;'
        sleep 0.1
    done
    return 1
}
SENTINELS=0
sentinel() {  # everything committed before now has been printed by the listener
    SENTINELS=$((SENTINELS + 1))
    q "$DB" "NOTIFY credit_sandbox, 'sentinel-$SENTINELS'"
    wait_note "payload \"sentinel-$SENTINELS\"" || { conc_notok "sentinel $SENTINELS not received by the listener"; conc_finish; }
}

conc_session listener "$DB"
conc_send listener 'LISTEN credit_sandbox;'
conc_wait_backend listener idle 'LISTEN%' || { conc_notok "listener session did not start"; cat "$LOUT"; conc_finish; }

# --- commit: nothing while open, one notification after COMMIT
conc_session w1 "$DB"
conc_send w1 "BEGIN;"
conc_send w1 "$(ins N-commit cup 'plain cup')"
if conc_wait_backend w1 'idle in transaction' '%N-commit%'; then
    sentinel
    conc_check "no notification while the inserting transaction is open" 0 "$(count_notes N-commit)"
    conc_send w1 "COMMIT;"
    if wait_note '"operator_id":"N-commit"'; then
        conc_ok "notification delivered after COMMIT"
    else
        conc_notok "notification not delivered within 15 s after COMMIT"
    fi
else
    conc_notok "insert in an open transaction did not complete"
fi
w1_pid=$(q "$DB" "SELECT pid FROM pg_stat_activity WHERE application_name = 'cs_conc_w1'")
note_pid=$(notes | grep -F '"operator_id":"N-commit"' | head -n 1 | sed -n 's/.*received from server process with PID \([0-9]*\)\.$/\1/p')
conc_check "notification sent by the inserting backend" "$w1_pid" "$note_pid"

# --- rolled back, in every way: the warning existed inside the transaction
conc_send w1 "BEGIN;"
conc_send w1 "$(ins N-rollback cup 'plain cup')"
conc_send w1 "SELECT 'rollback-saw-' || count(*) FROM credit_sandbox.warnings WHERE operator_id = 'N-rollback';"
conc_send w1 "ROLLBACK;"
conc_send w1 "BEGIN;"
conc_send w1 "SAVEPOINT s;"
conc_send w1 "$(ins N-subxact cup 'plain cup')"
conc_send w1 "SELECT 'subxact-saw-' || count(*) FROM credit_sandbox.warnings WHERE operator_id = 'N-subxact';"
conc_send w1 "ROLLBACK TO SAVEPOINT s;"
conc_send w1 "$(ins N-kept cup 'plain cup')"
conc_send w1 "COMMIT;"
conc_send w1 "BEGIN;"
conc_send w1 "$(ins N-aborted cup 'plain cup')"
conc_send w1 "SELECT 'aborted-saw-' || count(*) FROM credit_sandbox.warnings WHERE operator_id = 'N-aborted';"
conc_send w1 "SELECT 1 / 0;"
conc_send w1 "COMMIT;"
# --- dedup, two warnings from one row, a tolerated tip (autocommit)
conc_send w1 "$(ins N-commit cup 'plain cup')"
conc_send w1 "$(ins N-two cup '最佳 cup')"
conc_send w1 "$(ins M-tip tip-item '最佳 cup')"
conc_send w1 "SELECT 'w1-done';"
conc_wait_backend w1 idle "SELECT 'w1-done'%" || conc_notok "session w1 did not finish its statements"
conc_end_session w1
sentinel

for what in rollback subxact aborted; do
    conc_true "the $what transaction raised its warning before it was undone" \
        "$(grep -qx "$what-saw-1" "$CONC_TMP/w1.out" && echo t || echo f)"
done
conc_check "no notification for a rolled-back transaction" 0 "$(count_notes N-rollback)"
conc_check "no notification for a rolled-back savepoint" 0 "$(count_notes N-subxact)"
conc_check "no notification for a transaction aborted by an error" 0 "$(count_notes N-aborted)"
conc_check "notification for the row kept after ROLLBACK TO SAVEPOINT" 1 "$(count_notes N-kept)"
conc_check "dedup: second hit on the open RL01 key sends nothing (hits=2)" "1|2" \
    "$(count_notes N-commit)|$(q "$DB" "SELECT string_agg(hits::text, ',') FROM credit_sandbox.warnings WHERE operator_id = 'N-commit'")"
conc_check "one row with RL01 and RL06: two notifications in code order" "RL01,RL06" \
    "$(notes | grep -F '"operator_id":"N-two"' | sed -n 's/.*"code":"\([A-Z0-9]*\)".*/\1/p' | paste -sd, -)"
conc_check "tolerated hit of a sandbox member: one admin_tip notification with due_at" 1 \
    "$(notes | grep -F '"operator_id":"M-tip"' | grep -F '"list":"admin_tip"' | grep -cv '"due_at":null' || true)"
unexpected=$(grep -E 'ERROR|FATAL' "$CONC_TMP/w1.out" | grep -v 'division by zero' || true)
conc_check "no unexpected error in the writing session" "" "$unexpected"

# --- a login of the application role, which may only insert: its warning is
# announced all the same (the checks run as the extension's owner)
q "$DB" "SELECT count(*) FROM credit_sandbox.create_roles('cs_conc_app', 'cs_conc_analyst', 'cs_conc_admin');
         CREATE ROLE cs_conc_app_login LOGIN IN ROLE cs_conc_app" >/dev/null
q "$DB" "$(ins N-app cup 'plain cup')" -U cs_conc_app_login
if wait_note '"operator_id":"N-app"'; then
    conc_ok "notification for a warning raised by an INSERT-only login"
else
    conc_notok "no notification for a warning raised by an INSERT-only login"
fi
q "$DB" "DROP OWNED BY cs_conc_app, cs_conc_analyst, cs_conc_admin;
         DROP ROLE cs_conc_app_login, cs_conc_app, cs_conc_analyst, cs_conc_admin"

# --- concurrent writers committing or rolling back at random
cat >"$CONC_TMP/random_commit.sql" <<'SQL'
\set op random(1, 6)
\set addr random(1, 2)
\set rb random(0, 2)
BEGIN;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, category, quantity, unit_price) VALUES ('P-' || :op, timestamptz '2024-03-10 10:00:00+08', 'addr-' || :addr, 'item-' || :addr, 'cup', 'kitchen', 1, 10);
\if :rb = 0
ROLLBACK;
\else
COMMIT;
\endif
SQL
conc_pgbench "random commit/rollback" "read committed" "$DB" -c 6 -j 2 -t 40 -f "$CONC_TMP/random_commit.sql"
sentinel
conc_end_session listener

# --- every notification against the warnings table
notes | sed -n 's/^Asynchronous notification "credit_sandbox" with payload "\(.*\)" received from server process with PID \([0-9]*\)\.$/\2\t\1/p' \
    | grep -v $'\tsentinel-' | awk -F '\t' -v OFS='\t' '{ print NR, $1, $2 }' >"$CONC_TMP/notes.tsv"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
CREATE TABLE public.conc_notes (seq int, pid int, payload jsonb);
\copy public.conc_notes FROM '$CONC_TMP/notes.tsv'
SQL
read -r n_notes n_warn n_p_warn n_dup n_bad < <(q "$DB" "
    SELECT (SELECT count(*) FROM public.conc_notes),
           (SELECT count(*) FROM credit_sandbox.warnings),
           (SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'P-%'),
           (SELECT count(*) FROM (SELECT FROM public.conc_notes GROUP BY payload->>'warning_id' HAVING count(*) > 1) d),
           (SELECT count(*) FROM public.conc_notes n
              FULL JOIN credit_sandbox.warnings w ON w.warning_id = (n.payload->>'warning_id')::bigint
             WHERE n.payload IS NULL OR w.warning_id IS NULL
                OR n.payload->>'code' IS DISTINCT FROM w.code
                OR n.payload->>'list' IS DISTINCT FROM w.list
                OR n.payload->>'operator_id' IS DISTINCT FROM w.operator_id
                OR n.payload->>'subject_key' IS DISTINCT FROM w.subject_key
                OR n.payload->>'source_table' IS DISTINCT FROM w.source_table
                OR (n.payload->>'source_id')::bigint IS DISTINCT FROM w.source_id
                OR (n.payload->>'occurred_at')::timestamptz IS DISTINCT FROM w.occurred_at
                OR (n.payload->>'due_at')::timestamptz IS DISTINCT FROM w.due_at
                OR NOT n.payload ?& array['warning_id', 'code', 'list', 'operator_id', 'subject_key',
                                          'source_table', 'source_id', 'occurred_at', 'due_at'])" -F ' ')
conc_true "concurrent writers raised warnings to check ($n_p_warn)" "$( [ "$n_p_warn" -gt 0 ] && echo t || echo f)"
n_undone=$(( $(q "$DB" "SELECT last_value FROM credit_sandbox.warnings_warning_id_seq") - n_warn ))
conc_check "exactly one notification per committed warning, payload = the row ($n_warn warnings; $n_undone more were written by transactions that rolled back and never announced)" \
    "$n_warn|0|0" "$n_notes|$n_dup|$n_bad"

conc_finish
