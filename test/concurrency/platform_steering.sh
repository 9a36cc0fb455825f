#!/usr/bin/env bash
# platform_steering.sh -- the supervised platform cannot steer its own checks
# (README, "Privileges" and "Whose data"), tried with real logins:
#   - a platform login cannot choose generated keys, by INSERT or by COPY, nor
#     read other rows' keys (SELECT, COPY ... TO), yet reads back its own
#     (INSERT ... RETURNING); it registers an operator's id, name and region
#     only, and writes no list entry
#   - an analyst login holding every advisory lock SQL can take does not hold
#     up an insert: the operators' locks are not among them; a platform's
#     transaction left open holds up inserts of its own operator only, not of
#     another operator that shares its lock bucket
#   - renew_sandbox while a writer holds an uncommitted warning clue of a
#     class-A non-member waits for it, and does not admit the operator
#   - the same rows give the same warnings and deadlines from sessions in UTC
#     and in America/New_York (windows across a daylight-saving change)
#   - replay() takes no transaction id
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
conc_init platform_steering

DB=cs_conc_steering
conc_createdb "$DB"
q "$DB" "SELECT count(*) FROM credit_sandbox.create_roles('cs_st_app', 'cs_st_analyst', 'cs_st_admin');
         CREATE ROLE cs_st_platform LOGIN IN ROLE cs_st_app;
         CREATE ROLE cs_st_bi LOGIN IN ROLE cs_st_analyst" >/dev/null
drop_roles() {
    dropdb --if-exists --force "$DB" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS cs_st_platform, cs_st_bi, cs_st_app, cs_st_analyst, cs_st_admin" \
        >/dev/null 2>&1 || true
}
CONC_AT_EXIT+=(drop_roles)

as_platform() {  # as_platform SQL: run as the platform login; prints output, or the SQLSTATE of the error
    PGOPTIONS='-c client_min_messages=error' psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
        -U cs_st_platform -d "$DB" -c "$1" 2>&1 | sed 's/^ERROR:  \([0-9A-Z]\{5\}\)$/\1/'
}
copy_platform() {  # copy_platform COLUMNS ROW: COPY one row from stdin as the platform login
    printf '%s\n' "$2" | psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -U cs_st_platform -d "$DB" \
        -c "COPY credit_sandbox.transactions ($1) FROM STDIN" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\)$/\1/p'
}

# --- keys and the regulator's data, as a platform login
conc_check "COPY with a chosen txn_id is refused" 42501 \
    "$(copy_platform 'txn_id, operator_id, occurred_at, item_id, unit_price' $'90000\tST-A\t2030-06-01 10:00+00\ti\t1')"
conc_check "COPY without the key is checked as any insert" "" \
    "$(copy_platform 'operator_id, occurred_at, item_id, unit_price' $'ST-A\t2030-06-01 10:00+00\ti\t1')"
conc_check "INSERT with a chosen txn_id is refused" 42501 \
    "$(as_platform "INSERT INTO credit_sandbox.transactions (txn_id, operator_id, occurred_at, item_id, unit_price)
                    OVERRIDING SYSTEM VALUE VALUES (90000, 'ST-A', '2030-06-01 10:00+00', 'i', 1)")"
conc_check "INSERT ... RETURNING reads back the generated key" t \
    "$(as_platform "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                    VALUES ('ST-A', '2030-06-01 11:00+00', 'i', 1) RETURNING txn_id > 0")"
conc_check "SELECT of the keys is refused" 42501 "$(as_platform "SELECT count(txn_id) FROM credit_sandbox.transactions")"
conc_check "COPY (SELECT the keys) TO STDOUT is refused" 42501 \
    "$(as_platform "COPY (SELECT txn_id FROM credit_sandbox.transactions) TO STDOUT")"
conc_check "COPY the key column TO STDOUT is refused" 42501 \
    "$(as_platform "COPY credit_sandbox.transactions (txn_id) TO STDOUT")"
conc_check "an operator's licence is refused" 42501 \
    "$(as_platform "INSERT INTO credit_sandbox.operators (operator_id, licence_valid_until, permits)
                    VALUES ('ST-X', '2099-12-31', '{drug_trading}')")"
conc_check "a list entry is refused" 42501 \
    "$(as_platform "INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('ST-A', 'dishonest', '2030-01-01')")"
conc_check "an operator's id, name and region are accepted" "" \
    "$(as_platform "INSERT INTO credit_sandbox.operators (operator_id, name, region) VALUES ('ST-N', 'new shop', 'North')")"
conc_check "the sales stored and checked (RL01 twice on ST-A)" "2|2" \
    "$(q "$DB" "SELECT (SELECT count(*) FROM credit_sandbox.transactions),
                       (SELECT hits FROM credit_sandbox.warnings WHERE operator_id = 'ST-A' AND code = 'RL01')")"

# --- an analyst holding every advisory lock it may take
PGUSER=cs_st_bi conc_session bi "$DB"
conc_send bi "SELECT 'locked-' || count(pg_advisory_lock(1129529944, k)) FROM generate_series(0, 511) k;"
if conc_wait_backend bi idle "SELECT 'locked-'%"; then
    conc_check "an insert is not held up by an analyst's advisory locks" "" \
        "$(as_platform "SET lock_timeout = '2s';
                        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                        SELECT 'ST-L' || k, '2030-06-01 10:00+00', 'i', 1 FROM generate_series(1, 300) k")"
else
    conc_notok "the analyst session did not take its locks"
fi
conc_end_session bi

# --- a platform's transaction left open holds up no other operator
# (two operators of one lock bucket, the hash of the id modulo 512 as hashtext computes it)
read -r B1 B2 < <(q "$DB" "
    WITH k AS (SELECT 'ST-B' || i AS op, ((hashtext('ST-B' || i)::bigint + 4294967296) % 4294967296) % 512 AS bucket
                 FROM generate_series(1, 2000) i)
    SELECT a.op, b.op FROM k a JOIN k b ON a.bucket = b.bucket AND a.op < b.op LIMIT 1" -F ' ')
PGUSER=cs_st_platform conc_session open_txn "$DB"
conc_send open_txn "BEGIN;"
conc_send open_txn "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price) VALUES ('$B1', '2030-06-01 10:00+00', 'i', 1);"
if conc_wait_backend open_txn 'idle in transaction' 'INSERT%'; then
    conc_check "an insert of another operator of the same lock bucket is not held up ($B1 open, $B2 inserted)" "" \
        "$(as_platform "SET lock_timeout = '2s';
                        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                        VALUES ('$B2', '2030-06-01 10:00+00', 'i', 1)")"
    conc_check "... nor a multi-row insert of a few other operators" "" \
        "$(as_platform "SET lock_timeout = '2s';
                        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                        VALUES ('$B2', '2030-06-01 11:00+00', 'i', 1), ('ST-other', '2030-06-01 11:00+00', 'i', 1)")"
    conc_check "an insert of the open transaction's own operator waits for it" 55P03 \
        "$(as_platform "SET lock_timeout = '500ms';
                        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
                        VALUES ('$B1', '2030-06-01 12:00+00', 'i', 1)")"
else
    conc_notok "the platform's open insert did not complete"
fi
conc_send open_txn "ROLLBACK;"
conc_end_session open_txn

# --- renew_sandbox against an uncommitted warning clue
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
         VALUES ('ST-R', '2020-01-01', '2031-12-31', '{}')" >/dev/null
conc_session writer "$DB"
conc_send writer "BEGIN;"
conc_send writer "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, category, unit_price)
                  VALUES ('ST-R', now(), 'gun', 'firearms', 1);"
if conc_wait_backend writer 'idle in transaction' 'INSERT%'; then
    conc_session renewal "$DB"
    conc_send renewal "SELECT 'renewed-' || count(*) FROM credit_sandbox.renew_sandbox();"
    if conc_wait_backend renewal active '%renew_sandbox%' && sleep 0.5 \
       && conc_wait_backend renewal active '%renew_sandbox%'; then
        conc_ok "renew_sandbox waits for the writer's operator lock"
    else
        conc_notok "renew_sandbox did not wait for the writer"
    fi
    conc_send writer "COMMIT;"
    conc_wait_backend renewal idle "SELECT 'renewed-'%" || conc_notok "renew_sandbox did not finish"
    conc_end_session renewal
else
    conc_notok "the writer's insert did not complete"
fi
conc_end_session writer
conc_check "the operator with a warning clue is not admitted; its class is B" "false|B" \
    "$(q "$DB" "SELECT credit_sandbox.in_sandbox('ST-R')::text || '|' || (SELECT class FROM credit_sandbox.operator_classes
                                                                     WHERE operator_id = 'ST-R')")"
conc_check "no member holds an open warning clue" 0 \
    "$(q "$DB" "SELECT count(*) FROM credit_sandbox.sandbox_memberships m JOIN credit_sandbox.warnings w
                  ON w.operator_id = m.operator_id AND w.list = 'risk_trigger' AND w.status = 'open'
               WHERE m.exited_at IS NULL")"

# --- the session's time zone moves nothing
# A refusal 167.5 h after delivery, across the US change to summer time
# (2030-03-10): 7 days in Asia/Shanghai are 168 h, in New York 167 h, so it
# is within the return period and hits RL07.  Both operators are members:
# their RL07 and RL06 hits are tips due 7 legal days (168 h) later.  The
# consistency check finds nothing, from either zone.
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
         SELECT 'ST-TZ-' || z, '2020-01-01', '2031-12-31', '{}' FROM unnest('{utc,ny}'::text[]) z;
         SELECT credit_sandbox.admit('ST-TZ-' || z) FROM unnest('{utc,ny}'::text[]) z" >/dev/null
for zone in UTC America/New_York; do
    z=$([ "$zone" = UTC ] && echo utc || echo ny)
    PGOPTIONS="-c TimeZone=$zone" q "$DB" "
        INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome)
        VALUES ('ST-TZ-$z', 'misc', '2030-03-05 12:00-05', timestamptz '2030-03-05 12:00-05' + interval '167.5 hours', 'refused');
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
        VALUES ('ST-TZ-$z', '2030-03-06 12:00-05', 'ad', '最佳 cup', 1)" >/dev/null
done
for zone in UTC America/New_York; do
    conc_check "from a session in $zone: the same warnings and deadlines for both" \
        "4|RL06 admin_tip 168.0 h,RL07 admin_tip 168.0 h" \
        "$(PGOPTIONS="-c TimeZone=$zone" q "$DB" "
            SELECT count(*) || '|' || string_agg(DISTINCT d, ',' ORDER BY d)
              FROM (SELECT concat_ws(' ', w.code, w.list, round(extract(epoch FROM w.due_at - w.occurred_at) / 3600, 1) || ' h') AS d
                      FROM credit_sandbox.warnings w
                     WHERE w.operator_id LIKE 'ST-TZ-%' AND w.code IN ('RL06', 'RL07')) x")"
    conc_check "check_consistency() from a session in $zone: nothing missing or extra" 0 \
        "$(PGOPTIONS="-c TimeZone=$zone" q "$DB" "SELECT count(*) FROM credit_sandbox.check_consistency()")"
done

# --- replay reads: it takes no transaction id (so it runs on a hot standby too)
conc_check "replay() takes no transaction id" "t|t" \
    "$(q "$DB" "SELECT count(*) >= 0 FROM credit_sandbox.replay(); SELECT pg_current_xact_id_if_assigned() IS NULL" | paste -sd'|')"

conc_finish
