# shellcheck shell=bash
# lib.bash -- sourced by the Citus tests test/citus/*.sh (not a test itself): a
# coordinator and two workers on loopback, CREATE EXTENSION credit_sandbox and
# distribute() on the coordinator, and a database "one" on the coordinator without
# Citus, where the same statements give one node's results.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
#   citus_start NAME          (exits 0, saying so, when Citus is not installed)
#   c SQL [psql options]      through the coordinator, database postgres
#   one SQL [psql options]    one node
#   citus_load DB PHASE       test/bench/load.sql into DB (the members admitted, unless
#                             CITUS_ADMIT=off)
#   citus_generate DB N T R C test/bench/generate.sql's marketplace of N operators, T sales,
#                             R returns and C complaints into DB's schema bench_data
#   citus_marketplace         test/bench/generate.sql's marketplace (200 operators, 20,000
#                             sales) loaded through the coordinator and into "one"
#   $CITUS_OUTCOME_SQL        the warnings and hits, as counts and an md5 of what does not
#                             depend on the node (ids, wall-clock times)
#   citus_add_worker PORT     one more worker (shard moves use logical replication:
#                             wal_level = logical on every node)
#   conc_* checks as in test/concurrency/lib.bash
#
# Citus is installed from its own packages (README, "Scaling out with Citus").
# Environment: CS_CITUS_PORT, the coordinator's port (default CS_PGPORT or PGPORT + 20,
# or 54349; the workers take the next ports); CITUS_WORKERS, how many workers
# citus_start adds (2); CS_SERVER_CONF, more lines for every node's postgresql.conf;
# CS_PGBIN as for test/cluster.sh.
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"

COORDINATOR=${CS_CITUS_PORT:-$(( ${CS_PGPORT:-${PGPORT:-54329}} + 20 ))}
WORKERS=()
ADDED_WORKERS=()

citus_stop_nodes() {
    local port
    for port in "$COORDINATOR" "${WORKERS[@]}" "${ADDED_WORKERS[@]}"; do
        runuser -u postgres -- "$CS_PGBIN/pg_ctl" -D "$NODES_DIR/$port" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf "$NODES_DIR"
}

citus_start_node() {  # port
    runuser -u postgres -- "$CS_PGBIN/initdb" -D "$NODES_DIR/$1" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$NODES_DIR/$1.initdb.log" 2>&1
    cat >>"$NODES_DIR/$1/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$NODES_DIR'
port = $1
max_connections = 100
max_prepared_transactions = 100
shared_buffers = 128MB
fsync = off
shared_preload_libraries = 'citus, credit_sandbox'
wal_level = logical
${CS_SERVER_CONF:-}
EOF
    runuser -u postgres -- "$CS_PGBIN/pg_ctl" -D "$NODES_DIR/$1" -l "$NODES_DIR/$1.log" -w start >/dev/null \
        || { tail -n 20 "$NODES_DIR/$1.log" >&2; exit 1; }
    q postgres 'CREATE EXTENSION citus' -p "$1"
}

c() { q postgres "$1" -p "$COORDINATOR" "${@:2}"; }
one() { q one "$1" -p "$COORDINATOR" "${@:2}"; }

citus_load() {  # db phase
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$1" -v target=credit_sandbox \
        -v admit="${CITUS_ADMIT:-on}" -v phase="$2" -f "$CS_REPO/test/bench/load.sql" >/dev/null
}

citus_generate() {  # db operators transactions returns complaints
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORDINATOR" -d "$1" -v operators="$2" -v txns="$3" \
        -v returns="$4" -v complaints="$5" -v seed=0.42 -f "$CS_REPO/test/bench/generate.sql" >/dev/null
}

citus_marketplace() {
    local db
    for db in postgres one; do
        citus_generate "$db" 200 20000 2000 1000
        citus_load "$db" master
        citus_load "$db" events
    done
}

CITUS_OUTCOME_SQL="SELECT 'warnings', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
  FROM (SELECT concat_ws('|', operator_id, code, list, subject_key, source_table, source_id, occurred_at,
                         rule_version, evidence::text, hits, last_hit_at, status, due_at) x
          FROM credit_sandbox.warnings) s
UNION ALL
SELECT 'hits', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), ''))
  FROM (SELECT concat_ws('|', h.operator_id, w.code, w.subject_key, h.source_table, h.source_id, h.hit_at) x
          FROM credit_sandbox.warning_hits h
          JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id AND w.operator_id = h.operator_id) s"

citus_add_worker() {  # port
    ADDED_WORKERS+=("$1")
    citus_start_node "$1"
    c "SELECT citus_add_node('127.0.0.1', $1)" >/dev/null
}

citus_start() {  # test name
    if [ ! -f "$("$CS_PG_CONFIG" --sharedir)/extension/citus.control" ]; then
        echo "# $1: SKIPPED: Citus is not installed for PostgreSQL $("$CS_PG_CONFIG" --version | awk '{print $2}')" \
             "(README, \"Scaling out with Citus\")"
        exit 0
    fi
    conc_init "$1"
    local w
    for ((w = 1; w <= ${CITUS_WORKERS:-2}; w++)); do WORKERS+=("$((COORDINATOR + w))"); done
    NODES_DIR=$(mktemp -d -t cs_citus.XXXXXX)
    chown postgres: "$NODES_DIR"
    export PGHOST=$NODES_DIR PGUSER=postgres
    CONC_AT_EXIT+=(citus_stop_nodes)
    echo "== a coordinator ($COORDINATOR) and ${#WORKERS[@]} worker(s) (${WORKERS[*]}) in $NODES_DIR"
    local port
    for port in "$COORDINATOR" "${WORKERS[@]}"; do citus_start_node "$port"; done
    c "SELECT citus_set_coordinator_host('127.0.0.1', $COORDINATOR)" >/dev/null
    for port in "${WORKERS[@]}"; do c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null; done
    c 'CREATE EXTENSION credit_sandbox'
    c 'SET client_min_messages = warning; SELECT credit_sandbox.distribute()' >/dev/null
    PGOPTIONS='-c client_min_messages=warning' q postgres 'CREATE DATABASE one' -p "$COORDINATOR"
    one 'CREATE EXTENSION credit_sandbox'
}
