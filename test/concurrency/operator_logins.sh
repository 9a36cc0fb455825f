#!/usr/bin/env bash
# operator_logins.sh -- the operators' own view with real logins (README, "Operators' own
# view"): two operators' logins, each mapped by the regulator in operator_logins, a
# stranger (a login of the operator role mapped to nothing) and a platform's login each
# try every way around:
#   - my_warnings: each operator login reads its own operators' rows, every status, and
#     no other; the stranger and the platform nothing; a qual that raises on another
#     operator's row is never evaluated on it, nor is a function of its own (claiming to
#     cost nothing, raising a NOTICE with what it is shown) ever shown one
#   - acknowledge / record_correction: on its own tips only; another operator's tip, its
#     own warning clue and an id that does not exist give the same 42501 (the message
#     names the id given, the detail the login: nothing of the row)
#   - every table and every other view of the schema: 42501; no function but
#     acknowledge, record_correction and PUBLIC's; the feed functions (when installed)
#     not executable; pg_stats shows none of the schema's columns
#   - SET ROLE to another operator's login: refused
#   - LISTEN credit_sandbox: the wake-up a new warning of another operator sends
#     carries nothing (empty payload)
#   - my_warning_history: each login's changes, seen by it alone
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init operator_logins

DB=cs_conc_operator_logins
LOGINS="cs_ol_a, cs_ol_b, cs_ol_stranger, cs_ol_platform, cs_ol_regulator"
GROUP_ROLES="cs_ol_app, cs_ol_analyst, cs_ol_admin, cs_ol_operator"
drop_roles() {
    dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOGINS, $GROUP_ROLES" >/dev/null 2>&1 || true
}
drop_roles
CONC_AT_EXIT+=(drop_roles)
conc_createdb "$DB"
# the fourth parameter names the operator role (a call of 0.5 with three still works)
q "$DB" "SELECT count(*) FROM credit_sandbox.create_roles('cs_ol_app', 'cs_ol_analyst', 'cs_ol_admin', 'cs_ol_operator');
         CREATE ROLE cs_ol_a LOGIN IN ROLE cs_ol_operator;
         CREATE ROLE cs_ol_b LOGIN IN ROLE cs_ol_operator;
         CREATE ROLE cs_ol_stranger LOGIN IN ROLE cs_ol_operator;
         CREATE ROLE cs_ol_platform LOGIN IN ROLE cs_ol_app;
         CREATE ROLE cs_ol_regulator LOGIN IN ROLE cs_ol_admin" >/dev/null

as() {  # as LOGIN SQL: output, or "SQLSTATE message" of the error (the first line)
    PGOPTIONS='-c client_min_messages=error' psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
        -U "$1" -d "$DB" -c "$2" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): \(.*\)$/\1 \2/p; /^ERROR/!{/^DETAIL\|^HINT\|^LOCATION/!p}' | head -n 1
}
state() {  # state LOGIN SQL: the SQLSTATE of the error, or "ok"
    local out
    out=$(PGOPTIONS='-c client_min_messages=error' psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
        -U "$1" -d "$DB" -c "$2" 2>&1) && { echo ok; return; }
    sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\)$/\1/p' <<<"$out" | head -n 1
}
error_text() {  # error_text LOGIN SQL: the whole error (message, detail, hint)
    PGOPTIONS='-c client_min_messages=error' psql -X -q -A -t -v VERBOSITY=default -U "$1" -d "$DB" -c "$2" 2>&1 || true
}

# --- the regulator registers and admits three operators and maps the logins
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
         VALUES ('OL-A', 'shop A', 'r1', '2020-01-01', '2031-12-31', '{}'),
                ('OL-A2', 'shop A2', 'r1', '2020-01-01', '2031-12-31', '{}'),
                ('OL-B', 'shop B', 'r2', '2020-01-01', '2031-12-31', '{}')" >/dev/null
conc_check "the regulator admits the three operators" "t|t|t" \
    "$(as cs_ol_regulator "SELECT format('%s|%s|%s', credit_sandbox.admit('OL-A'), credit_sandbox.admit('OL-A2'), credit_sandbox.admit('OL-B'))")"
conc_check "the regulator maps the logins" "" \
    "$(as cs_ol_regulator "INSERT INTO credit_sandbox.operator_logins VALUES ('cs_ol_a', 'OL-A'), ('cs_ol_a', 'OL-A2'), ('cs_ol_b', 'OL-B')")"
sale() {  # sale OPERATOR ITEM TITLE CATEGORY AT: one sale, inserted by the platform's login
    as cs_ol_platform "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, item_id, item_title,
                                                                category, quantity, unit_price)
                       VALUES ('$1', '$5', 'b', '$2', '$3', '$4', 1, 10)"
}
conc_check "the platform's sales are accepted" "" \
    "$(sale OL-A ad '最佳 耳机' misc '2025-05-01 04:00+00'; sale OL-A gun 'gun' firearms '2025-05-02 04:00+00';
       sale OL-A2 ad '最佳 耳机' misc '2025-05-01 05:00+00';
       sale OL-B ad '最佳 耳机' misc '2025-05-01 06:00+00'; sale OL-B gun 'gun' firearms '2025-05-02 06:00+00')"
read -r TIP_A CLUE_A TIP_A2 TIP_B CLUE_B NONE < <(q "$DB" "
    SELECT (SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'OL-A' AND list = 'admin_tip'),
           (SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'OL-A' AND list = 'risk_trigger'),
           (SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'OL-A2' AND list = 'admin_tip'),
           (SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'OL-B' AND list = 'admin_tip'),
           (SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'OL-B' AND list = 'risk_trigger'),
           (SELECT max(warning_id) + 1000 FROM credit_sandbox.warnings)" -F ' ')
conc_check "fixtures: a tip and a clue of OL-A and OL-B, a tip of OL-A2" 5 "$(echo "$TIP_A $CLUE_A $TIP_A2 $TIP_B $CLUE_B" | wc -w)"
q "$DB" "ANALYZE" >/dev/null

# --- what each login reads
conc_check "cs_ol_a: my_warnings has OL-A's and OL-A2's rows only" "OL-A|admin_tip,OL-A|risk_trigger,OL-A2|admin_tip" \
    "$(as cs_ol_a "SELECT string_agg(operator_id || '|' || list, ',' ORDER BY operator_id, list) FROM credit_sandbox.my_warnings")"
conc_check "cs_ol_b: my_warnings has OL-B's rows only" "OL-B|admin_tip,OL-B|risk_trigger" \
    "$(as cs_ol_b "SELECT string_agg(operator_id || '|' || list, ',' ORDER BY operator_id, list) FROM credit_sandbox.my_warnings")"
conc_check "the stranger: my_warnings is empty" 0 "$(as cs_ol_stranger "SELECT count(*) FROM credit_sandbox.my_warnings")"
conc_check "the platform: my_warnings refused" 42501 "$(state cs_ol_platform "SELECT count(*) FROM credit_sandbox.my_warnings")"
conc_check "cs_ol_a: a qual raising on OL-B's rows is never evaluated on them" 3 \
    "$(as cs_ol_a "SELECT count(*) FROM credit_sandbox.my_warnings WHERE 1 / (CASE WHEN operator_id = 'OL-B' THEN 0 ELSE 1 END) = 1")"
peek=$(PGOPTIONS='-c client_min_messages=notice -c enable_indexscan=off -c enable_bitmapscan=off -c enable_nestloop=off' \
       psql -X -q -A -t -U cs_ol_a -d "$DB" \
            -c "CREATE FUNCTION pg_temp.peek(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
                \$\$ BEGIN RAISE NOTICE 'seen %', t; RETURN true; END \$\$" \
            -c "SELECT count(*) FROM credit_sandbox.my_warnings WHERE pg_temp.peek(operator_id)" 2>&1 || true)
conc_check "cs_ol_a: its own function claiming to cost nothing, over my_warnings, is shown its 3 rows and none of OL-B's" \
    "3|0" "$(grep -c 'NOTICE:  seen OL-A' <<<"$peek" || true)|$(grep -c 'OL-B' <<<"$peek" || true)"
conc_check "cs_ol_b: OL-A's tip by its id in my_warnings: nothing" 0 \
    "$(as cs_ol_b "SELECT count(*) FROM credit_sandbox.my_warnings WHERE warning_id = $TIP_A")"

# --- every other table, view, sequence and function
mapfile -t RELS < <(q "$DB" "SELECT c.oid::regclass FROM pg_class c
                              WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                                AND c.relname NOT IN ('my_warnings', 'my_warning_history') ORDER BY 1")
for login in cs_ol_a cs_ol_b cs_ol_stranger; do
    readable=()
    for rel in "${RELS[@]}"; do
        [ "$(state "$login" "SELECT FROM $rel LIMIT 1")" = 42501 ] || readable+=("$rel")
    done
    conc_check "$login: every other table and view (${#RELS[@]}) refused with 42501" "" "${readable[*]}"
    conc_check "$login: executes no function of the schema but acknowledge, record_correction, owner_rows (the views on Citus) and PUBLIC's" \
        "acknowledge,driver,in_sandbox,legal_day,owner_rows,record_correction" \
        "$(q "$DB" "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc
                     WHERE pronamespace = 'credit_sandbox'::regnamespace AND has_function_privilege('$login', oid, 'EXECUTE')")"
    conc_check "$login: uses no sequence" 0 \
        "$(q "$DB" "SELECT count(*) FROM pg_class WHERE relnamespace = 'credit_sandbox'::regnamespace AND relkind = 'S'
                     AND CASE WHEN relkind = 'S' THEN has_sequence_privilege('$login', oid, 'SELECT,USAGE,UPDATE') END")"
    # the feed's functions, whichever of them this version installs
    conc_check "$login: executes none of the feed functions installed" ok \
        "$(state "$login" "DO \$\$
            DECLARE f regprocedure;
            BEGIN
                FOR f IN SELECT p.oid FROM pg_proc p
                          WHERE p.pronamespace = 'credit_sandbox'::regnamespace
                            AND p.proname IN ('read_feed', 'ack_feed', 'create_subscription', 'drop_subscription')
                LOOP
                    IF has_function_privilege(f, 'EXECUTE') THEN
                        RAISE EXCEPTION 'may execute %', f;
                    END IF;
                END LOOP;
            END \$\$")"
    conc_check "$login: pg_stats shows none of the schema's columns" 0 \
        "$(as "$login" "SELECT count(*) FROM pg_stats WHERE schemaname = 'credit_sandbox'")"
    for call in "credit_sandbox.close_warning($TIP_A, 'x')" "credit_sandbox.escalate_overdue()" \
                "credit_sandbox.change_warning_status($TIP_B, '{open}', 'closed', NULL)" \
                "credit_sandbox.check_own_tip($TIP_B)" "credit_sandbox.sandbox_members_at(now())" \
                "credit_sandbox.replay()" "credit_sandbox.verify_draw(1)"; do
        conc_check "$login: SELECT $call refused" 42501 "$(state "$login" "SELECT $call")"
    done
done
conc_check "the platform: my_warning_history refused" 42501 "$(state cs_ol_platform "SELECT count(*) FROM credit_sandbox.my_warning_history")"

# --- other ids, and what the errors say
refused() {  # refused DESCRIPTION LOGIN FUNCTION ID [NOTE]: the call is refused, the message names the id only
    conc_check "$1" "42501 permission denied for warning $4" "$(as "$2" "SELECT credit_sandbox.$3($4${5:+, '$5'})")"
}
refused "cs_ol_a: acknowledge OL-B's tip" cs_ol_a acknowledge "$TIP_B"
refused "cs_ol_a: record_correction OL-B's tip" cs_ol_a record_correction "$TIP_B" done
refused "cs_ol_a: acknowledge OL-B's clue" cs_ol_a acknowledge "$CLUE_B"
refused "cs_ol_a: acknowledge its own warning clue (tips only)" cs_ol_a acknowledge "$CLUE_A"
refused "cs_ol_a: record_correction of its own warning clue" cs_ol_a record_correction "$CLUE_A" done
refused "cs_ol_b: record_correction OL-A's tip" cs_ol_b record_correction "$TIP_A" done
refused "cs_ol_b: acknowledge OL-A2's tip" cs_ol_b acknowledge "$TIP_A2"
refused "the stranger: acknowledge any tip" cs_ol_stranger acknowledge "$TIP_A"
refused "the stranger: record_correction any tip" cs_ol_stranger record_correction "$TIP_B" done
conc_check "the platform: acknowledge is not its function" "42501 permission denied for function acknowledge" \
    "$(as cs_ol_platform "SELECT credit_sandbox.acknowledge($TIP_A)")"
other=$(error_text cs_ol_a "SELECT credit_sandbox.acknowledge($TIP_B)")
missing=$(error_text cs_ol_a "SELECT credit_sandbox.acknowledge($NONE)")
conc_check "cs_ol_a: an id that does not exist errs exactly as another's tip (but for the id)" "${other//warning $TIP_B/warning N}" "${missing//warning $NONE/warning N}"
conc_true "... the error names neither the operator, the status nor the code" \
    "$(grep -qE 'OL-B|open|RL06|admin_tip.*OL' <<<"$other" && echo f || echo t)" "$other"
conc_check "cs_ol_a: SET ROLE cs_ol_b refused" 42501 "$(state cs_ol_a "SET ROLE cs_ol_b")"
conc_check "cs_ol_a: cannot map itself to OL-B" 42501 \
    "$(state cs_ol_a "INSERT INTO credit_sandbox.operator_logins VALUES ('cs_ol_a', 'OL-B')")"
conc_check "the refused calls changed nothing" "open|open|open|open|0" \
    "$(q "$DB" "SELECT string_agg(status, '|' ORDER BY warning_id) || '|' ||
                       (SELECT count(*) FROM credit_sandbox.warning_status_history)
                  FROM credit_sandbox.warnings WHERE warning_id IN ($TIP_A, $CLUE_A, $TIP_B, $CLUE_B)")"

# --- own tips
conc_check "cs_ol_a: acknowledges its tip" "" "$(as cs_ol_a "SELECT credit_sandbox.acknowledge($TIP_A, 'seen')")"
conc_check "cs_ol_a: records the correction" "" "$(as cs_ol_a "SELECT credit_sandbox.record_correction($TIP_A, 'title fixed')")"
conc_check "cs_ol_b: records the correction of its tip" "" "$(as cs_ol_b "SELECT credit_sandbox.record_correction($TIP_B, 'label fixed')")"
conc_check "cs_ol_a: my_warning_history has its two changes, by its login" \
    "$TIP_A|open|acknowledged|cs_ol_a|seen,$TIP_A|acknowledged|corrected|cs_ol_a|title fixed" \
    "$(as cs_ol_a "SELECT string_agg(concat_ws('|', warning_id, from_status, to_status, changed_by, note), ',' ORDER BY history_id)
                    FROM credit_sandbox.my_warning_history")"
conc_check "cs_ol_b: my_warning_history has its change only" "$TIP_B|corrected|cs_ol_b" \
    "$(as cs_ol_b "SELECT string_agg(concat_ws('|', warning_id, to_status, changed_by), ',') FROM credit_sandbox.my_warning_history")"
conc_check "the stranger: no history" 0 "$(as cs_ol_stranger "SELECT count(*) FROM credit_sandbox.my_warning_history")"

# --- LISTEN: the wake-up carries nothing
LOUT=$CONC_TMP/listener.out
PGUSER=cs_ol_a conc_session listener "$DB"
conc_send listener 'LISTEN credit_sandbox;'
if conc_wait_backend listener idle 'LISTEN%'; then
    sale OL-B item2 'gun 2' firearms '2025-05-03 06:00+00' >/dev/null
    for ((i = 0; i < 100; i++)); do
        grep -qF 'Asynchronous notification "credit_sandbox"' "$LOUT" && break
        conc_send listener 'SELECT 1;'
        sleep 0.1
    done
    conc_check "cs_ol_a, listening: woken up by OL-B's new warning clue" 1 \
        "$(grep -cF 'Asynchronous notification "credit_sandbox" received from server process' "$LOUT" || true)"
    conc_check "... with an empty payload (no operator, code or key)" 0 \
        "$(grep -cE 'with payload|OL-B|RL03' "$LOUT" || true)"
else
    conc_notok "the listener session did not start"
fi
conc_end_session listener

conc_finish
