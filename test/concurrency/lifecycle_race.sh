#!/usr/bin/env bash
# lifecycle_race.sh -- writers and every function that works on operators,
# all at once: membership and grading stay exact, and the extension's own
# statements never deadlock each other.
#
# pgbench, 6 clients x 100 transactions, scripts picked at random (weights):
#   sale@12      a two-row INSERT ... SELECT for two random members-to-be, in
#                random order: a tolerable RL06 title (a member's first: a tip,
#                then warning clues), a prohibited category (a warning clue, the
#                stay ends), or a plain sale
#   renew@1      renew_sandbox(): regrade everyone, remove, re-admit
#   regrade@1    regrade()
#   escalate@1   escalate_overdue(): the tips are long overdue (data of 2024)
#   close@2      close one warning (the operator may then be class A again)
#   admit@1      admit() one operator (refused below class A: caught)
#   draw@1       draw_inspections() (grades the ungraded)
# First, deterministically: escalate_overdue() against a transaction that
# inserted a sale of operator P and then inserts one of Q, where P's lock comes
# before Q's and Q's tip is due first: escalation takes its operators' locks
# in the global order, not in due order, so it waits instead of deadlocking.
# Then: no deadlock detected by the server and no failed transaction; no
# member holds an open warning clue; the stays of one operator never overlap
# and none ends before it began; every warning's hits equal its logged hits;
# check_consistency() finds nothing missing or extra.
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init lifecycle_race

DB=cs_conc_lifecycle
conc_createdb "$DB"
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
         SELECT 'LR' || k, 'shop ' || k, 'r1', '2020-01-01', '2031-12-31', '{}' FROM generate_series(1, 12) k;
         SELECT count(credit_sandbox.admit('LR' || k)) FROM generate_series(1, 12) k" >/dev/null

# --- escalation against a two-statement writer
# two operators whose locks come in the order P, Q (the lock is the hash of the id
# modulo 512, as hashtext computes it); Q's tip is due before P's
read -r P Q < <(q "$DB" "
    WITH k AS (SELECT 'LE' || i AS op, ((hashtext('LE' || i)::bigint + 4294967296) % 4294967296) % 512 AS lock
                 FROM generate_series(1, 50) i)
    SELECT p.op, q.op FROM k p, k q WHERE p.lock < q.lock ORDER BY p.lock, q.lock DESC LIMIT 1" -F ' ')
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
         VALUES ('$P', '2020-01-01', '2031-12-31', '{}'), ('$Q', '2020-01-01', '2031-12-31', '{}');
         SELECT credit_sandbox.admit('$P'), credit_sandbox.admit('$Q');
         INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
         VALUES ('$Q', '2024-03-01 10:00+08', 'ad', '最佳 cup', 1), ('$P', '2024-03-05 10:00+08', 'ad', '最佳 cup', 1)" >/dev/null
dl_before=$(conc_deadlocks "$DB")
conc_session writer "$DB"
conc_send writer "BEGIN;"
conc_send writer "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price) VALUES ('$P', '2024-04-01 10:00+08', 'x', 1);"
conc_wait_backend writer 'idle in transaction' 'INSERT%' || conc_notok "the writer's first insert did not complete"
conc_session escalation "$DB"
conc_send escalation "SELECT 'escalated-' || credit_sandbox.escalate_overdue();"
conc_wait_backend escalation active '%escalate_overdue%' || conc_notok "escalate_overdue did not start"
conc_send writer "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price) VALUES ('$Q', '2024-04-01 10:00+08', 'x', 1);"
conc_send writer "COMMIT;"
conc_send writer "SELECT 'writer-done';"
conc_wait_backend writer idle "SELECT 'writer-done'%" || conc_notok "the writer did not finish"
conc_wait_backend escalation idle "SELECT 'escalated-'%" || conc_notok "escalate_overdue did not finish"
conc_end_session writer
conc_end_session escalation
conc_check "escalate_overdue waits for a writer of its operators instead of deadlocking" "0||escalated-2" \
    "$(( $(conc_deadlocks "$DB") - dl_before ))|$(grep -E 'ERROR' "$CONC_TMP/writer.out" || true)|$(grep -o 'escalated-[0-9]*' "$CONC_TMP/escalation.out")"

# --- everything at once
cat >"$CONC_TMP/sale.sql" <<'SQL'
\set a random(1, 12)
\set b random(1, 12)
\set kind random(1, 10)
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, category, quantity, unit_price) SELECT 'LR' || u.op, timestamptz '2024-03-10 10:00+08' + random() * interval '30 days', 'item-' || (random() * 4)::int, CASE WHEN :kind <= 3 THEN '最佳 cup' ELSE 'cup' END, CASE WHEN :kind = 4 THEN 'firearms' ELSE 'kitchen' END, 1, 10 FROM unnest(ARRAY[:a, :b]) AS u(op);
SQL
echo 'SELECT count(*) FROM credit_sandbox.renew_sandbox();' >"$CONC_TMP/renew.sql"
echo 'SELECT credit_sandbox.regrade();' >"$CONC_TMP/regrade.sql"
echo 'SELECT credit_sandbox.escalate_overdue();' >"$CONC_TMP/escalate.sql"
cat >"$CONC_TMP/close.sql" <<'SQL'
DO $$ BEGIN PERFORM credit_sandbox.close_warning(w.warning_id, 'reviewed') FROM (SELECT warning_id FROM credit_sandbox.warnings WHERE status <> 'closed' ORDER BY random() LIMIT 1) w; EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END $$;
SQL
cat >"$CONC_TMP/admit.sql" <<'SQL'
DO $$ BEGIN PERFORM credit_sandbox.admit('LR' || (1 + floor(random() * 12))::int); EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END $$;
SQL
echo "SELECT credit_sandbox.draw_inspections(md5(random()::text), '{\"A\": 0.5, \"B\": 0.5, \"C\": 1, \"D\": 1}', 1);" \
    >"$CONC_TMP/draw.sql"
q "$DB" "INSERT INTO credit_sandbox.inspectors (inspector_id) VALUES ('I1'), ('I2')" >/dev/null

conc_pgbench "writers, renewal, grading, escalation, closing, admission, draws" "read committed" "$DB" \
    -c 6 -j 2 -t 100 -f "$CONC_TMP/sale.sql@12" -f "$CONC_TMP/renew.sql@1" -f "$CONC_TMP/regrade.sql@1" \
    -f "$CONC_TMP/escalate.sql@1" -f "$CONC_TMP/close.sql@2" -f "$CONC_TMP/admit.sql@1" -f "$CONC_TMP/draw.sql@1"
conc_check "no deadlock between the extension's own statements (server count, retried transactions)" "0|0" \
    "$PB_DL|$PB_RETRIED"
conc_true "the run did work: sales, stays ended and begun, escalations ($(q "$DB" "
    SELECT format('%s sales, %s stays, %s escalated', (SELECT count(*) FROM credit_sandbox.transactions),
                  (SELECT count(*) FROM credit_sandbox.sandbox_memberships),
                  (SELECT count(*) FROM credit_sandbox.warnings WHERE escalated_to IS NOT NULL))"))" \
    "$(q "$DB" "SELECT (SELECT count(*) FROM credit_sandbox.sandbox_memberships) > 12
                   AND (SELECT count(*) FROM credit_sandbox.transactions) > 100")"

conc_check "no member holds an open warning clue" "" \
    "$(q "$DB" "SELECT string_agg(DISTINCT m.operator_id, ',') FROM credit_sandbox.sandbox_memberships m
                  JOIN credit_sandbox.warnings w ON w.operator_id = m.operator_id
                 WHERE m.exited_at IS NULL AND w.list = 'risk_trigger' AND w.status = 'open'")"
conc_check "no stay ends before it began" 0 \
    "$(q "$DB" "SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE exited_at < admitted_at")"
conc_check "the stays of one operator never overlap" 0 \
    "$(q "$DB" "SELECT count(*) FROM credit_sandbox.sandbox_memberships a JOIN credit_sandbox.sandbox_memberships b
                  ON a.operator_id = b.operator_id AND a.membership_id < b.membership_id
                 WHERE tstzrange(a.admitted_at, a.exited_at) && tstzrange(b.admitted_at, b.exited_at)")"
conc_check "sandbox_members_at lists no operator twice, at any stay's beginning or end" 0 \
    "$(q "$DB" "SELECT count(*) FROM (SELECT t, m.operator_id FROM
                   (SELECT admitted_at AS t FROM credit_sandbox.sandbox_memberships
                    UNION SELECT exited_at FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NOT NULL) ts,
                   LATERAL credit_sandbox.sandbox_members_at(ts.t) m GROUP BY 1, 2 HAVING count(*) > 1) d")"
conc_check "every warning's hits equal its logged hits" 0 \
    "$(q "$DB" "SELECT count(*) FROM credit_sandbox.warnings w
                 WHERE w.hits <> (SELECT count(*) FROM credit_sandbox.warning_hits h WHERE h.warning_id = w.warning_id)")"
conc_check "check_consistency(): nothing missing or extra" 0 \
    "$(q "$DB" "SELECT count(*) FROM credit_sandbox.check_consistency()")"

conc_finish
