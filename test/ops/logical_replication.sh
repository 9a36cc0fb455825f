#!/usr/bin/env bash
# logical_replication.sh -- README.md's "Logical replication" (in "Consumers"), run as
# printed there: the publisher's block on a primary of its own (port CS_PGPORT + 3,
# wal_level = logical), the business system's block in database crm of a subscriber
# cluster (port CS_PGPORT + 4), its CONNECTION pointed at the primary; both stopped and
# removed at exit.  (Not the suite's cluster: there test/neighbour's seven relcache
# callbacks leave a walsender too few for logical decoding and pgoutput.)  Checked, the
# subscriber's rows equal to the primary's (every published column) each time:
#   - after the initial copy of warnings written before the subscription;
#   - after warning clues, a tip, its acknowledgement and correction, an escalation, and
#     a transaction that took its warning id first but committed last, which arrives
#     last (the subscriber's `arrived` column); before and after COMMIT PREPARED;
#   - after the subscriber was stopped while more warnings were written and closed, and
#     started again (the slot kept the primary's WAL for it);
# and crm_replication reads no other table or column, but -- as the README warns -- can
# decode the database's other tables through test_decoding.
set -euo pipefail
# shellcheck source=test/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster.sh"
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
cs_require_root "$@"

DB=cs_ops_logical
ROLE=crm_replication
SUB_PORT=$((${CS_PGPORT:-54329} + 4))
CS_PGPORT=$((${CS_PGPORT:-54329} + 3)) CS_PRELOAD='' CS_SERVER_CONF="${CS_SERVER_CONF:-}
wal_level = logical" cs_start_cluster >/dev/null
conc_init logical_replication   # replaces the cluster's EXIT trap: conc_cleanup stops it
export PGTZ=UTC
SUB_DIR=$(mktemp -d -t cs_subscriber.XXXXXX)
chown postgres: "$SUB_DIR"
on_sub() { PGHOST=$SUB_DIR PGPORT=$SUB_PORT q crm "$@"; }
sub_ctl() { runuser -u postgres -- "$CS_PGBIN/pg_ctl" -D "$SUB_DIR/data" -l "$SUB_DIR/server.log" -w "$@" >/dev/null; }
stop_subscriber() {
    sub_ctl -m immediate stop 2>/dev/null
    rm -rf "$SUB_DIR"
}
CONC_AT_EXIT+=(stop_subscriber cs_stop_cluster)

conc_check "the primary has wal_level = logical" logical "$(q postgres "SHOW wal_level")"
pub_sql=$(conc_readme_block sql 'CREATE PUBLICATION')
sub_sql=$(conc_readme_block sql 'CREATE SUBSCRIPTION')
if [ -z "$pub_sql" ] || [ -z "$sub_sql" ] || ! grep -q "CREATE ROLE $ROLE " <<<"$pub_sql"; then
    conc_notok "README.md has the publisher's block (role $ROLE) and the subscriber's"
    conc_finish
fi

createdb "$DB"
q "$DB" "CREATE EXTENSION credit_sandbox" >/dev/null
q "$DB" "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
         VALUES ('LR-M', 'member', 'r1', '2020-01-01', '2031-12-31', '{}'),
                ('LR-N', 'member', 'r1', '2020-01-01', '2031-12-31', '{}');
         SELECT credit_sandbox.admit('LR-M'), credit_sandbox.admit('LR-N')" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<<"$pub_sql" >/dev/null

# sales OPERATOR TITLE: one sale; an unknown operator's first raises RL01, an absolute
# term (最佳) a member's first RL06: a tip, due 7 days later (in 2025: overdue)
sales() {
    q "$DB" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, unit_price)
             VALUES ('$1', '2025-03-01 10:00+08', 'addr', 'ad', '$2', 10)" >/dev/null
}
sales LR-1 cup
sales LR-2 cup

# the subscriber, its database crm, the README's block with the primary's address
runuser -u postgres -- "$CS_PGBIN/initdb" -D "$SUB_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$SUB_DIR/initdb.log" 2>&1 || { conc_notok "initdb of the subscriber: $(tail -n 3 "$SUB_DIR/initdb.log")"; conc_finish; }
cat >>"$SUB_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$SUB_DIR'
port = $SUB_PORT
fsync = off
${CS_SERVER_CONF:-}
EOF
sub_ctl start || { conc_notok "the subscriber did not start: $(tail -n 5 "$SUB_DIR/server.log")"; conc_finish; }
PGHOST=$SUB_DIR PGPORT=$SUB_PORT createdb crm
conninfo="host=$PGHOST port=$PGPORT dbname=$DB user=$ROLE"
# by psql's standard input, as test/readme.sh runs a block: statement by statement
# (CREATE SUBSCRIPTION makes its slot outside a transaction block)
sed "s|CONNECTION '[^']*'|CONNECTION '$conninfo'|" <<<"$sub_sql" \
    | PGHOST=$SUB_DIR PGPORT=$SUB_PORT psql -X -q -v ON_ERROR_STOP=1 -d crm >/dev/null 2>"$CONC_TMP/subscribe.err" \
    || { conc_notok "the README's subscriber block: $(cat "$CONC_TMP/subscribe.err")"; conc_finish; }

# the published columns: the subscriber table's, but its own arrival number
cols=$(on_sub "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_catalog.pg_attribute
                WHERE attrelid = 'credit_sandbox.warnings'::regclass AND attnum > 0 AND NOT attisdropped
                  AND attname <> 'arrived'")
dump_pub() { q "$DB" "SELECT $cols FROM credit_sandbox.warnings ORDER BY warning_id"; }
dump_sub() { on_sub "SELECT $cols FROM credit_sandbox.warnings ORDER BY warning_id"; }
# in_step LABEL: the subscriber reaches the primary's rows within 30 s
in_step() {
    local i want
    want=$(dump_pub)
    for ((i = 0; i < 150; i++)); do
        [ "$(dump_sub 2>/dev/null)" = "$want" ] && break
        sleep 0.2
    done
    if [ "$(dump_sub 2>/dev/null)" = "$want" ]; then
        conc_ok "the subscriber's warnings equal the primary's: $1 ($(grep -c . <<<"$want") rows)"
    else
        conc_notok "the subscriber's warnings equal the primary's: $1; diff (-primary +subscriber):"
        { diff <(echo "$want") <(dump_sub 2>&1) | sed 's/^/#   /' | head -n 20; } || true
        echo "# the subscriber's log:"
        sed 's/^/#   /' "$SUB_DIR/server.log" | tail -n 10
    fi
}
in_step "the initial copy"

sales LR-3 cup
sales LR-M '最佳 耳机'
sales LR-N '最佳 杯子'
tip_of() { q "$DB" "SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = '$1' AND list = 'admin_tip'"; }
tip_m=$(tip_of LR-M) tip_n=$(tip_of LR-N)
conc_true "each member's first RL06 hit is a tip" "$([ -n "$tip_m" ] && [ -n "$tip_n" ] && echo t)"
q "$DB" "SELECT credit_sandbox.acknowledge(${tip_m:-0}, 'seen'); SELECT credit_sandbox.record_correction(${tip_m:-0}, 'title fixed')" >/dev/null
# LR-N's tip, not corrected, is past due: escalated, with a new clue
conc_check "escalate_overdue escalates LR-N's tip" 1 "$(q "$DB" "SELECT credit_sandbox.escalate_overdue(pg_catalog.now())")"
conc_check "the tips: corrected, escalated" "corrected|escalated" \
    "$(q "$DB" "SELECT string_agg(status, '|' ORDER BY operator_id) FROM credit_sandbox.warnings WHERE list = 'admin_tip'")"

# a transaction takes its warning id first and commits last
conc_session late "$DB"
conc_send late "BEGIN;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, unit_price)
VALUES ('LR-late', '2025-03-03 10:00+08', 'addr', 'ad', 'cup', 10);"
conc_wait_backend late 'idle in transaction' '%LR-late%' \
    || conc_notok "the late transaction has written its warning"
sales LR-early cup
conc_send late "COMMIT;"
conc_end_session late
in_step "after clues, a tip acknowledged and corrected, an escalation and a late commit"
conc_check "arrival follows commit order: LR-early (the later warning_id) before LR-late" "LR-early|LR-late" \
    "$(on_sub "SELECT string_agg(operator_id, '|' ORDER BY arrived) FROM credit_sandbox.warnings
                WHERE operator_id IN ('LR-early', 'LR-late')")"
conc_check "warning ids: LR-late took the smaller" "LR-late|LR-early" \
    "$(q "$DB" "SELECT string_agg(operator_id, '|' ORDER BY warning_id) FROM credit_sandbox.warnings
                 WHERE operator_id IN ('LR-early', 'LR-late')")"

# a prepared transaction's warning arrives at COMMIT PREPARED
q "$DB" "BEGIN;
         INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, unit_price)
         VALUES ('LR-prep', '2025-03-03 10:00+08', 'addr', 'ad', 'cup', 10);
         PREPARE TRANSACTION 'cs_lr_prep'" >/dev/null
sales LR-after cup
in_step "a transaction prepared, not committed"
q "$DB" "COMMIT PREPARED 'cs_lr_prep'" >/dev/null
in_step "after COMMIT PREPARED"
conc_check "arrival: the prepared transaction's warning after the one committed meanwhile" "LR-after|LR-prep" \
    "$(on_sub "SELECT string_agg(operator_id, '|' ORDER BY arrived) FROM credit_sandbox.warnings
                WHERE operator_id IN ('LR-prep', 'LR-after')")"

# the subscriber stopped while more is written and changed
sub_ctl -m fast stop
for i in 4 5 6; do sales "LR-$i" cup; done
q "$DB" "SELECT credit_sandbox.close_warning(warning_id, 'checked') FROM credit_sandbox.warnings
          WHERE operator_id IN ('LR-1', 'LR-4')" >/dev/null
slots() { q postgres "SELECT string_agg(active::text, ',') FROM pg_catalog.pg_replication_slots WHERE database = '$DB'"; }
for ((i = 0; i < 50; i++)); do
    [ "$(slots)" = false ] && break
    sleep 0.2
done
conc_check "meanwhile the subscription's slot waits on the primary, inactive" false "$(slots)"
sub_ctl start || { conc_notok "the subscriber did not start again: $(tail -n 5 "$SUB_DIR/server.log")"; conc_finish; }
in_step "after the subscriber was stopped, warnings written and closed, and started again"

# what crm_replication may read on the primary
as_role() { PGUSER=$ROLE q "$DB" "$1" -v VERBOSITY=sqlstate 2>&1; }
conc_check "$ROLE reads the published columns" "$(q "$DB" "SELECT count(*) FROM credit_sandbox.warnings")" \
    "$(as_role "SELECT count(*) FROM (SELECT $cols FROM credit_sandbox.warnings) w")"
conc_check "$ROLE may not read evidence" "ERROR:  42501" "$(as_role "SELECT evidence FROM credit_sandbox.warnings")"
conc_check "$ROLE may not read transactions" "ERROR:  42501" "$(as_role "SELECT count(*) FROM credit_sandbox.transactions")"
conc_check "as the README warns, $ROLE may make a slot with another output plugin" t \
    "$(as_role "SELECT pg_catalog.pg_create_logical_replication_slot('cs_lr_probe', 'test_decoding') IS NOT NULL")"
sales LR-7 cup
conc_check "... and through it read the rows of a table it may not read" t \
    "$(as_role "SELECT count(*) > 0 FROM pg_catalog.pg_logical_slot_get_changes('cs_lr_probe', NULL, NULL)
                 WHERE data LIKE 'table credit_sandbox.transactions: INSERT:%LR-7%'")"
q "$DB" "SELECT pg_catalog.pg_drop_replication_slot('cs_lr_probe')" >/dev/null 2>&1 || true

PGOPTIONS="-c client_min_messages=warning" on_sub "DROP SUBSCRIPTION crm_warnings" >/dev/null
conc_check "DROP SUBSCRIPTION removes the primary's slot" 0 \
    "$(q postgres "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE database = '$DB'")"

conc_finish
