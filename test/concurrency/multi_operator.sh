#!/usr/bin/env bash
# multi_operator.sh -- multi-row statements touching several operators in
# different orders.  The statement driver takes the operator locks of a
# statement in one global order: no deadlock (the server's deadlock counter
# for the database must not move), and the result is exact.
#
# pgbench, 8 clients x 30 statements, two scripts picked at random:
#   abc.sql  INSERT ... SELECT of 5 rows for operators A, B, C, D, A
#   dcb.sql  INSERT ... SELECT of 5 rows for operators D, C, B, A, C
# A, B, C are unknown (RL01: one warning, hits = their rows), all their rows at
# one instant to one address per operator (RL04: one warning, hits = n - 7);
# D is a sandbox member whose titles hit RL06 (tolerable), one item per client:
# one admin_tip, the other items risk_trigger, one sandbox exit.
# Runs: statement driver under READ COMMITTED, REPEATABLE READ, SERIALIZABLE;
# then the row driver under READ COMMITTED, 4 clients x 10 statements with
# deadlock_timeout = 10ms (it locks in row order, so deadlocks are expected;
# pgbench retries them and the result must still be exact).  Every run is
# replayed one row at a time in commit order (lib.bash).
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init multi_operator

DB=cs_conc_multi_operator
RDB=cs_conc_multi_operator_replay
CLIENTS=8
TXNS=${CONC_TXNS:-30}
RUNS=("st-rc:statement:read committed" "st-rr:statement:repeatable read"
      "st-sr:statement:serializable" "row-rc:row:read committed")

conc_createdb "$DB"
conc_createdb "$RDB"
conc_record_order "$DB"

for script in "abc:A B C D A" "dcb:D C B A C"; do
    ops=${script#*:}
    cat >"$CONC_TMP/${script%%:*}.sql" <<SQL
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price) SELECT :pfx || u.op, timestamptz '2024-03-10 10:00:00+08', 'buyer-' || :client_id, CASE WHEN u.op = 'D' THEN NULL ELSE 'addr-' || u.op END, CASE WHEN u.op = 'D' THEN 'item-' || :client_id ELSE 'cup' END, CASE WHEN u.op = 'D' THEN '最佳 cup' ELSE 'plain cup' END, 'kitchen', 1, 10 FROM unnest('{${ops// /,}}'::text[]) WITH ORDINALITY AS u(op, k) ORDER BY u.k;
SQL
done

for run in "${RUNS[@]}"; do
    pfx=${run%%:*} rest=${run#*:}
    driver=${rest%%:*} iso=${rest#*:}
    label="$driver driver, ${iso^^}"
    setup="INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
           VALUES ('$pfx-D', 'sandbox member', 'r1', '2020-01-01', '2030-12-31', '{}');
           SELECT credit_sandbox.admit('$pfx-D');"
    q "$DB" "$setup" >/dev/null
    q "$RDB" "$setup" >/dev/null
    conc_check "driver is $driver ($label)" "$driver" "$(q "$DB" "SELECT credit_sandbox.set_driver('$driver')")"

    if [ "$driver" = statement ]; then
        conc_pgbench "$label" "$iso" "$DB" -c "$CLIENTS" -j 2 -t "$TXNS" -D pfx="'$pfx-'" \
            -f "$CONC_TMP/abc.sql" -f "$CONC_TMP/dcb.sql"
    else
        CONC_PGOPTIONS="-c deadlock_timeout=10ms" CONC_GIVEUP=1 \
            conc_pgbench "$label" "$iso" "$DB" -c 4 -j 2 -t 10 -D pfx="'$pfx-'" \
            -f "$CONC_TMP/abc.sql" -f "$CONC_TMP/dcb.sql"
    fi
    if [ "$driver" = statement ]; then
        conc_check "no deadlock with the statement driver ($label)" 0 "$PB_DL"
    else
        echo "# row driver: $PB_DL deadlocks detected and retried by pgbench ($label)"
    fi
    conc_check "every completed statement stored 5 rows ($label)" "$((PB_PROCESSED * 5))" \
        "$(q "$DB" "SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id LIKE '$pfx-%'")"

    for op in A B C; do
        n=$(q "$DB" "SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id = '$pfx-$op'")
        if [ "$n" -ge 8 ]; then rl04="1|$((n - 7))"; else rl04="0|0"; fi
        conc_check "operator $op: RL01 one warning hits=$n, RL04 one warning hits=$((n - 7)) ($label)" \
            "1|$n|$rl04" \
            "$(q "$DB" "SELECT count(*) FILTER (WHERE code = 'RL01') || '|' || coalesce(sum(hits) FILTER (WHERE code = 'RL01'), 0)
                           || '|' || count(*) FILTER (WHERE code = 'RL04') || '|' || coalesce(sum(hits) FILTER (WHERE code = 'RL04'), 0)
                          FROM credit_sandbox.warnings WHERE operator_id = '$pfx-$op'")"
    done
    read -r n_d n_items < <(q "$DB" "SELECT count(*), count(DISTINCT item_id) FROM credit_sandbox.transactions
                                      WHERE operator_id = '$pfx-D'" -F ' ')
    conc_check "member D: one admin_tip, $((n_items - 1)) risk_trigger, hits=$n_d, one exit on RL06 ($label)" \
        "1|$((n_items - 1))|$n_d|1|RL06" \
        "$(q "$DB" "SELECT count(*) FILTER (WHERE list = 'admin_tip') || '|' || count(*) FILTER (WHERE list = 'risk_trigger')
                         || '|' || coalesce(sum(hits), 0) || '|'
                         || (SELECT count(*) FROM credit_sandbox.sandbox_memberships m
                              WHERE m.operator_id = '$pfx-D' AND m.exited_at IS NOT NULL) || '|'
                         || (SELECT coalesce(string_agg(m.exit_code, ','), '') FROM credit_sandbox.sandbox_memberships m
                              WHERE m.operator_id = '$pfx-D')
                      FROM credit_sandbox.warnings WHERE operator_id = '$pfx-D'")"
    conc_check "no other codes ($label)" "RL01,RL04,RL06" \
        "$(q "$DB" "SELECT string_agg(DISTINCT code, ',' ORDER BY code) FROM credit_sandbox.warnings WHERE operator_id LIKE '$pfx-%'")"
    conc_no_duplicate_open "$DB" "$label"
    conc_hit_log "$DB" "$pfx-%" "$label"
    conc_replay_compare "$DB" "$RDB" "$label" "$pfx-%"
done

conc_finish
