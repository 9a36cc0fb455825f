#!/usr/bin/env bash
# run.sh -- the credit_sandbox benchmark (issue 4). Not part of the test suite.
#
#   bash test/bench/run.sh [--operators N] [--txns N] [--runs K] [--quick]
#                          [--shared [DIR]] [--no-reference] [--no-build] [--no-pgbench]
#                          [--pgbench-time S] [--clients C] [--seed S]
#                          [--growth [N]] [--memory [N]] [--hot-keys [N]] [--batch N]
#                          [--set name=value ...] [--mem-limit MB] [--timeout MIN]
# As root, or through sudo (it re-runs itself with sudo when not root).
#
# Default mode: one synthetic marketplace (generate.sql in this folder: N operators,
# N transactions, returns 2.5 % and complaints 1.5 % of them, every red line
# firing) is generated once into a template database, with two targets: `plain`
# (the extension's event tables copied with LIKE ... INCLUDING ALL: same columns,
# constraints and indexes, no triggers) and `credit_sandbox` (the extension, all red
# lines and TP01 enabled, sandbox members admitted with admit()). With --shared
# (or CS_BENCH_SHARED=DIR), the shared benchmark's gen.sql and load.sql make and
# load the data instead, and its reference.sql, the hand-written PL/pgSQL
# reference, is a third target `ref_sandbox` (unless --no-reference). Each run
# clones the template and measures, for every target:
#   COPY            transactions, returns, complaints (arrival order, one COPY each,
#                   ids copied), rows/s; peak private memory (RssAnon, sampled) and
#                   VmHWM of the loading backend
#   INSERT..SELECT  load.sql phase=events: arrival batches of 2,000,
#                   three statements a batch, one transaction each
#   pgbench         single-row INSERT transactions (-c 4 -j 2 -T 30) on the loaded
#                   database, synchronous_commit on and off: TPS, p50, p99 latency
# and prints one table of medians over the runs, with ratios ext/plain (and ext/ref).
#
#   --quick         2,000 operators, 100,000 transactions, 1 run, pgbench 10 s
#   --shared [DIR]  the shared benchmark's generator, loader and reference, from DIR
#                   (default CS_BENCH_SHARED; one of the two must name it); it is
#                   needed only when asked for
#   --growth [N]    instead: N transactions (default 10,000,000) in batches of
#                   --batch rows (100,000) into plain and credit_sandbox alternately:
#                   per-batch rows/s and ratio, first-vs-last change of the ratio
#   --memory [N]    instead: one COPY of N transactions (default 10,000,000), and one
#                   of N/10, into plain and credit_sandbox: backend memory of each
#   --hot-keys [N]  instead: one COPY of N transactions (default 1,000,000) of one
#                   operator, three ways: all to one address (RL04's window holds
#                   every earlier row), each to its own address, each opening a new
#                   warning (RL06 on its own item); seconds, rows/s and backend
#                   memory, plain and credit_sandbox. Needs no generator.
#   --growth, --memory and --hot-keys can be combined; any one skips the default benchmark.
#   --set n=v       an extra server setting (ALTER SYSTEM), e.g. --set work_mem=64MB
#   --mem-limit MB  cancel a measured COPY whose backend holds more private memory
#                   than this (default 8192), rather than exhaust the machine
#   --timeout MIN   statement_timeout of every measured statement (default 60)
#
# The server is a throwaway cluster (test/cluster.sh, port CS_PGPORT, default 54400)
# reconfigured for honest numbers: fsync on, synchronous_commit on, shared_buffers
# 1GB, max_wal_size 4GB, checkpoint_timeout 30min. Details go to a log directory
# (CS_BENCH_LOG, default /var/tmp/credit_sandbox-bench.<time>); stdout gets progress
# lines and the final table. See test/bench/README.md.
set -Eeuo pipefail
# shellcheck disable=SC2317  # (trap handlers are reached indirectly)
# (one compound command: bash reads it whole, so editing this file cannot disturb a run)
{
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CS_PGPORT=${CS_PGPORT:-54400}
# shellcheck source=test/cluster.sh
source "$BENCH_DIR/../cluster.sh"
cs_require_root "$@"

CMDLINE="bash test/bench/run.sh${*:+ $*}"
# the shared benchmark's folder, used only when asked for (--shared, CS_BENCH_SHARED)
SHARED=${CS_BENCH_SHARED:-} USE_SHARED=0
[ -n "$SHARED" ] && USE_SHARED=1

OPS=20000 TXNS=1000000 RUNS=3 SEED=0.42 BATCH=100000 LOAD_BATCH=2000
PGB_T=30 PGB_C=4 PGB_J=2
BUILD=1 REF=1 PGB=1
SETTINGS=()
GROWTH=0 GROWTH_N=10000000 MEMORY=0 MEMORY_N=10000000 MEM_LIMIT_MB=8192 TIMEOUT_MIN=60
HOTKEYS=0 HOTKEYS_N=1000000
is_num() { [[ "${1:-}" =~ ^[0-9]+$ ]]; }
# --quick first, so that explicit values win wherever they stand
for a in "$@"; do if [ "$a" = --quick ]; then OPS=2000 TXNS=100000 RUNS=1 PGB_T=10; fi; done
while [ $# -gt 0 ]; do
    case "$1" in
        --operators)    is_num "${2:-}" || cs_die "--operators needs a number"; OPS=$2; shift ;;
        --txns)         is_num "${2:-}" || cs_die "--txns needs a number"; TXNS=$2; shift ;;
        --runs)         is_num "${2:-}" || cs_die "--runs needs a number"; RUNS=$2; shift ;;
        --seed)         SEED=${2:?--seed needs a value}; shift ;;
        --pgbench-time) is_num "${2:-}" || cs_die "--pgbench-time needs seconds"; PGB_T=$2; shift ;;
        --clients)      is_num "${2:-}" || cs_die "--clients needs a number"; PGB_C=$2; shift ;;
        --timeout)      is_num "${2:-}" || cs_die "--timeout needs minutes"; TIMEOUT_MIN=$2; shift ;;
        --mem-limit)    is_num "${2:-}" || cs_die "--mem-limit needs MB"; MEM_LIMIT_MB=$2; shift ;;
        --batch)        is_num "${2:-}" || cs_die "--batch needs a number"; BATCH=$2; shift ;;
        --quick)        ;;
        --set)          [[ "${2:-}" =~ ^[a-z_.]+=.+$ ]] || cs_die "--set needs name=value"; SETTINGS+=("$2"); shift ;;
        --shared)       USE_SHARED=1
                        if [ -n "${2:-}" ] && [ "${2#--}" = "$2" ]; then SHARED=$2; shift; fi ;;
        --no-reference) REF=0 ;;
        --no-build)     BUILD=0 ;;
        --no-pgbench)   PGB=0 ;;
        --growth)       GROWTH=1; if is_num "${2:-}"; then GROWTH_N=$2; shift; fi ;;
        --memory)       MEMORY=1; if is_num "${2:-}"; then MEMORY_N=$2; shift; fi ;;
        --hot-keys)     HOTKEYS=1; if is_num "${2:-}"; then HOTKEYS_N=$2; shift; fi ;;
        -h|--help)      sed -n '2,/^set -E/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *)              cs_die "unknown option $1 (see --help)" ;;
    esac
    shift
done
if [ "$RUNS" -lt 1 ] || [ "$OPS" -lt 1 ] || [ "$TXNS" -lt 1000 ] || [ "$BATCH" -lt 1 ]; then
    cs_die "need --runs >= 1, --operators >= 1, --txns >= 1000, --batch >= 1"
fi
[ "$PGB_C" -ge 2 ] && PGB_J=2 || PGB_J=1
RETURNS=$(( TXNS * 25 / 1000 )) COMPLAINTS=$(( TXNS * 15 / 1000 ))
MAIN=1; { [ "$GROWTH" = 1 ] || [ "$MEMORY" = 1 ] || [ "$HOTKEYS" = 1 ]; } && MAIN=0

# the generator and loader: the project's own, or the shared benchmark's
GEN_SQL=$BENCH_DIR/generate.sql LOAD_SQL=$BENCH_DIR/load.sql
if [ "$USE_SHARED" = 1 ]; then
    [ -n "${SHARED:-}" ] || cs_die "--shared needs the shared benchmark's folder: --shared DIR or CS_BENCH_SHARED=DIR"
    for f in gen.sql load.sql; do
        [ -f "$SHARED/$f" ] || cs_die "$SHARED/$f not found: --shared needs the shared benchmark's generator and loader there (--shared DIR or CS_BENCH_SHARED=DIR)"
    done
    SHARED=$(cd "$SHARED" && pwd)
    GEN_SQL=$SHARED/gen.sql LOAD_SQL=$SHARED/load.sql
    if [ "$REF" = 1 ] && [ ! -f "$SHARED/reference.sql" ]; then
        echo "-- $SHARED/reference.sql not found: the reference is left out"; REF=0
    fi
else
    REF=0   # the reference comes with the shared benchmark only
    if [ "$OPS" -lt 50 ] || [ "$TXNS" -lt 2000 ]; then
        cs_die "generate.sql needs --operators >= 50 and --txns >= 2000"
    fi
fi

LOGDIR=${CS_BENCH_LOG:-/var/tmp/credit_sandbox-bench.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOGDIR"
LOG=$LOGDIR/bench.log RES=$LOGDIR/results.tsv
: >"$LOG"; : >"$RES"
SAMPLER=

say() { echo "$*"; echo "$*" >>"$LOG"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# psql on a database, everything to the log (errors stop the script: see on_err)
q() { local db=$1; shift; cs_psql -q -d "$db" "$@" >>"$LOG" 2>&1; }
val() { cs_psql -qAt -d "$1" -c "$2" 2>>"$LOG"; }
info() { val "$@" || echo "?"; }   # a diagnostic that must not stop the run
on_err() {
    echo "error: line $1 failed; last lines of $LOG:" >&2
    tail -n 15 "$LOG" >&2
}
cleanup() {
    local rc=$?
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [ -n "${CS_DIR:-}" ] && [ -f "$CS_DIR/server.log" ]; then cp "$CS_DIR/server.log" "$LOGDIR/server.log" || true; fi
    cs_stop_cluster
    [ "$rc" -ne 0 ] && echo "(details: $LOGDIR)" >&2
    return 0
}
trap 'on_err $LINENO' ERR

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "== credit_sandbox benchmark: $CMDLINE"
say "   log: $LOGDIR   commit: $(git -C "$CS_REPO" describe --always --dirty 2>/dev/null || echo unknown)$([ "$BUILD" = 0 ] && echo ' (--no-build: the installed build may be older)')   $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

# ------------------------------------------------------------------ build, cluster
if [ "$BUILD" = 1 ]; then
    cs_install_deps >>"$LOG" 2>&1
    say "== make install"
    { echo "-- working tree built:"; git -C "$CS_REPO" status --short 2>/dev/null || true; } >>"$LOG"
    make -s -C "$CS_REPO" install PG_CONFIG="$CS_PG_CONFIG" >>"$LOG" 2>&1
fi
cs_start_cluster >>"$LOG"
trap cleanup EXIT
W=$CS_DIR/work
mkdir -p "$W" && chown postgres: "$W"
# cluster.sh starts with fsync off: a benchmark wants the real thing
q postgres <<'EOF'
ALTER SYSTEM SET fsync = on;
ALTER SYSTEM SET synchronous_commit = on;
ALTER SYSTEM SET full_page_writes = on;
ALTER SYSTEM SET shared_buffers = '1GB';
ALTER SYSTEM SET max_wal_size = '4GB';
ALTER SYSTEM SET checkpoint_timeout = '30min';
ALTER SYSTEM SET maintenance_work_mem = '512MB';
ALTER SYSTEM SET log_checkpoints = on;
ALTER SYSTEM SET log_autovacuum_min_duration = '1s';
EOF
# Both checked targets hold one advisory lock per operator of a statement until commit:
# a COPY of the whole data set needs a lock table larger than the default
# (64 x ~70 slots); room for every operator, twice over.
q postgres -c "ALTER SYSTEM SET max_locks_per_transaction = $(( OPS * 2 / 50 > 64 ? OPS * 2 / 50 + 64 : 64 ))"
for kv in "${SETTINGS[@]}"; do
    q postgres -c "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'"
done
cs_as_pg pg_ctl -D "$CS_DIR/data" -l "$CS_DIR/server.log" -w restart >>"$LOG" 2>&1
shown="'fsync', 'synchronous_commit', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'work_mem', 'autovacuum', 'jit', 'max_locks_per_transaction'"
for kv in "${SETTINGS[@]}"; do shown+=", '${kv%%=*}'"; done
val postgres "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
               WHERE name IN ($shown)" | sed 's/^/   server: /' | tee -a "$LOG"

EXT_COLS_T="txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price"
EXT_COLS_R="return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome"
EXT_COLS_C="complaint_id, operator_id, received_at, channel, category"
GROWTH_COLS="operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price"

# A template database: the generated marketplace, the targets, their master data.
make_template() {   # db operators txns returns complaints with_reference
    local db=$1 t0 tg
    q postgres -c "CREATE DATABASE $db"
    t0=$(now)
    PGOPTIONS="-c work_mem=256MB -c synchronous_commit=off" \
        q "$db" -v operators="$2" -v txns="$3" -v returns="$4" -v complaints="$5" \
              -v seed="$SEED" -f "$GEN_SQL"
    say "   ${GEN_SQL##*/}: $(secs "$t0" "$(now)") s"
    q "$db" <<'EOF'
CREATE EXTENSION credit_sandbox;
UPDATE credit_sandbox.rules SET enabled = true WHERE NOT enabled;
CREATE SCHEMA plain;
CREATE TABLE plain.operators      (LIKE credit_sandbox.operators      INCLUDING ALL);
CREATE TABLE plain.operator_lists (LIKE credit_sandbox.operator_lists INCLUDING ALL);
CREATE TABLE plain.transactions   (LIKE credit_sandbox.transactions   INCLUDING ALL);
CREATE TABLE plain.returns        (LIKE credit_sandbox.returns        INCLUDING ALL);
CREATE TABLE plain.complaints     (LIKE credit_sandbox.complaints     INCLUDING ALL);
EOF
    if [ "$6" = 1 ]; then
        q "$db" -f "$SHARED/reference.sql"
        q "$db" -c "UPDATE ref_sandbox.rules SET enabled = true WHERE NOT enabled"
    fi
    for tg in plain credit_sandbox $([ "$6" = 1 ] && echo ref_sandbox); do
        q "$db" -v target="$tg" -v phase=master -f "$LOAD_SQL"
    done
    q "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    say "   triggers on credit_sandbox.transactions: $(info "$db" "SELECT string_agg(tgname, ', ') FROM pg_trigger
          WHERE tgrelid = 'credit_sandbox.transactions'::regclass AND NOT tgisinternal") (driver $(info "$db" "SELECT credit_sandbox.driver()"));" \
        "rules enabled: $(info "$db" "SELECT string_agg(code, ' ' ORDER BY code) FROM credit_sandbox.rules WHERE enabled");" \
        "sandbox members: $(info "$db" "SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL")"
}

clone() { q postgres -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2 TEMPLATE $1 STRATEGY FILE_COPY"; }
drop() { q postgres -c "DROP DATABASE IF EXISTS $1"; }

# Peak private memory of a backend: RssAnon sampled every 0.1 s (VmHWM also counts
# the shared buffers the backend touched, up to shared_buffers). Above --mem-limit
# the statement is cancelled (and "$3.cancelled" written), so that a backend whose
# memory grows with the row count cannot exhaust the machine.
start_sampler() {   # pidfile stopfile outfile
    rm -f "$3.cancelled"
    (
        pid="" peak=0 limit=$((MEM_LIMIT_MB * 1024))
        while [ ! -e "$2" ]; do
            if [ -z "$pid" ] && [ -s "$1" ]; then pid=$(tr -dc 0-9 <"$1"); fi
            if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
                while read -r k v _; do
                    if [ "$k" = RssAnon: ]; then [ "$v" -gt "$peak" ] && peak=$v; break; fi
                done <"/proc/$pid/status" 2>/dev/null || true
                if [ "$peak" -gt "$limit" ] && [ ! -e "$3.cancelled" ]; then
                    touch "$3.cancelled"
                    cs_psql -qAt -d postgres -c "SELECT pg_cancel_backend($pid)" >/dev/null 2>&1 || true
                fi
            fi
            sleep 0.1
        done
        echo "$peak" >"$3"
    ) &
    SAMPLER=$!
}
stop_sampler() { touch "$1"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=; }

# One psql session COPYs files into a target's tables, timing each on the server
# clock; prints "seconds per file ... vmhwm_kb"; the sampler watches its backend.
# usage: timed_copy db target "table|cols|file" ...   -> sets COPY_OUT, RSSANON_KB
timed_copy() {
    local db=$1 tg=$2 spec tab cols file i=0 sql
    shift 2
    rm -f "$W/pid" "$W/stop" "$W/peak"
    sql="\\set ON_ERROR_STOP on
SELECT pg_backend_pid() \\g '$W/pid'
SELECT clock_timestamp() AS c0 \\gset
"
    for spec in "$@"; do
        IFS='|' read -r tab cols file <<<"$spec"
        i=$((i + 1))
        sql+="COPY $tg.$tab ($cols) FROM '$file' (FORMAT csv);
SELECT clock_timestamp() AS c$i \\gset
"
    done
    sql+="SELECT concat_ws(' '"
    for ((k = 1; k <= i; k++)); do
        sql+=", round(extract(epoch FROM :'c$k'::timestamptz - :'c$((k - 1))'::timestamptz), 3)"
    done
    sql+=", (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s*(\\d+)'))[1]);"
    start_sampler "$W/pid" "$W/stop" "$W/peak"
    FAILED=""
    COPY_OUT=$(PGOPTIONS="-c statement_timeout=${TIMEOUT_MIN}min" cs_psql -qAt -d "$db" <<<"$sql" 2>"$W/stderr") ||
        FAILED=$(first_error "$W/stderr")
    cat "$W/stderr" >>"$LOG"
    stop_sampler "$W/stop"
    RSSANON_KB=$(cat "$W/peak")
    if [ -e "$W/peak.cancelled" ]; then
        FAILED="cancelled: backend private memory (RssAnon) above --mem-limit $MEM_LIMIT_MB MB ($((RSSANON_KB / 1024)) MB seen)"
    fi
    echo "copy $tg: ${FAILED:-$COPY_OUT} rssanon_kb=$RSSANON_KB" >>"$LOG"
}
first_error() { grep -m1 -E '(ERROR|FATAL|PANIC|error):' "$1" | sed 's/^.*\(ERROR\|FATAL\|PANIC\|error\): *//' || echo "failed"; }

# move the identity sequences past copied ids (pgbench inserts afterwards)
fix_ids() {   # db target
    q "$1" -c "SELECT setval(pg_get_serial_sequence('$2.transactions', 'txn_id'), greatest(1, (SELECT max(txn_id) FROM $2.transactions))),
                      setval(pg_get_serial_sequence('$2.returns', 'return_id'), greatest(1, (SELECT max(return_id) FROM $2.returns))),
                      setval(pg_get_serial_sequence('$2.complaints', 'complaint_id'), greatest(1, (SELECT max(complaint_id) FROM $2.complaints)))"
}
# after a timed load, so that autovacuum does not run during the next target's
settle() { q "$1" -c "VACUUM ANALYZE $2.transactions, $2.returns, $2.complaints" -c "CHECKPOINT"; }

rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }   # run metric target value
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'; }

# single-row INSERT script (one transaction row per xact, random operator)
cat >"$W/one_txn.sql" <<'EOF'
\set op random(1, :nops)
\set it random(1, 12)
\set sec random(0, 7775999)
\set buyer random(1, 1000000)
\set cents random(100, 100000)
\set disc random(1, 100)
INSERT INTO :schema.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price) VALUES ('OP' || lpad(:op::text, 6, '0'), timestamptz '2025-01-01 00:00+08' + :sec * interval '1 second', 'PB' || :buyer, substr(md5('pgb:' || :buyer), 1, 16), 'OP' || lpad(:op::text, 6, '0') || '-' || :it, '测试商品 ' || :it, 'books', 1, :cents / 100.0, CASE WHEN :disc <= 5 THEN :cents / 80.0 END);
EOF

pgbench_one() {   # run db target mode(on|off)
    local run=$1 db=$2 tg=$3 mode=$4 out tps lat prefix=$W/pgb_$3_$4
    q "$db" -c "VACUUM ANALYZE $tg.transactions" -c "CHECKPOINT"
    rm -f "$prefix".*
    out=$(cd "$W" && PGOPTIONS="-c synchronous_commit=$mode" "$CS_PGBIN/pgbench" -n -c "$PGB_C" -j "$PGB_J" \
              -T "$PGB_T" -l --log-prefix="$prefix" -D schema="$tg" -D nops="$OPS" -f "$W/one_txn.sql" "$db" 2>&1) \
        || { echo "$out" >>"$LOG"
             for m in tps p50 p99; do rec "$run" "${m}_$mode" "$tg" FAIL; done
             say "   pgbench synchronous_commit=$mode $tg FAILED: $(grep -m1 -iE 'error|fatal' <<<"$out" || echo '?')"
             return 0; }
    echo "$out" >>"$LOG"
    tps=$(awk '/^tps = /{ printf "%.1f", $3; exit }' <<<"$out")
    # per-transaction log: client xact_no latency_us script epoch epoch_us
    lat=$(cat "$prefix".* | awk '{ print $3 }' | sort -n | awk '{ a[NR] = $1 }
          END { if (NR == 0) { print "0 0"; exit }
                i50 = int(0.50 * NR + 0.5); if (i50 < 1) i50 = 1
                i99 = int(0.99 * NR + 0.5); if (i99 < 1) i99 = 1
                printf "%.3f %.3f", a[i50] / 1000, a[i99] / 1000 }')
    rm -f "$prefix".*
    rec "$run" "tps_$mode" "$tg" "$tps"
    rec "$run" "p50_$mode" "$tg" "${lat% *}"
    rec "$run" "p99_$mode" "$tg" "${lat#* }"
    say "   pgbench synchronous_commit=$mode $tg: $tps tps, p50 ${lat% *} ms, p99 ${lat#* } ms"
}

# ------------------------------------------------------------------ default benchmark
main_bench() {
    local targets=(plain credit_sandbox) n_t n_r n_c n_all run k tg order db s sum t_t t_r t_c hwm a b m mode
    [ "$REF" = 1 ] && targets+=(ref_sandbox)
    say "== generator: $GEN_SQL; scale: $OPS operators, $TXNS transactions, $RETURNS returns, $COMPLAINTS complaints;" \
        "$RUNS run(s); pgbench -c $PGB_C -j $PGB_J -T $PGB_T; targets: ${targets[*]}"
    say "== generating the marketplace (template database bench_template)"
    make_template bench_template "$OPS" "$TXNS" "$RETURNS" "$COMPLAINTS" "$REF"
    q bench_template <<EOF
COPY (SELECT $EXT_COLS_T FROM bench_data.transactions ORDER BY arrival) TO '$W/transactions.csv' (FORMAT csv);
COPY (SELECT $EXT_COLS_R FROM bench_data.returns ORDER BY arrival) TO '$W/returns.csv' (FORMAT csv);
COPY (SELECT $EXT_COLS_C FROM bench_data.complaints ORDER BY arrival) TO '$W/complaints.csv' (FORMAT csv);
EOF
    n_t=$(val bench_template "SELECT count(*) FROM bench_data.transactions")
    n_r=$(val bench_template "SELECT count(*) FROM bench_data.returns")
    n_c=$(val bench_template "SELECT count(*) FROM bench_data.complaints")
    n_all=$((n_t + n_r + n_c))
    say "   $n_t transactions, $n_r returns, $n_c complaints ($n_all event rows)"

    for ((run = 1; run <= RUNS; run++)); do
        # rotate the target order from run to run
        order=()
        for ((k = 0; k < ${#targets[@]}; k++)); do
            order+=("${targets[$(((k + run - 1) % ${#targets[@]}))]}")
        done
        say "== run $run/$RUNS (order: ${order[*]})"
        db=bench_copy_$run
        clone bench_template "$db"
        for tg in "${order[@]}"; do
            q "$db" -c "CHECKPOINT"
            timed_copy "$db" "$tg" "transactions|$EXT_COLS_T|$W/transactions.csv" \
                "returns|$EXT_COLS_R|$W/returns.csv" "complaints|$EXT_COLS_C|$W/complaints.csv"
            if [ -n "$FAILED" ]; then
                for m in copy_txn copy_ret copy_cmp copy_all copy_secs mem_anon mem_hwm; do rec "$run" "$m" "$tg" FAIL; done
                say "   COPY $tg FAILED: $FAILED"
                q "$db" -c "CHECKPOINT"
                continue
            fi
            read -r t_t t_r t_c hwm <<<"$COPY_OUT"
            sum=$(awk -v a="$t_t" -v b="$t_r" -v c="$t_c" 'BEGIN { printf "%.3f", a + b + c }')
            rec "$run" copy_txn "$tg" "$(rate "$n_t" "$t_t")"
            rec "$run" copy_ret "$tg" "$(rate "$n_r" "$t_r")"
            rec "$run" copy_cmp "$tg" "$(rate "$n_c" "$t_c")"
            rec "$run" copy_all "$tg" "$(rate "$n_all" "$sum")"
            rec "$run" copy_secs "$tg" "$sum"
            rec "$run" mem_anon "$tg" "$(awk -v k="$RSSANON_KB" 'BEGIN { printf "%.1f", k / 1024 }')"
            rec "$run" mem_hwm "$tg" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
            say "   COPY $tg: $sum s ($t_t + $t_r + $t_c), $(rate "$n_all" "$sum") rows/s," \
                "backend RssAnon peak $((RSSANON_KB / 1024)) MB, VmHWM $((hwm / 1024)) MB"
            fix_ids "$db" "$tg"
            settle "$db" "$tg"
        done
        drop "$db"

        db=bench_insert_$run
        clone bench_template "$db"
        for tg in "${order[@]}"; do
            q "$db" -c "CHECKPOINT"
            a=$(now)
            if ! PGOPTIONS="-c statement_timeout=${TIMEOUT_MIN}min" \
                 cs_psql -q -d "$db" -v target="$tg" -v phase=events -v batch="$LOAD_BATCH" \
                     -f "$LOAD_SQL" >>"$LOG" 2>"$W/stderr"; then
                cat "$W/stderr" >>"$LOG"
                rec "$run" insert_select "$tg" FAIL; rec "$run" insert_secs "$tg" FAIL
                say "   INSERT ... SELECT $tg FAILED: $(first_error "$W/stderr")"
                fix_ids "$db" "$tg"
                continue
            fi
            b=$(now)
            s=$(secs "$a" "$b")
            rec "$run" insert_select "$tg" "$(rate "$n_all" "$s")"
            rec "$run" insert_secs "$tg" "$s"
            say "   INSERT ... SELECT $tg: $s s, $(rate "$n_all" "$s") rows/s"
            settle "$db" "$tg"
        done
        for tg in "${order[@]}"; do
            [ "$tg" = plain ] && continue
            echo "-- warnings after INSERT ... SELECT, run $run, $tg" >>"$LOG"
            cs_psql -d "$db" -P pager=off -c "SELECT code, list, count(*) AS warnings, sum(hits) AS hits
                                               FROM $tg.warnings GROUP BY 1, 2 ORDER BY 1, 2" >>"$LOG" 2>&1
        done
        if [ "$PGB" = 1 ]; then
            for mode in on off; do
                for tg in "${order[@]}"; do pgbench_one "$run" "$db" "$tg" "$mode"; done
            done
        fi
        drop "$db"
    done
    report "${targets[@]}"
}

# median of the runs' values of a metric for a target ("" if none)
med() {
    if awk -F'\t' -v m="$1" -v t="$2" '$2 == m && $3 == t && $4 == "FAIL" { f = 1 } END { exit !f }' "$RES"; then
        echo FAIL; return
    fi
    awk -F'\t' -v m="$1" -v t="$2" '$2 == m && $3 == t { print $4 }' "$RES" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2];
                                  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "" || y == "" || x == "FAIL" || y == "FAIL" || y + 0 == 0) print "-"; else printf "%.3f", x / y }'; }
goal() {   # ratio "op limit"
    awk -v r="$1" -v l="${2#* }" -v op="${2%% *}" 'BEGIN { if (r == "-") { print ""; exit }
        ok = (op == ">=") ? (r + 0 >= l + 0) : (r + 0 <= l + 0)
        printf "%s%s %s", op, l, ok ? "ok" : "MISS" }'
}

# "label r1/r2/..." : the ratio credit_sandbox / plain of a metric in each run
per_run() {
    awk -F'\t' -v m="$1" -v l="$2" '$2 == m { v[$1 "," $3] = $4; if ($1 > n) n = $1 }
        END { printf "%s ", l
              for (r = 1; r <= n; r++) {
                  e = v[r ",credit_sandbox"]; p = v[r ",plain"]
                  printf "%s%s", (r > 1 ? "/" : ""), (e == "" || p == "" || e == "FAIL" || p == "FAIL" || p + 0 == 0) ? "-" : sprintf("%.2f", e / p) } }' "$RES"
}

# a median for the table: integers from 1000 up, then 1 or 3 decimals (MB: 1)
fmt() {   # value metric
    awk -v v="$1" -v m="$2" 'BEGIN { if (v == "") print "-"; else if (v == "FAIL") print v
        else if (v + 0 >= 1000) printf "%.0f", v; else if (v + 0 >= 10 || m ~ /^mem/) printf "%.1f", v
        else printf "%.3f", v }'
}

report() {
    local has_ref=0 line m label p e r rp rr g1 g2
    [[ " $* " == *" ref_sandbox "* ]] && has_ref=1
    {
    echo
    echo "== credit_sandbox benchmark: medians of $RUNS run(s)"
    echo "   command: $CMDLINE"
    echo "   data: ${GEN_SQL##*/}$([ "$USE_SHARED" = 1 ] && echo " (shared)"), $OPS operators; $TXNS transactions, $RETURNS returns, $COMPLAINTS complaints;" \
         "pgbench -c $PGB_C -j $PGB_J -T $PGB_T; fsync on; $(nproc) cores"
    echo "   commit: $(git -C "$CS_REPO" describe --always --dirty 2>/dev/null || echo unknown); log: $LOGDIR"
    echo "   load average (1/5/15 min) at start: $LOAD0, now: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-34s %12s %15s %12s %10s %9s  %s\n' metric plain credit_sandbox ref_sandbox ext/plain ext/ref "goal (ext/plain; ext/ref)"
    for line in \
        "copy_txn|COPY transactions, rows/s|" \
        "copy_ret|COPY returns, rows/s|" \
        "copy_cmp|COPY complaints, rows/s|" \
        "copy_all|COPY all three, rows/s|>= 0.5|>= 4" \
        "insert_select|INSERT..SELECT (2000/batch), rows/s|>= 0.5|>= 4" \
        "tps_on|1-row INSERT sync on, TPS|>= 0.9|" \
        "p50_on|  p50 latency, ms|" \
        "p99_on|  p99 latency, ms|" \
        "tps_off|1-row INSERT sync off, TPS|>= 0.7|" \
        "p50_off|  p50 latency, ms|" \
        "p99_off|  p99 latency, ms|" \
        "mem_anon|COPY backend RssAnon peak, MB|" \
        "mem_hwm|COPY backend VmHWM, MB|"; do
        IFS='|' read -r m label g1 g2 <<<"$line"
        p=$(med "$m" plain); e=$(med "$m" credit_sandbox); r=$(med "$m" ref_sandbox)
        [ -z "$p$e$r" ] && continue
        rp=$(ratio "$e" "$p"); rr=$(ratio "$e" "$r")
        local gs=""
        [ -n "$g1" ] && gs=$(goal "$rp" "$g1")
        [ -n "$g2" ] && [ "$has_ref" = 1 ] && gs="$gs; $(goal "$rr" "$g2")"
        printf '%-34s %12s %15s %12s %10s %9s  %s\n' "$label" "$(fmt "$p" "$m")" "$(fmt "$e" "$m")" "$(fmt "$r" "$m")" "$rp" "$rr" "$gs"
    done
    echo "   rows/s and TPS: higher is better; latency and memory ratios: lower is better."
    if [ "$RUNS" -gt 1 ]; then
        echo "   ext/plain in each run: $(per_run copy_all COPY), $(per_run insert_select INSERT..SELECT)," \
             "$(per_run tps_on 'TPS on'), $(per_run tps_off 'TPS off')"
    fi
    } | tee -a "$LOG"
}

# ------------------------------------------------------------------ growth and memory
aux_template() {
    say "== master data: $OPS operators (template database aux_template)"
    make_template aux_template "$OPS" 10000 250 150 0
}

# check cost per row over table lines $1..$2 (rows of both targets summed): us/row
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0) print "-"; else printf "%+.1f %%", 100 * (b - a) / a }'; }
mean_cost() {
    awk -v a="$1" -v b="$2" 'NR >= a && NR <= b && NR > 1 { p += $3; e += $4; k++ }
        END { printf "%.2f", 1e6 * (k / e - k / p) }' "$W/growth_table"
}

growth_bench() {
    local n=$GROWTH_N nb a lo hi k tg r1 rl r5 rl5
    nb=$(( (n + BATCH - 1) / BATCH ))
    say "== growth: $n transactions in $nb batches of $BATCH rows (INSERT ... SELECT ... ORDER BY i)," \
        "plain and credit_sandbox alternately"
    clone aux_template growth_db
    a=$(now)
    PGOPTIONS="-c work_mem=512MB -c synchronous_commit=off" \
        q growth_db -v rows="$n" -v seed="$SEED" -f "$BENCH_DIR/growth.sql"
    say "   growth.sql: $(secs "$a" "$(now)") s"
    q growth_db -c "CHECKPOINT"
    {
        printf '%s\n' '\timing on'
        for ((k = 0; k < nb; k++)); do
            lo=$((k * BATCH)); hi=$(( (k + 1) * BATCH < n ? (k + 1) * BATCH : n ))
            for tg in plain credit_sandbox; do
                echo "INSERT INTO $tg.transactions ($GROWTH_COLS) SELECT $GROWTH_COLS FROM growth.src WHERE i > $lo AND i <= $hi ORDER BY i;"
            done
        done
    } >"$W/growth_load.sql"
    # One session; psql prints "Time: x ms" after each statement (plain, ext, plain,
    # ext...): each pair becomes a row of the table as soon as it is done; stdout shows
    # the first, every tenth and the last batch as they come.
    local failed=""
    printf '%6s %12s %12s %14s %8s %14s\n' batch rows_total plain_rows/s ext_rows/s ratio check_us/row | tee "$W/growth_table"
    PGOPTIONS="-c statement_timeout=${TIMEOUT_MIN}min" \
        stdbuf -oL "$CS_PGBIN/psql" -X -v ON_ERROR_STOP=1 -d growth_db -f "$W/growth_load.sql" 2>"$W/stderr" |
        awk -v bs="$BATCH" -v n="$n" -v nb="$nb" -v tab="$W/growth_table" '
            /^Time: / {
                t[++c] = $2
                if (c % 2 == 0) {
                    k = c / 2; rows = (k * bs < n) ? k * bs : n; size = rows - (k - 1) * bs
                    p = size / (t[c - 1] / 1000); e = size / (t[c] / 1000)
                    line = sprintf("%6d %12d %12.0f %14.0f %8.3f %14.2f", k, rows, p, e, e / p, 1e6 * (1 / e - 1 / p))
                    print line >>tab; fflush(tab)
                    if (k == 1 || k % 10 == 0 || k == nb) { print line; fflush() }
                }
            }' || failed=$(first_error "$W/stderr")
    cat "$W/stderr" >>"$LOG"
    cat "$W/growth_table" >>"$LOG"
    if [ -n "$failed" ]; then
        nb=$(( $(wc -l <"$W/growth_table") - 1 ))
        say "   growth FAILED after $nb complete batch pairs: $failed"
        [ "$nb" -ge 1 ] || { drop growth_db; return 0; }
    fi
    r1=$(awk 'NR == 2 { print $5 }' "$W/growth_table")
    rl=$(awk 'END { print $5 }' "$W/growth_table")
    # the same over the first and the last 5 batches (less noise than one batch)
    r5=$(awk 'NR >= 2 && NR <= 6 { p += $3; e += $4 } END { printf "%.3f", e / p }' "$W/growth_table")
    rl5=$(awk -v nb="$nb" 'NR > 1 && NR > nb - 4 { p += $3; e += $4 } END { printf "%.3f", e / p }' "$W/growth_table")
    {
    echo
    echo "== growth: $n rows, batches of $BATCH; command: $CMDLINE"
    echo "   ratio ext/plain: first batch $r1, last batch $rl ($(pct "$r1" "$rl"); goal: within 20 %);" \
         "first 5 batches $r5, last 5 $rl5 ($(pct "$r5" "$rl5"))"
    local c1 cl c5 cl5
    c1=$(awk 'NR == 2 { print $6 }' "$W/growth_table"); cl=$(awk 'END { print $6 }' "$W/growth_table")
    c5=$(mean_cost 2 6); cl5=$(mean_cost $((nb - 3)) $((nb + 1)))
    echo "   check cost per row (1/ext - 1/plain): first batch $c1 us, last $cl us ($(pct "$c1" "$cl"));" \
         "first 5 batches $c5 us, last 5 $cl5 us ($(pct "$c5" "$cl5"))"
    echo "   per-batch rows/s, first -> last: plain $(awk 'NR == 2 { print $3 }' "$W/growth_table") -> $(awk 'END { print $3 }' "$W/growth_table")," \
         "credit_sandbox $(awk 'NR == 2 { print $4 }' "$W/growth_table") -> $(awk 'END { print $4 }' "$W/growth_table")"
    echo "   credit_sandbox warnings (rows, hits) by code: $(info growth_db "SELECT string_agg(format('%s %s/%s', code, n, h), ', ' ORDER BY code)
          FROM (SELECT code, count(*) AS n, sum(hits) AS h FROM credit_sandbox.warnings GROUP BY code) w")"
    } | tee -a "$LOG"
    drop growth_db
}

memory_bench() {
    local n=$MEMORY_N small=$((MEMORY_N / 10)) rows tg t hwm a
    say "== memory: one COPY of $small and of $n transactions into plain and credit_sandbox"
    clone aux_template memory_gen
    a=$(now)
    PGOPTIONS="-c work_mem=512MB -c synchronous_commit=off" \
        q memory_gen -v rows="$n" -v seed="$SEED" -f "$BENCH_DIR/growth.sql"
    q memory_gen -c "COPY (SELECT $GROWTH_COLS FROM growth.src ORDER BY i) TO '$W/mem_$n.csv' (FORMAT csv)" \
                 -c "COPY (SELECT $GROWTH_COLS FROM growth.src WHERE i <= $small ORDER BY i) TO '$W/mem_$small.csv' (FORMAT csv)"
    drop memory_gen
    say "   generated: $(secs "$a" "$(now)") s"
    local out=""
    for rows in "$small" "$n"; do
        for tg in plain credit_sandbox; do
            clone aux_template memory_db
            q memory_db -c "CHECKPOINT"
            timed_copy memory_db "$tg" "transactions|$GROWTH_COLS|$W/mem_$rows.csv"
            if [ -n "$FAILED" ]; then
                out+=$(printf '%12s %-15s FAILED: %s' "$rows" "$tg" "$FAILED")$'\n'
                rec 1 "mem_anon_$rows" "$tg" FAIL
                say "   COPY $rows rows into $tg FAILED: $FAILED"
                drop memory_db
                continue
            fi
            read -r t hwm <<<"$COPY_OUT"
            out+=$(printf '%12s %-15s %9s %10s %16s %11s' "$rows" "$tg" "$t" "$(rate "$rows" "$t")" \
                       "$(awk -v k="$RSSANON_KB" 'BEGIN { printf "%.1f", k / 1024 }')" \
                       "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')")$'\n'
            rec 1 "mem_anon_$rows" "$tg" "$RSSANON_KB"
            say "   COPY $rows rows into $tg: $t s, RssAnon peak $((RSSANON_KB / 1024)) MB, VmHWM $((hwm / 1024)) MB"
            drop memory_db
        done
    done
    rm -f "$W"/mem_*.csv
    local ea eb
    ea=$(med "mem_anon_$small" credit_sandbox); eb=$(med "mem_anon_$n" credit_sandbox)
    {
    echo
    echo "== memory: one COPY of N transactions; command: $CMDLINE"
    printf '%12s %-15s %9s %10s %16s %11s\n' rows target seconds rows/s "RssAnon peak MB" "VmHWM MB"
    printf '%s' "$out"
    echo "   credit_sandbox backend private memory (RssAnon peak) at $n rows / at $small rows:" \
         "$(ratio "$eb" "$ea") (1.0 = does not grow with the row count)"
    echo "   VmHWM includes the shared buffers the backend touched (shared_buffers = 1GB)."
    } | tee -a "$LOG"
}

hotkey_bench() {
    local n=$HOTKEYS_N shape tg t hwm expr out=""
    say "== hot keys: one COPY of $n transactions of one operator, three ways, into plain and credit_sandbox"
    q postgres -c "DROP DATABASE IF EXISTS hot_db" -c "CREATE DATABASE hot_db"
    q hot_db -c "CREATE EXTENSION credit_sandbox" -c "CREATE SCHEMA plain" \
             -c "CREATE TABLE plain.transactions (LIKE credit_sandbox.transactions INCLUDING ALL)"
    for shape in one_address own_addresses new_warning_each; do
        # 50 ms apart: a million rows span 14 hours, all inside RL04's 24 hours
        case $shape in
            one_address)      expr="'addr', 'item', 'cup'" ;;
            own_addresses)    expr="'addr' || k, 'item', 'cup'" ;;
            new_warning_each) expr="NULL, 'item' || k, '最佳 cup'" ;;
        esac
        q hot_db -c "COPY (SELECT 'HOT', timestamptz '2030-06-01 00:00+08' + k * interval '50 ms', $expr, 10
                            FROM generate_series(1, $n) k) TO '$W/hot.csv' (FORMAT csv)"
        for tg in plain credit_sandbox; do
            q hot_db -c "TRUNCATE plain.transactions, credit_sandbox.transactions, credit_sandbox.warnings,
                                  credit_sandbox.warning_hits, credit_sandbox.operators" \
                     -c "INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
                         VALUES ('HOT', '2020-01-01', '2031-12-31', '{}')" -c "CHECKPOINT"
            timed_copy hot_db "$tg" "transactions|operator_id, occurred_at, ship_to, item_id, item_title, unit_price|$W/hot.csv"
            if [ -n "$FAILED" ]; then
                out+=$(printf '%-18s %-15s FAILED: %s' "$shape" "$tg" "$FAILED")$'\n'
                continue
            fi
            read -r t hwm <<<"$COPY_OUT"
            out+=$(printf '%-18s %-15s %9s %10s %16s %12s' "$shape" "$tg" "$t" "$(rate "$n" "$t")" \
                       "$(awk -v k="$RSSANON_KB" 'BEGIN { printf "%.1f", k / 1024 }')" \
                       "$([ "$tg" = plain ] && echo - || info hot_db "SELECT count(*) || '/' || coalesce(sum(hits), 0) FROM credit_sandbox.warnings")")$'\n'
            say "   $shape into $tg: $t s"
        done
    done
    rm -f "$W/hot.csv"
    drop hot_db
    {
    echo
    echo "== hot keys: one COPY of $n transactions of one operator; command: $CMDLINE"
    printf '%-18s %-15s %9s %10s %16s %12s\n' shape target seconds rows/s "RssAnon peak MB" "warnings/hits"
    printf '%s' "$out"
    } | tee -a "$LOG"
}

[ "$MAIN" = 1 ] && main_bench
if [ "$GROWTH" = 1 ] || [ "$MEMORY" = 1 ]; then
    aux_template
    [ "$GROWTH" = 1 ] && growth_bench
    [ "$MEMORY" = 1 ] && memory_bench
fi
[ "$HOTKEYS" = 1 ] && hotkey_bench
say "== done; details in $LOGDIR"
exit 0
}
