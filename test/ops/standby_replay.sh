#!/usr/bin/env bash
# standby_replay.sh -- replay() and check_consistency() only read: they run on
# a hot standby (no transaction id is assigned during recovery) and give the
# primary's answer there.
#
# The test cluster (PGHOST/PGPORT) is the primary; a standby is made of it
# with pg_basebackup -R on port PGPORT + 2, in a directory of its own, and
# stopped and removed at exit.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
cs_require_root "$@"
conc_init standby_replay

DB=cs_ops_standby
STANDBY_PORT=$((PGPORT + 2))
STANDBY_DIR=$(mktemp -d -t cs_standby.XXXXXX)
chown postgres: "$STANDBY_DIR"
stop_standby() {
    runuser -u postgres -- "$CS_PGBIN/pg_ctl" -D "$STANDBY_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$STANDBY_DIR"
}
CONC_AT_EXIT+=(stop_standby)

conc_createdb "$DB"
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
         VALUES ('SB-1', '2020-01-01', '2031-12-31', '{}');
         INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, unit_price)
         SELECT CASE WHEN k % 3 = 0 THEN 'SB-unknown' ELSE 'SB-1' END, timestamptz '2030-06-01 10:00+08' + k * interval '1 hour',
                'addr', 'i' || k % 4, CASE WHEN k % 5 = 0 THEN '最佳 cup' ELSE 'cup' END, 10
           FROM generate_series(1, 40) k" >/dev/null

runuser -u postgres -- "$CS_PGBIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY_DIR/data" -R -X stream --checkpoint=fast \
    >"$STANDBY_DIR/basebackup.log" 2>&1 || { conc_notok "pg_basebackup failed: $(tail -n 3 "$STANDBY_DIR/basebackup.log")"; conc_finish; }
cat >>"$STANDBY_DIR/data/postgresql.conf" <<EOF
port = $STANDBY_PORT
unix_socket_directories = '$STANDBY_DIR'
hot_standby = on
EOF
runuser -u postgres -- "$CS_PGBIN/pg_ctl" -D "$STANDBY_DIR/data" -l "$STANDBY_DIR/server.log" -w start >/dev/null \
    || { conc_notok "the standby did not start: $(tail -n 5 "$STANDBY_DIR/server.log")"; conc_finish; }
on_standby() { PGHOST=$STANDBY_DIR PGPORT=$STANDBY_PORT q "$DB" "$1"; }

conc_check "the standby is in recovery" t "$(on_standby "SELECT pg_is_in_recovery()")"
expected=$(q "$DB" "SELECT count(*) || '|' || count(DISTINCT code) FROM credit_sandbox.replay()")
conc_true "the primary's replay finds hits ($expected)" "$( [ "${expected%%|*}" -gt 0 ] && echo t || echo f)"
conc_check "replay() on the standby: the primary's hits" "$expected" \
    "$(on_standby "SELECT count(*) || '|' || count(DISTINCT code) FROM credit_sandbox.replay()" 2>&1)"
conc_check "check_consistency() on the standby: nothing missing or extra" 0 \
    "$(on_standby "SELECT count(*) FROM credit_sandbox.check_consistency()" 2>&1)"

conc_finish
