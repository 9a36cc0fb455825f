#!/usr/bin/env bash
# upgrade_major.sh -- pg_upgrade across a PostgreSQL major with credit_sandbox
# installed in both (README, "Upgrades"): builds and installs the extension for the
# old major (CS_OLD_MAJOR, default 15) and the new one (CS_PG_MAJOR), fills a cluster
# of the old major with operators, events and warnings, upgrades it with the new
# major's pg_upgrade, and checks that the new cluster keeps every row and warning and
# goes on checking rows: a hit counted on a warning from before, new warnings raised,
# terms matched. test/majors.sh runs it in the Debian 13 root (15 -> 17), where
# Debian 12's postgresql-15 is installed beside 17. Ends with "N passed, M failed".
#
# Environment: CS_OLD_MAJOR, CS_PG_MAJOR, CS_PGPORT (the new cluster's port; the old
# one takes the next), CS_SERVER_CONF (more lines for both postgresql.conf).
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
cs_require_root "$@"
old=${CS_OLD_MAJOR:-15} new=$CS_PG_MAJOR
oldbin=/usr/lib/postgresql/$old/bin newbin=$CS_PGBIN
port=${CS_PGPORT:-54329}
passed=0 failed=0

W=$(mktemp -d -t cs_upgrade.XXXXXX)
chown postgres: "$W"
cleanup() {
    local d
    for d in old new; do
        if [ -f "$W/$d/postmaster.pid" ]; then
            as_pg "$([ $d = old ] && echo "$oldbin" || echo "$newbin")/pg_ctl" -D "$W/$d" -m fast -w stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

as_pg() { (cd "$W" && runuser -u postgres -- "$@"); }
check() {  # description, expected, got
    if [ "$2" = "$3" ]; then
        echo "ok - $1"; passed=$((passed + 1))
    else
        echo "not ok - $1 (expected '$2', got '$3')"; failed=$((failed + 1))
    fi
}
make_cluster() {  # bindir, datadir, port
    as_pg "$1/initdb" -D "$2" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$2.initdb.log" 2>&1 \
        || { cat "$2.initdb.log" >&2; return 1; }
    cat >>"$2/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$W'
port = $3
shared_preload_libraries = 'credit_sandbox'
${CS_SERVER_CONF:-}
EOF
}
sql() {  # bindir, port, sql: one value
    "$1/psql" -X -qAt -v ON_ERROR_STOP=1 -h "$W" -p "$2" -U postgres -d cs_upgrade -c "$3"
}
warnings="SELECT string_agg(format('%s %s %s %s %s', operator_id, code, subject_key, list, hits), ', '
                            ORDER BY warning_id) FROM credit_sandbox.warnings"

echo "== build and install for PostgreSQL $old and $new"
for bin in "$oldbin" "$newbin"; do
    make -s -C "$CS_REPO" clean all install PG_CONFIG="$bin/pg_config"
done
make -s -C "$CS_REPO" clean PG_CONFIG="$newbin/pg_config"

echo "== a PostgreSQL $old cluster with rows and warnings"
make_cluster "$oldbin" "$W/old" $((port + 1))
as_pg "$oldbin/pg_ctl" -D "$W/old" -l "$W/old.log" -w start >/dev/null
"$oldbin/createdb" -h "$W" -p $((port + 1)) -U postgres cs_upgrade
sql "$oldbin" $((port + 1)) "
CREATE EXTENSION credit_sandbox;
INSERT INTO credit_sandbox.operators (operator_id, name, registered_on, licence_valid_until)
VALUES ('UPG-A', 'a', '2020-01-01', '2040-01-01');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('UPG-U', '2030-01-01 10:00+08', 'i1', 'plain item', 10),     -- unknown operator: RL01
       ('UPG-U', '2030-01-01 11:00+08', 'i2', 'plain item', 10),     -- its second hit
       ('UPG-A', '2030-01-01 12:00+08', 'i3', 'Replica Gun', 10);    -- prohibited term: RL03"
before=$(sql "$oldbin" $((port + 1)) "$warnings")
rows_before=$(sql "$oldbin" $((port + 1)) "SELECT count(*) FROM credit_sandbox.transactions")
version_before=$(sql "$oldbin" $((port + 1)) "SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'")
as_pg "$oldbin/pg_ctl" -D "$W/old" -m fast -w stop >/dev/null

echo "== pg_upgrade to PostgreSQL $new"
make_cluster "$newbin" "$W/new" "$port"
upgrade_rc=0
as_pg "$newbin/pg_upgrade" -b "$oldbin" -B "$newbin" -d "$W/old" -D "$W/new" \
    -p $((port + 1)) -P "$port" -s "$W" -U postgres >"$W/pg_upgrade.log" 2>&1 || upgrade_rc=$?
[ "$upgrade_rc" -eq 0 ] || tail -n 30 "$W/pg_upgrade.log"
check "pg_upgrade $old -> $new with credit_sandbox installed in both" 0 "$upgrade_rc"
[ "$upgrade_rc" -eq 0 ] || { echo "$passed passed, $failed failed"; exit 1; }

as_pg "$newbin/pg_ctl" -D "$W/new" -l "$W/new.log" -w start >/dev/null
check "the extension keeps its version" "$version_before" \
    "$(sql "$newbin" "$port" "SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'")"
check "every transaction kept" "$rows_before" "$(sql "$newbin" "$port" "SELECT count(*) FROM credit_sandbox.transactions")"
check "every warning kept, hits included" "$before" "$(sql "$newbin" "$port" "$warnings")"
sql "$newbin" "$port" "
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('UPG-U', '2030-01-02 10:00+08', 'i4', 'plain item', 10),
       ('UPG-A', '2030-01-02 11:00+08', 'i5', 'REPLICA GUN, best in the world', 10)" >/dev/null
check "new rows are checked: a hit on the warning from before, new RL03 and RL06 warnings" \
    "UPG-U RL01 UPG-U risk_trigger 3, UPG-A RL03 i3 risk_trigger 1, UPG-A RL03 i5 risk_trigger 1, UPG-A RL06 i5 risk_trigger 1" \
    "$(sql "$newbin" "$port" "$warnings")"
check "ALTER EXTENSION credit_sandbox UPDATE runs (nothing to do: same version)" ok \
    "$(sql "$newbin" "$port" "ALTER EXTENSION credit_sandbox UPDATE" >/dev/null 2>&1 && echo ok || echo failed)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
