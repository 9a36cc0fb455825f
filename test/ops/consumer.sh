#!/usr/bin/env bash
# consumer.sh -- the two feed consumers of README.md's "Consumers": the psql loop (the
# README's sh block that calls read_feed, run as it is printed there) and
# test/consumers/feed_consumer.py, each with a subscription of its own, as the login
# crm_feed the README's block makes (it may only read and acknowledge), while one
# writer commits warnings in small transactions.
#
# Each consumer forwards through a command that appends the batch to a log file; once,
# that command kills its consumer (SIGKILL) right after appending, i.e. between the
# forward and the acknowledgement, and the consumer is started again.  Then, per
# consumer:
#   - the killed batch is forwarded again after the restart, identical;
#   - dropping what is at or below the highest position already received (what the
#     README asks of the receiver) leaves every warning exactly once, in commit order,
#     with the warning's operator, code, list and key;
#   - after its connections were terminated, it connects again and goes on;
#   - a warning committed while the consumer sleeps is forwarded within seconds although
#     its timeout is 300 s (the LISTEN wake-up), and everything ends acknowledged.
#
# Python: CS_PYTHON (/usr/bin/python3, with Debian's python3-psycopg2).
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
cs_require_root "$@"
conc_init consumer

DB=cs_ops_consumer
LOGIN=crm_feed
PY=${CS_PYTHON:-/usr/bin/python3}
drop_login() { psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOGIN" >/dev/null 2>&1; }
# every consumer started, so that none outlives the test (one that was never killed, say)
STARTED=()
stop_consumers() {
    local pid
    for pid in "${STARTED[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null && { wait "$pid" 2>/dev/null || true; }
    done
    STARTED=()
}
CONC_AT_EXIT+=(stop_consumers drop_login)

# the README's consumer login and loop
login_sql=$(conc_readme_block sql 'GRANT EXECUTE ON FUNCTION credit_sandbox.read_feed')
conc_readme_block sh 'read_feed' >"$CONC_TMP/feed_loop.sh"
if [ -z "$login_sql" ] || ! grep -q "CREATE ROLE $LOGIN " <<<"$login_sql" || [ ! -s "$CONC_TMP/feed_loop.sh" ]; then
    conc_notok "README.md has the consumer's login ($LOGIN) and the psql loop"
    conc_finish
fi
"$PY" -c 'import psycopg2' 2>/dev/null \
    || { conc_notok "$PY imports psycopg2 (Debian: python3-psycopg2)"; conc_finish; }

conc_createdb "$DB"
q "$DB" "SELECT credit_sandbox.create_roles()" >/dev/null
drop_login
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<<"$login_sql" >/dev/null
as_login() { PGUSER=$LOGIN q "$DB" "$1"; }
# from_start: the warnings written before the consumers start are theirs too
q "$DB" "SELECT credit_sandbox.create_subscription('loop', true); SELECT credit_sandbox.create_subscription('py', true)" >/dev/null
conc_check "the login may not read the warnings themselves" "ERROR:  42501" \
    "$(PGUSER=$LOGIN q "$DB" "SELECT count(*) FROM credit_sandbox.warnings" -v VERBOSITY=sqlstate 2>&1)"

# forward NAME: append the batch to NAME.jsonl; then, once (NAME.crash exists), kill
# the consumer -- the forwarding command's parent -- before it can acknowledge
forward() {
    printf 'cat >>%s/%s.jsonl; if [ -e %s/%s.crash ]; then rm -f %s/%s.crash; kill -9 "$PPID"; fi' \
        "$CONC_TMP" "$1" "$CONC_TMP" "$1" "$CONC_TMP" "$1"
}
# setsid: a group of its own, so that stop_consumers also ends the loop's listener
start_loop() {
    PGUSER=$LOGIN PGDATABASE=$DB FEED_SUBSCRIPTION=loop FEED_BATCH=4 FEED_TIMEOUT=300 \
        FEED_FORWARD=$(forward loop) setsid bash "$CONC_TMP/feed_loop.sh" >>"$CONC_TMP/loop.err" 2>&1 &
    LOOP_PID=$!
    STARTED+=("$LOOP_PID")
}
start_py() {
    PGUSER=$LOGIN PGDATABASE=$DB setsid "$PY" "$CS_REPO/test/consumers/feed_consumer.py" \
        --subscription py --batch 4 --timeout 300 --retry 1 --forward "$(forward py)" >>"$CONC_TMP/py.err" 2>&1 &
    PY_PID=$!
    STARTED+=("$PY_PID")
}

# sales FROM TO: one transaction, one sale of each unknown operator CN-FROM .. CN-TO:
# a new RL01 warning (so a feed entry) each
sales() {
    q "$DB" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, unit_price)
             SELECT 'CN-' || k, timestamptz '2030-06-01 10:00+08' + k * interval '1 minute', 'addr', 'i', 'cup', 10
               FROM generate_series($1, $2) k" >/dev/null
}
warnings() { q "$DB" "SELECT count(*) FROM credit_sandbox.warnings"; }
received() { grep -o '"position":[0-9]*' "$CONC_TMP/$1.jsonl" 2>/dev/null | sort -u | wc -l; }
unacked() { as_login "SELECT count(*) FROM credit_sandbox.read_feed('$1', 1000)"; }
# wait_until SECONDS COMMAND...: true as soon as COMMAND is, false after SECONDS
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}
all_received() { [ "$(received "$1")" -eq "$(warnings)" ] && [ "$(unacked "$1")" -eq 0 ]; }
dead() { ! kill -0 "$1" 2>/dev/null; }

sales 1 3
sales 4 4
start_loop
start_py
sales 5 9
sales 10 10
for c in loop py; do
    wait_until 20 all_received "$c" || conc_notok "$c: the first 10 entries forwarded and acknowledged ($(received "$c") of $(warnings), $(unacked "$c") unacknowledged)"
done

# the next batch of each is forwarded, then its consumer killed
touch "$CONC_TMP/loop.crash" "$CONC_TMP/py.crash"
sales 11 16
for c in loop py; do
    pid_var=${c^^}_PID
    if wait_until 20 dead "${!pid_var}" && [ ! -e "$CONC_TMP/$c.crash" ]; then
        wait "${!pid_var}" 2>/dev/null && rc=0 || rc=$?
        conc_check "$c: killed by its forwarding command, after forwarding, before acknowledging" 137 "$rc"
    else
        conc_notok "$c: killed by its forwarding command (it is still running, or the command never ran)"
    fi
done
conc_check "nothing acknowledged of the batch forwarded before the kill (loop, py)" "6|6" "$(unacked loop)|$(unacked py)"
sales 17 18
start_loop
start_py
sales 19 21
for c in loop py; do
    wait_until 20 all_received "$c" \
        || conc_notok "$c: after the restart, every entry forwarded and acknowledged ($(received "$c") of $(warnings), $(unacked "$c") unacknowledged)"
done

# their connections cut (a server restart, the network): both connect again, and listen
# (the killed loop's listener may still be there: it ends within a second)
cut=$(q postgres "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
                   WHERE usename = '$LOGIN'")
conc_true "the consumers' connections terminated, the loop's listener's and the script's ($cut)" \
    "$([ "$cut" -ge 2 ] && echo t)"
sales 22 23
for c in loop py; do
    if wait_until 20 all_received "$c"; then
        conc_ok "$c: connected again, it forwards and acknowledges what came meanwhile"
    else
        conc_notok "$c: connected again ($(received "$c") of $(warnings), $(unacked "$c") unacknowledged)"
    fi
done

# asleep (timeout 300 s): a new warning wakes both up, once the loop's new listener
# listens (it has run a command after LISTEN)
listening() { [ "$(q postgres "SELECT count(*) FROM pg_catalog.pg_stat_activity
                                WHERE usename = '$LOGIN' AND query = 'SELECT 1;'")" -ge 1 ]; }
wait_until 10 listening || conc_notok "the loop listens again"
sales 24 24
for c in loop py; do
    if wait_until 10 all_received "$c"; then
        conc_ok "$c: a warning committed while it slept forwarded and acknowledged within 10 s (LISTEN wake-up)"
    else
        conc_notok "$c: a warning committed while it slept forwarded within 10 s ($(received "$c") of $(warnings))"
    fi
done
stop_consumers

# What the receiver keeps: an entry above the highest position it has.
q "$DB" "SELECT format('%s|%s|%s|%s|%s', warning_id, operator_id, code, list, subject_key)
           FROM credit_sandbox.warnings ORDER BY warning_id" >"$CONC_TMP/expected"
for c in loop py; do
    "$PY" - "$CONC_TMP/$c.jsonl" "$CONC_TMP/expected" >"$CONC_TMP/$c.verdict" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
expected = open(sys.argv[2]).read().splitlines()
kept, seen, top, descents, same = [], {}, 0, 0, True
for i, line in enumerate(lines):
    e = json.loads(line)
    p = e["position"]
    if i and p <= json.loads(lines[i - 1])["position"]:
        descents += 1
    if p <= top:
        same = same and seen.get(p) == line
        continue
    top, seen[p] = p, line
    kept.append("%s|%s|%s|%s|%s" % (e["warning_id"], e["operator_id"], e["code"], e["list"], e["subject_key"]))
print("forwarded again: %d" % (len(lines) - len(kept)))
print("restarts from below: %d" % descents)
print("again as before: %s" % same)
print("kept equals the warnings: %s" % (kept == expected))
PY
    conc_check "$c: the killed batch forwarded again after the restart" "forwarded again: 4" \
        "$(sed -n 1p "$CONC_TMP/$c.verdict")"
    conc_check "$c: positions ascend but once, where the restarted consumer went back" "restarts from below: 1" \
        "$(sed -n 2p "$CONC_TMP/$c.verdict")"
    conc_check "$c: what was forwarded again is what was forwarded before" "again as before: True" \
        "$(sed -n 3p "$CONC_TMP/$c.verdict")"
    conc_check "$c: kept by position, every warning once, in commit order, its fields right ($(wc -l <"$CONC_TMP/expected") warnings)" \
        "kept equals the warnings: True" "$(sed -n 4p "$CONC_TMP/$c.verdict")"
done
for c in loop py; do
    if [ -s "$CONC_TMP/$c.err" ]; then
        echo "# $c's standard error:"
        sed 's/^/#   /' "$CONC_TMP/$c.err" | head -n 10
    fi
done

conc_finish
