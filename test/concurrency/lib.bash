# shellcheck shell=bash
# lib.bash -- helpers sourced by the concurrency tests test/concurrency/*.sh
# (not a test itself: check.sh runs only *.sh).
#
# Connection: PGHOST/PGPORT/PGUSER from the environment (check.sh exports them
# for its throwaway cluster).  Each test owns its databases, drops them at exit,
# prints one "ok - ..." / "not ok - ..." line per check and exits non-zero when
# a check failed.
#
# Commit-order oracle: conc_record_order installs, in the test's own database,
# an AFTER INSERT statement trigger "zz_commit_order" on credit_sandbox.transactions,
# returns and complaints.
# Triggers of one event fire in name order, so it runs after the extension's
# check_rows trigger, i.e. while the transaction still holds the advisory lock of
# every operator it inserted for (held to commit).  The identity it draws is
# therefore in commit order among the rows of one operator, which is all the
# red lines depend on.  conc_replay_compare re-inserts the committed rows one
# per statement in that order into a fresh database and compares warnings and
# sandbox memberships: the concurrent result must equal the sequential one.

export PATH=${CS_PGBIN:-/usr/lib/postgresql/15/bin}:$PATH
export PGCLIENTENCODING=UTF8
unset PGOPTIONS PGDATABASE

CONC_FAILS=0
CONC_CHECKS=0
CONC_DBS=()
CONC_PIDS=()
CONC_TMP=
# commands conc_cleanup runs last (a test that runs a cluster of its own stops it there)
CONC_AT_EXIT=()

conc_ok()    { CONC_CHECKS=$((CONC_CHECKS + 1)); echo "ok - $*"; }
conc_notok() { CONC_CHECKS=$((CONC_CHECKS + 1)); CONC_FAILS=$((CONC_FAILS + 1)); echo "not ok - $*"; }

# conc_check DESCRIPTION EXPECTED ACTUAL
conc_check() {
    if [ "$2" = "$3" ]; then conc_ok "$1"; else conc_notok "$1 (expected '$2', got '$3')"; fi
}

# conc_true DESCRIPTION SQL-BOOLEAN-RESULT ["detail shown on failure"]
conc_true() {
    if [ "$2" = t ]; then conc_ok "$1"; else conc_notok "$1${3:+ ($3)}"; fi
}

conc_cleanup() {
    local rc=$? pid db
    set +e
    for pid in "${CONC_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    for db in "${CONC_DBS[@]}"; do
        dropdb --if-exists --force "$db" >/dev/null 2>&1
    done
    [ -n "$CONC_TMP" ] && rm -rf "$CONC_TMP"
    for cmd in "${CONC_AT_EXIT[@]}"; do
        "$cmd"
    done
    exit "$rc"
}

# conc_init NAME: temp dir, cleanup trap, time budget (CONC_TIME_LIMIT seconds,
# default 55: pgbench runs are cut to what is left).
conc_init() {
    CONC_NAME=$1
    CONC_TMP=$(mktemp -d -t "cs_conc_$1.XXXXXX")
    CONC_DEADLINE=$((SECONDS + ${CONC_TIME_LIMIT:-55}))
    trap conc_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM HUP
}

# conc_finish: summary line and exit status.
conc_finish() {
    if [ "$CONC_FAILS" -eq 0 ]; then
        echo "# $CONC_NAME: all $CONC_CHECKS checks passed"
        exit 0
    fi
    echo "# $CONC_NAME: $CONC_FAILS of $CONC_CHECKS checks FAILED"
    exit 1
}

# q DB SQL [psql options]: the result unaligned, tuples only; stops on error.
q() {
    local db=$1 sql=$2
    shift 2
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$@" -d "$db" -c "$sql"
}

# conc_emptydb DB: fresh empty database; dropped at exit.
conc_emptydb() {
    dropdb --if-exists --force "$1" >/dev/null 2>&1 || true
    createdb "$1"
    CONC_DBS+=("$1")
}

# conc_createdb DB: fresh database with the extension (created under
# $PGOPTIONS when given); dropped at exit.
conc_createdb() {
    conc_emptydb "$1"
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'CREATE EXTENSION credit_sandbox' >/dev/null
}

conc_record_order() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.conc_commit_order (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tab        text NOT NULL,
    id         bigint NOT NULL,
    UNIQUE (tab, id)
);
CREATE FUNCTION public.conc_order_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.conc_commit_order (tab, id) SELECT 'transactions', txn_id FROM new_rows ORDER BY txn_id;
    RETURN NULL;
END $$;
CREATE FUNCTION public.conc_order_returns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.conc_commit_order (tab, id) SELECT 'returns', return_id FROM new_rows ORDER BY return_id;
    RETURN NULL;
END $$;
CREATE FUNCTION public.conc_order_complaints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.conc_commit_order (tab, id) SELECT 'complaints', complaint_id FROM new_rows ORDER BY complaint_id;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_commit_order AFTER INSERT ON credit_sandbox.transactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.conc_order_transactions();
CREATE TRIGGER zz_commit_order AFTER INSERT ON credit_sandbox.returns
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.conc_order_returns();
CREATE TRIGGER zz_commit_order AFTER INSERT ON credit_sandbox.complaints
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.conc_order_complaints();
SQL
}

# conc_pgbench LABEL ISOLATION DB pgbench-args...
# Runs pgbench with default_transaction_isolation = ISOLATION (a GUC value such
# as "read committed") plus $CONC_PGOPTIONS, retrying serialization and deadlock
# failures up to 20 tries, bounded by a timeout (25 s, or the time left).  Sets PB_RC, PB_PROCESSED,
# PB_EXPECTED, PB_FAILED, PB_RETRIED, PB_RETRIES, PB_SERIAL, PB_DEADLOCK (failed
# after the last try), PB_DL (deadlocks the server detected in DB, retried or
# not); the log is left in $CONC_TMP/pgbench.LABEL.log.
# Passes when every transaction completed; when CONC_GIVEUP=1 (always under
# SERIALIZABLE) also when some gave up after 20 tries with SQLSTATE 40001 or
# 40P01 -- the client got the error and nothing was stored, so nothing is
# missed silently -- as long as at least half completed.
conc_pgbench() {
    local label=$1 iso=$2 db=$3 log dl_before i left giveup=${CONC_GIVEUP:-0}
    shift 3
    [ "$iso" = serializable ] && giveup=1
    log=$CONC_TMP/pgbench.${label//[^A-Za-z0-9_.-]/_}.log
    PB_RC=0
    left=$((CONC_DEADLINE - SECONDS))
    if [ "$left" -lt 5 ]; then
        conc_notok "pgbench $label: not run, the script's time limit is reached"
        conc_finish
    fi
    [ "$left" -gt 25 ] && left=25
    dl_before=$(conc_deadlocks "$db")
    PGOPTIONS="-c default_transaction_isolation=${iso// /\\ } ${CONC_PGOPTIONS:-}" \
        timeout "$left" pgbench -n --max-tries=20 --failures-detailed "$@" "$db" >"$log" 2>&1 || PB_RC=$?
    # backends flush their statistics when they exit: wait for pgbench's (5 s at most)
    for ((i = 0; i < 50; i++)); do
        [ "$(q "$db" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                       AND application_name = 'pgbench'")" = 0 ] && break
        sleep 0.1
    done
    PB_DL=$(( $(conc_deadlocks "$db") - dl_before ))
    pb_value() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$log"; }
    PB_PROCESSED=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)\/\([0-9]*\).*/\1/p' "$log")
    PB_EXPECTED=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)\/\([0-9]*\).*/\2/p' "$log")
    PB_FAILED=$(pb_value 'number of failed transactions')
    PB_RETRIED=$(pb_value 'number of transactions retried')
    PB_RETRIES=$(pb_value 'total number of retries')
    PB_SERIAL=$(pb_value 'number of serialization failures')
    PB_DEADLOCK=$(pb_value 'number of deadlock failures')
    if [ -z "$PB_PROCESSED" ] || [ -z "$PB_EXPECTED" ] || [ -z "$PB_FAILED" ]; then
        conc_notok "pgbench $label: exit $PB_RC, no summary (timed out?); log:"
        sed 's/^/#   /' "$log" | tail -n 15
        PB_PROCESSED=0 PB_EXPECTED=0 PB_FAILED=0 PB_RETRIED=0 PB_RETRIES=0 PB_SERIAL=0 PB_DEADLOCK=0
        return
    fi
    : "${PB_RETRIED:=0}" "${PB_RETRIES:=0}" "${PB_SERIAL:=0}" "${PB_DEADLOCK:=0}"
    local summary="$PB_PROCESSED/$PB_EXPECTED transactions completed, $PB_RETRIED retried ($PB_RETRIES retries) after a serialization failure or deadlock, $PB_DL deadlocks detected by the server"
    if [ "$PB_RC" -eq 0 ] && [ "$PB_FAILED" = 0 ] && [ "$PB_PROCESSED" = "$PB_EXPECTED" ]; then
        conc_ok "pgbench $label: $summary"
    elif [ "$giveup" = 1 ] && [ "$PB_RC" -eq 0 ] \
         && [ "$PB_FAILED" -eq $((PB_SERIAL + PB_DEADLOCK)) ] \
         && [ $((PB_PROCESSED + PB_FAILED)) -eq "$PB_EXPECTED" ] \
         && [ $((PB_PROCESSED * 2)) -ge "$PB_EXPECTED" ]; then
        conc_ok "pgbench $label: $summary; $PB_FAILED gave up after 20 tries ($PB_SERIAL serialization failures, $PB_DEADLOCK deadlocks), the error reported to the client"
    else
        conc_notok "pgbench $label: exit $PB_RC, $summary; $PB_FAILED failed ($PB_SERIAL serialization, $PB_DEADLOCK deadlock); log:"
        grep -E 'error|ERROR|DETAIL|aborted|^number of' "$log" | sed 's/^/#   /' | head -n 25
    fi
}

# conc_deadlocks DB: deadlocks detected in DB so far (pg_stat_database)
conc_deadlocks() {
    q "$1" "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
}

# Canonical dumps of the outcome for the operators matching LIKE pattern:
# warnings, sandbox memberships and, when the installed version logs hits
# (credit_sandbox.warning_hits), every logged hit.
conc_dump_outcome() {
    local db=$1 pattern=$2
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -v pat="$pattern" <<'SQL'
SELECT 'W', w.operator_id, w.code, w.list, w.subject_key, w.source_table, w.source_id,
       w.occurred_at, w.rule_version, w.evidence::text, w.hits, w.last_hit_at, w.status, w.due_at
  FROM credit_sandbox.warnings w
 WHERE w.operator_id LIKE :'pat'
 ORDER BY w.operator_id, w.code, w.subject_key, w.source_id;
SELECT 'M', m.operator_id, m.exited_at IS NULL, m.exit_reason, m.exit_code, m.exit_hit_at,
       w.code, w.list, w.subject_key, w.source_id
  FROM credit_sandbox.sandbox_memberships m
  LEFT JOIN credit_sandbox.warnings w ON w.warning_id = m.exit_warning_id
 WHERE m.operator_id LIKE :'pat'
 ORDER BY m.operator_id, m.admitted_at, m.membership_id;
SELECT to_regclass('credit_sandbox.warning_hits') IS NOT NULL AS has_hit_log \gset
\if :has_hit_log
SELECT 'H', w.operator_id, w.code, w.subject_key, w.source_id, h.source_table, h.source_id, h.hit_at
  FROM credit_sandbox.warning_hits h JOIN credit_sandbox.warnings w USING (warning_id)
 WHERE w.operator_id LIKE :'pat'
 ORDER BY 2, 3, 4, 5, 6, 7, 8;
\endif
SQL
}

# conc_events_sql PATTERN: the committed rows of the operators matching
# PATTERN as INSERT statements, one per row, in commit order.
conc_events_sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -v pat="$2" <<'SQL'
SELECT CASE o.tab
       WHEN 'transactions' THEN
           format('INSERT INTO credit_sandbox.transactions (txn_id, operator_id, occurred_at, buyer_id, ship_to,'
                  ' item_id, item_title, category, quantity, unit_price, list_price)'
                  ' VALUES (%s, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L);',
                  t.txn_id, t.operator_id, t.occurred_at, t.buyer_id, t.ship_to, t.item_id, t.item_title,
                  t.category, t.quantity, t.unit_price, t.list_price)
       WHEN 'returns' THEN
           format('INSERT INTO credit_sandbox.returns (return_id, txn_id, operator_id, category, delivered_at,'
                  ' requested_at, outcome) VALUES (%s, %L, %L, %L, %L, %L, %L);',
                  r.return_id, r.txn_id, r.operator_id, r.category, r.delivered_at, r.requested_at, r.outcome)
       ELSE
           format('INSERT INTO credit_sandbox.complaints (complaint_id, operator_id, received_at, channel, category)'
                  ' VALUES (%s, %L, %L, %L, %L);',
                  c.complaint_id, c.operator_id, c.received_at, c.channel, c.category)
       END
  FROM public.conc_commit_order o
  LEFT JOIN credit_sandbox.transactions t ON o.tab = 'transactions' AND t.txn_id = o.id
  LEFT JOIN credit_sandbox.returns r ON o.tab = 'returns' AND r.return_id = o.id
  LEFT JOIN credit_sandbox.complaints c ON o.tab = 'complaints' AND c.complaint_id = o.id
 WHERE coalesce(t.operator_id, r.operator_id, c.operator_id) LIKE :'pat'
 ORDER BY o.seq;
SQL
}

# conc_replay_compare SRC_DB REPLAY_DB LABEL PATTERN
# REPLAY_DB must already hold the same set-up (operators, admissions, rules)
# as SRC_DB had before the concurrent run.  Replays the committed rows of the
# operators matching PATTERN, one INSERT per row in commit order, and compares.
conc_replay_compare() {
    local src=$1 rdb=$2 label=$3 pattern=$4 n_rows f
    f=$CONC_TMP/${label//[^A-Za-z0-9_.-]/_}
    n_rows=$(q "$src" "SELECT (SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id LIKE '$pattern')
                            + (SELECT count(*) FROM credit_sandbox.returns WHERE operator_id LIKE '$pattern')
                            + (SELECT count(*) FROM credit_sandbox.complaints WHERE operator_id LIKE '$pattern')")
    conc_events_sql "$src" "$pattern" >"$f.replay.sql"
    if [ "$(wc -l <"$f.replay.sql")" -ne "$n_rows" ]; then
        conc_notok "commit order recorded for every row ($label): $(wc -l <"$f.replay.sql") of $n_rows"
        return
    fi
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$rdb" -f "$f.replay.sql" >"$f.replay.log" 2>&1; then
        conc_notok "sequential replay in commit order failed ($label):"
        sed 's/^/#   /' "$f.replay.log" | head -n 10
        return
    fi
    conc_dump_outcome "$src" "$pattern" >"$f.outcome.concurrent"
    conc_dump_outcome "$rdb" "$pattern" >"$f.outcome.sequential"
    if diff -u "$f.outcome.sequential" "$f.outcome.concurrent" >"$f.outcome.diff"; then
        conc_ok "same warnings, hits and sandbox exits as the $n_rows rows inserted one by one in commit order ($label)"
    else
        conc_notok "concurrent result differs from sequential replay in commit order ($label); diff (-sequential +concurrent):"
        sed 's/^/#   /' "$f.outcome.diff" | head -n 40
    fi
}

# conc_hit_log DB PATTERN LABEL: when the installed version logs every hit
# (credit_sandbox.warning_hits), each warning has exactly `hits` logged hits.
conc_hit_log() {
    local has bad
    has=$(q "$1" "SELECT to_regclass('credit_sandbox.warning_hits') IS NOT NULL")
    [ "$has" = t ] || return 0
    bad=$(q "$1" "SELECT count(*) FROM credit_sandbox.warnings w
                   WHERE w.operator_id LIKE '$2'
                     AND w.hits <> (SELECT count(*) FROM credit_sandbox.warning_hits h WHERE h.warning_id = w.warning_id)")
    conc_check "every hit logged once in warning_hits ($3)" 0 "$bad"
}

# conc_no_duplicate_open DB LABEL
conc_no_duplicate_open() {
    local dups
    dups=$(q "$1" "SELECT count(*) FROM (SELECT FROM credit_sandbox.warnings WHERE status = 'open'
                    GROUP BY operator_id, code, subject_key HAVING count(*) > 1) d")
    conc_check "no duplicate open warnings ($2)" 0 "$dups"
}

# ------------------------------------------------------------ README blocks
CONC_README=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md

# conc_readme_block LANG PATTERN: the text of the first ```LANG block of README.md that
# matches the awk regular expression PATTERN; for the tests that run the README's
# examples test/readme.sh leaves out (a daemon, a second cluster), as printed there.
conc_readme_block() {
    awk -v lang="$1" -v pat="$2" '
        /^```/ && !inside { inside = 1; mine = substr($0, 4) == lang; text = ""; next }
        /^```/ && inside { inside = 0; if (mine && text ~ pat) { printf "%s", text; exit } next }
        inside { text = text $0 "\n" }' "$CONC_README"
}

# ------------------------------------------------------------ psql sessions
# conc_session NAME DB: a background psql (application_name cs_conc_NAME) that
# reads commands from a fifo; its output (stdout and stderr, line-buffered so
# notifications show as they are printed) goes to $CONC_TMP/NAME.out.
conc_session() {
    local name=$1 db=$2 fifo=$CONC_TMP/$1.in fd
    mkfifo "$fifo"
    PGAPPNAME="cs_conc_$name" stdbuf -oL -eL psql -X -q -A -t -d "$db" <"$fifo" >"$CONC_TMP/$name.out" 2>&1 &
    CONC_PIDS+=($!)
    eval "CONC_PID_$name=$!"
    exec {fd}>"$fifo"
    eval "CONC_FD_$name=$fd"
}

# conc_send NAME TEXT: one or more commands for the session
conc_send() {
    local fdvar=CONC_FD_$1
    printf '%s\n' "$2" >&"${!fdvar}"
}

# conc_end_session NAME: \q, close the fifo, wait (at most 10 s) for psql to exit
conc_end_session() {
    local fdvar=CONC_FD_$1 pidvar=CONC_PID_$1 i
    printf '\\q\n' >&"${!fdvar}" || true
    eval "exec ${!fdvar}>&-"
    for ((i = 0; i < 100; i++)); do
        kill -0 "${!pidvar}" 2>/dev/null || break
        sleep 0.1
    done
    kill "${!pidvar}" 2>/dev/null || true
    wait "${!pidvar}" 2>/dev/null || true
}

# conc_wait_backend NAME STATE-LIKE QUERY-LIKE: wait (at most 15 s) until the
# backend of session NAME is in that state after that query; false on timeout.
conc_wait_backend() {
    local i n
    for ((i = 0; i < 150; i++)); do
        n=$(psql -X -q -A -t -d postgres -v app="cs_conc_$1" -v st="$2" -v qu="$3" <<'SQL'
SELECT count(*) FROM pg_stat_activity
 WHERE application_name = :'app' AND state LIKE :'st' AND query LIKE :'qu';
SQL
)
        [ "$n" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------ the feed
# conc_feed_consumer_sql SUBSCRIPTION MAX_ENTRIES STOP [TABLE]: a DO block for psql, a
# consumer of the feed that reads up to MAX_ENTRIES entries, records them in TABLE
# (default public.feed_delivered, made by the test: seq identity, position, warning_id,
# batch) and acknowledges them, in one transaction, over and over; it ends at a read
# that finds nothing when the SQL condition STOP holds (false: never).
conc_feed_consumer_sql() {
    local t=${4:-public.feed_delivered}
    cat <<SQL
DO \$\$
DECLARE
    b int := 0;
    last bigint;
BEGIN
    LOOP
        b := b + 1;
        INSERT INTO $t (position, warning_id, batch)
        SELECT f.position, f.warning_id, b FROM credit_sandbox.read_feed('$1', $2) f ORDER BY f.position;
        SELECT max(d.position) INTO last FROM $t d WHERE d.batch = b;
        IF last IS NOT NULL THEN
            PERFORM credit_sandbox.ack_feed('$1', last);
        ELSIF $3 THEN
            EXIT;
        ELSE
            PERFORM pg_sleep(0.01);
        END IF;
        COMMIT;
    END LOOP;
END \$\$;
SQL
}
