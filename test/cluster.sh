# shellcheck shell=bash
# cluster.sh -- sourceable helpers for the test and demo scripts: install the build
# and test dependencies, build and install the extension, run a throwaway
# PostgreSQL cluster (15 unless told otherwise). Safe under `set -euo pipefail`.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
#   cs_require_root "$@"; cs_install_deps; cs_build_install; cs_start_cluster
#   cs_psql -c 'SELECT 1'
#
# Environment: CS_PGPORT (default 54329), CS_KEEP_CLUSTER=1 to leave the cluster
# running and its directory in place at exit (the connection settings are printed),
# CS_PG_MAJOR (default 15), the PostgreSQL major whose Debian packages are installed
# and used (test/majors.sh runs 17 and 18 in Debian roots of their own),
# CS_PGBIN (default /usr/lib/postgresql/$CS_PG_MAJOR/bin) to build against and run
# another copy of that major, e.g. a relocated one so that two checkouts can be
# tested side by side without installing over each other; CS_SERVER_CONF, more
# lines for postgresql.conf (test/majors.sh: dynamic_shared_memory_type = mmap
# in a root without /dev/shm); CS_PRELOAD, more libraries for
# shared_preload_libraries (the test suite adds pg_stat_statements); CS_FSYNC=on for
# a cluster whose durability is under test (default off); CS_POSTGRES, an executable
# that pg_ctl starts instead of $CS_PGBIN/postgres (test/valgrind.sh's wrapper), and
# CS_PG_CTL_TIMEOUT, the seconds pg_ctl waits for the server to start or stop (60).
#
# The server runs as postgres; every client (psql, pg_regress, pg_prove) runs as the
# calling user (root) and connects as PGUSER=postgres over the Unix socket in the
# temp dir, so postgres never needs to read the repository.
# cs_start_cluster sets an EXIT trap: a caller that needs its own EXIT trap must
# call cs_stop_cluster from it.

export CS_PG_MAJOR=${CS_PG_MAJOR:-15}
export CS_PGBIN=${CS_PGBIN:-/usr/lib/postgresql/$CS_PG_MAJOR/bin}
CS_PG_CONFIG=$CS_PGBIN/pg_config
CS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# that major's binaries first, so that pg_prove's and make's psql is never another version
export PATH=$CS_PGBIN:$PATH

cs_die() { echo "error: $*" >&2; exit 1; }

# Root is needed for apt-get, make install and to run the server as postgres.
# Not root: re-run the calling script through sudo (keeping CS_* settings), or fail.
cs_require_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    command -v sudo >/dev/null || cs_die "must run as root (sudo is not available)"
    exec sudo -E bash "$0" "$@"
}

cs_install_deps() {
    local v=$CS_PG_MAJOR
    # pg_cron: the README's scheduled jobs, run by test/readme.sh; psycopg2: the
    # README's Python feed consumer, run by test/ops/consumer.sh
    local pkgs=("postgresql-$v" "postgresql-server-dev-$v" "postgresql-$v-pgtap" "postgresql-$v-cron"
                libtap-parser-sourcehandler-pgtap-perl python3-psycopg2 make gcc)
    local p missing=()
    for p in "${pkgs[@]}"; do
        [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *" installed" ]] || missing+=("$p")
    done
    # all there: touch neither the network nor the apt index
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

cs_build_install() {
    echo "== build and install"
    make -s -C "$CS_REPO" clean all install PG_CONFIG="$CS_PG_CONFIG"
}

# Run a PostgreSQL binary as postgres, from a directory postgres can enter.
cs_as_pg() {
    (cd "$CS_DIR" && runuser -u postgres -- "$CS_PGBIN/$1" "${@:2}")
}

cs_start_cluster() {
    CS_DIR=$(mktemp -d -t cs_cluster.XXXXXX)
    chown postgres: "$CS_DIR"
    trap cs_stop_cluster EXIT
    # make ^C / kill run the EXIT trap too, so no server is left behind
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    echo "== starting a throwaway cluster in $CS_DIR (port ${CS_PGPORT:-54329})"
    cs_as_pg initdb -D "$CS_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$CS_DIR/initdb.log" 2>&1 || { cat "$CS_DIR/initdb.log" >&2; return 1; }
    # fsync off unless asked for: the cluster is thrown away, durability is
    # irrelevant and costs time.
    # The library preloaded, as the README advises: its settings are then checked
    # when written, even before a session touches the extension.
    cat >>"$CS_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$CS_DIR'
port = ${CS_PGPORT:-54329}
max_connections = 50
max_prepared_transactions = 10
shared_buffers = 256MB
fsync = ${CS_FSYNC:-off}
shared_preload_libraries = 'credit_sandbox${CS_PRELOAD:+, $CS_PRELOAD}'
${CS_SERVER_CONF:-}
EOF
    cs_as_pg pg_ctl -D "$CS_DIR/data" -l "$CS_DIR/server.log" ${CS_POSTGRES:+-p "$CS_POSTGRES"} \
        -w -t "${CS_PG_CTL_TIMEOUT:-60}" start >/dev/null \
        || { tail -n 30 "$CS_DIR/server.log" >&2; return 1; }
    export PGHOST=$CS_DIR PGPORT=${CS_PGPORT:-54329} PGUSER=postgres PGDATABASE=postgres
}

cs_stop_cluster() {
    [ -n "${CS_DIR:-}" ] || return 0
    if [ "${CS_KEEP_CLUSTER:-0}" = 1 ]; then
        echo "== cluster kept running: PGHOST=$CS_DIR PGPORT=$PGPORT PGUSER=postgres"
        echo "   stop it with: runuser -u postgres -- $CS_PGBIN/pg_ctl -D $CS_DIR/data -m fast stop && rm -rf $CS_DIR"
        return 0
    fi
    cs_as_pg pg_ctl -D "$CS_DIR/data" -m fast -w -t "${CS_PG_CTL_TIMEOUT:-60}" stop >/dev/null 2>&1 || true
    rm -rf "$CS_DIR"
    CS_DIR=
}

cs_psql() {
    "$CS_PGBIN/psql" -X -v ON_ERROR_STOP=1 "$@"
}
