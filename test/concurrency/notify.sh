#!/usr/bin/env bash
# notify.sh -- a transaction that writes a new warning or tip wakes the
# listeners of channel credit_sandbox up once, with an empty payload (any
# login may LISTEN: the signal names no operator, code or key), delivered only
# if it commits; a hit on an open warning (dedup) sends nothing.
#
# A listener psql session (LISTEN credit_sandbox) reads its commands from a
# fifo and is poked with "SELECT 1" so that psql prints the notifications it
# received.  Absence is checked with sentinels: notifications arrive in commit
# order, so once a NOTIFY committed later has been printed, any earlier one
# would have been printed too.  Checks:
#   - no notification while the inserting transaction is open; delivered on
#     COMMIT, from the inserting backend, with an empty payload
#   - ROLLBACK and a transaction aborted by a later error: the warning existed
#     inside the transaction, no notification ever
#   - dedup: a transaction whose only hit is on an open key sends nothing
#   - one row raising RL01 and RL06: one notification
#   - a warning raised by a login that may only insert (create_roles' app role)
#   - pgbench, 6 clients committing or rolling back at random: exactly one
#     notification per committed transaction that wrote a new warning
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
notes() {  # the notification lines with a payload printed so far: the sentinels
    grep -F 'Asynchronous notification "credit_sandbox" with payload' "$LOUT" || true
}
wakeups() {  # the wake-ups printed so far (psql names no payload when it is empty)
    grep -F 'Asynchronous notification "credit_sandbox" received from server process' "$LOUT" || true
}
count_wakeups() { wakeups | grep -c . || true; }
wait_note() {  # wait_note TEXT: poke the listener until a notification containing TEXT is printed (15 s)
    local i
    for ((i = 0; i < 150; i++)); do
        grep -qF -- "$1" "$LOUT" && return 0
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
    conc_check "no notification while the inserting transaction is open" 0 "$(count_wakeups)"
    conc_send w1 "COMMIT;"
    if wait_note 'notification "credit_sandbox" received from'; then
        conc_ok "wake-up delivered after COMMIT, its payload empty"
    else
        conc_notok "notification not delivered within 15 s after COMMIT"
    fi
else
    conc_notok "insert in an open transaction did not complete"
fi
w1_pid=$(q "$DB" "SELECT pid FROM pg_stat_activity WHERE application_name = 'cs_conc_w1'")
note_pid=$(wakeups | head -n 1 | sed -n 's/.*received from server process with PID \([0-9]*\)\.$/\1/p')
conc_check "notification sent by the inserting backend" "$w1_pid" "$note_pid"

# --- rolled back, in every way: the warning existed inside the transaction
phase() {  # phase TAG: wait until w1 has run everything sent so far, then until the listener has all
    conc_send w1 "SELECT '$1-done';"
    conc_wait_backend w1 idle "SELECT '$1-done'%" || conc_notok "session w1 did not finish phase $1"
    sentinel
}
conc_send w1 "BEGIN;"
conc_send w1 "$(ins N-rollback cup 'plain cup')"
conc_send w1 "SELECT 'rollback-saw-' || count(*) FROM credit_sandbox.warnings WHERE operator_id = 'N-rollback';"
conc_send w1 "ROLLBACK;"
conc_send w1 "BEGIN;"
conc_send w1 "$(ins N-aborted cup 'plain cup')"
conc_send w1 "SELECT 'aborted-saw-' || count(*) FROM credit_sandbox.warnings WHERE operator_id = 'N-aborted';"
conc_send w1 "SELECT 1 / 0;"
conc_send w1 "COMMIT;"
phase undone
for what in rollback aborted; do
    conc_true "the $what transaction raised its warning before it was undone" \
        "$(grep -qx "$what-saw-1" "$CONC_TMP/w1.out" && echo t || echo f)"
done
conc_check "no notification for a rolled-back or aborted transaction" 1 "$(count_wakeups)"
conc_send w1 "BEGIN;"
conc_send w1 "SAVEPOINT s;"
conc_send w1 "$(ins N-subxact cup 'plain cup')"
conc_send w1 "ROLLBACK TO SAVEPOINT s;"
conc_send w1 "$(ins N-kept cup 'plain cup')"
conc_send w1 "COMMIT;"
phase kept
conc_check "one wake-up for the transaction that kept a warning after ROLLBACK TO SAVEPOINT" 2 "$(count_wakeups)"
conc_send w1 "$(ins N-commit cup 'plain cup')"
phase dedup
conc_check "dedup: a second hit on the open RL01 key sends nothing (hits=2)" "2|2" \
    "$(count_wakeups)|$(q "$DB" "SELECT string_agg(hits::text, ',') FROM credit_sandbox.warnings WHERE operator_id = 'N-commit'")"
conc_send w1 "$(ins N-two cup '最佳 cup')"
phase two
conc_check "one row with RL01 and RL06: one wake-up" 3 "$(count_wakeups)"
conc_send w1 "$(ins M-tip tip-item '最佳 cup')"
phase tip
conc_check "a sandbox member's tolerated hit (a tip): one wake-up" 4 "$(count_wakeups)"
conc_check "every wake-up came from the inserting backend" "$w1_pid" \
    "$(wakeups | sed -n 's/.*received from server process with PID \([0-9]*\)\.$/\1/p' | sort -u | paste -sd, -)"
unexpected=$(grep -E 'ERROR|FATAL' "$CONC_TMP/w1.out" | grep -v 'division by zero' || true)
conc_check "no unexpected error in the writing session" "" "$unexpected"
conc_end_session w1

# --- a login of the application role, which may only insert: its warning is
# announced all the same (the checks run as the extension's owner)
q "$DB" "SELECT count(*) FROM credit_sandbox.create_roles('cs_conc_app', 'cs_conc_analyst', 'cs_conc_admin');
         CREATE ROLE cs_conc_app_login LOGIN IN ROLE cs_conc_app" >/dev/null
q "$DB" "$(ins N-app cup 'plain cup')" -U cs_conc_app_login
sentinel
conc_check "a wake-up for a warning raised by an INSERT-only login" 5 "$(count_wakeups)"
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

# --- one wake-up per committed transaction that wrote a new warning: the
# transactions whose sales raised a warning (each pgbench transaction inserts one)
read -r n_wakeups n_warn n_xacts < <(q "$DB" "
    SELECT $(count_wakeups) - 5, count(*), count(DISTINCT t.xmin::text)
      FROM credit_sandbox.warnings w
      JOIN credit_sandbox.transactions t ON w.source_table = 'transactions' AND t.txn_id = w.source_id
     WHERE w.operator_id LIKE 'P-%'" -F ' ')
conc_true "concurrent writers raised warnings to check ($n_warn)" "$( [ "$n_warn" -gt 0 ] && echo t || echo f)"
conc_check "exactly one wake-up per committed transaction that wrote a new warning ($n_warn warnings)" \
    "$n_xacts" "$n_wakeups"

conc_finish
