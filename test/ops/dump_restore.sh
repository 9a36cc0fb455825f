#!/usr/bin/env bash
# dump_restore.sh -- a pg_dump / pg_restore round trip keeps everything the DBA
# and the checks wrote, and the restored database goes on checking.
#
# For a plain and for a hash-partitioned transactions table: a database with
# edited, disabled and re-edited rules, custom list entries, a removed default
# term, a reference price, custom grading weights and boundaries, inspectors
# and a conflict, sandbox stays (one ended by a warning clue), warnings open,
# acknowledged, corrected, escalated and closed, and a draw.  Dumped with
# pg_dump -Fc and restored into a fresh database as the README says; then
#   - every table of the extension holds the same rows, every sequence the
#     same position;
#   - inserts are checked: an open warning counts the next hit, a new one gets
#     the next id, edited parameters, the disabled rule, the custom and the
#     removed terms, the reference price and the sandbox stays all apply;
#     a rule's next version follows the restored one;
#   - the draw verifies, and grading gives the source's class and score.
# Finally a restore without session_replication_role = replica fails (the
# stored rows would be checked again) and, in one transaction, leaves nothing.
# Connection: PGHOST/PGPORT/PGUSER, a superuser (check.sh sets them).
set -euo pipefail
# shellcheck source=test/concurrency/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../concurrency/lib.bash"
conc_init dump_restore

AT="timestamptz '2025-04-01 00:00+08'"

# populate DB: what a DBA and a few weeks of trading leave behind
populate() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<'SQL'
UPDATE credit_sandbox.rules SET params = '{"window": "12 hours", "threshold": 3}' WHERE code = 'RL04';
UPDATE credit_sandbox.rules SET params = '{"lookback": "3 days"}' WHERE code = 'RL05';
UPDATE credit_sandbox.rules SET params = '{"lookback": "5 days"}' WHERE code = 'RL05';
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL02';
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('tiger bone');
DELETE FROM credit_sandbox.prohibited_terms WHERE term = 'ivory';
INSERT INTO credit_sandbox.absolute_terms (term) VALUES ('史上最低');
INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES ('pet_food', 'pet_food_licence');
INSERT INTO credit_sandbox.return_exempt_categories (category) VALUES ('perishables');
INSERT INTO credit_sandbox.reference_prices (category, price, valid_from) VALUES ('face_masks', 20, '2020-01-01');
UPDATE credit_sandbox.grading_weights SET weight = 20 WHERE indicator = 'warning_clues';
UPDATE credit_sandbox.grade_boundaries b SET min_score = d.m
  FROM (VALUES ('A', 85), ('B', 65), ('C', 45)) d(c, m) WHERE b.class = d.c;
INSERT INTO credit_sandbox.inspectors (inspector_id, name, region) VALUES
    ('INS1', 'Inspector 1', 'D1'), ('INS2', 'Inspector 2', 'D1'), ('INS3', 'Inspector 3', 'D2');
INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits) VALUES
    ('OPA', 'member, leaves on RL06', 'D1', '2020-01-01', '2030-12-31', '{}'),
    ('OPB', 'brushing', 'D1', '2020-01-01', '2030-12-31', '{}'),
    ('OPC', 'complaints, abnormal list', 'D2', '2020-01-01', '2030-12-31', '{}'),
    ('OPD', 'member, refuses returns', 'D2', '2020-01-01', '2030-12-31', '{}');
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id, reason) VALUES ('INS1', 'OPB', 'relative');
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('OPC', 'abnormal', '2025-03-01');
SELECT credit_sandbox.admit('OPA'), credit_sandbox.admit('OPD');

-- RL01 (unknown UNK), RL04 (threshold 3), RL06 tip then warning clues (OPA
-- leaves), RL03 on the custom term and none on the removed one, RL09
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price)
SELECT 'UNK', timestamptz '2025-03-10 10:00+08' + g * interval '1 hour', 'b' || g, NULL, 'u' || g, 'cup', 'kitchen', 1, 10
  FROM generate_series(1, 3) g;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price)
SELECT 'OPB', timestamptz '2025-03-10 10:00+08' + g * interval '1 hour', 'b' || g, 'addr-1', 'b1', 'plain mug', 'kitchen', 1, 10
  FROM generate_series(1, 4) g;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price) VALUES
    ('OPA', '2025-03-11 10:00+08', 'b1', NULL, 'a1', '最佳 tea', 'tea', 1, 10),
    ('OPA', '2025-03-11 11:00+08', 'b2', NULL, 'a1', '最佳 tea', 'tea', 1, 10),
    ('OPA', '2025-03-11 12:00+08', 'b3', NULL, 'a2', '史上最低 tea', 'tea', 1, 10),
    ('OPB', '2025-03-11 12:00+08', 'b4', NULL, 'b9', 'tiger bone wine', 'drinks', 1, 10),
    ('OPB', '2025-03-11 13:00+08', 'b5', NULL, 'b8', 'ivory comb', 'home', 1, 10),
    ('OPC', '2025-03-11 13:00+08', 'b6', NULL, 'c1', 'mask', 'face_masks', 1, 50);
INSERT INTO credit_sandbox.complaints (operator_id, received_at, channel, category)
SELECT 'OPC', timestamptz '2025-03-12 10:00+08' + g * interval '1 hour', 'web', 'quality' FROM generate_series(1, 6) g;
INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome) VALUES
    ('OPD', 'kitchen', '2025-03-10 10:00+08', '2025-03-12 10:00+08', 'refused'),
    ('OPD', 'kitchen', '2025-03-10 10:00+08', '2025-03-13 10:00+08', 'refused');

-- warnings in every status, a renewal, a draw
SELECT credit_sandbox.acknowledge(warning_id) FROM credit_sandbox.warnings WHERE operator_id = 'OPB' AND code = 'RL03';
SELECT credit_sandbox.close_warning(warning_id, 'fined') FROM credit_sandbox.warnings WHERE operator_id = 'OPC' AND code = 'RL08';
SELECT credit_sandbox.record_correction(warning_id, 'refunded') FROM credit_sandbox.warnings WHERE operator_id = 'OPD';
SELECT credit_sandbox.escalate_overdue('2025-04-30');
SELECT count(*) FROM credit_sandbox.renew_sandbox('2025-04-01');
SELECT credit_sandbox.draw_inspections('2025-04-01 lottery 07 19 23 31 42', '{"A": 0.5, "B": 1, "C": 1, "D": 1}');
SQL
}

# fingerprint DB: per table of the extension "name|rows|md5 of the sorted
# rows", per sequence "name|last_value|is_called"
fingerprint() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT CASE WHEN c.relkind = 'S'
            THEN format('SELECT %L, last_value, is_called FROM %s', c.relname, c.oid::regclass)
            ELSE format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), ''''))'
                        ' FROM %s t', c.relname, c.oid::regclass) END
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'credit_sandbox')
   AND c.relkind IN ('r', 'p', 'S')
 ORDER BY c.relname \gexec
SQL
}

for parts in 0 4; do
    SRC=cs_ops_dump_p$parts
    DST=cs_ops_restore_p$parts
    label="transaction_partitions = $parts"
    PGOPTIONS="-c credit_sandbox.transaction_partitions=$parts" conc_createdb "$SRC"
    populate "$SRC"
    pg_dump -Fc -d "$SRC" -f "$CONC_TMP/$SRC.dump"

    # the README's restore: CREATE EXTENSION (with the source's partitioning)
    # installs the defaults, the dump's rows replace them, nothing is checked twice
    conc_emptydb "$DST"
    if PGOPTIONS="-c session_replication_role=replica -c credit_sandbox.transaction_partitions=$parts" \
        pg_restore --single-transaction -d "$DST" "$CONC_TMP/$SRC.dump" >"$CONC_TMP/$DST.log" 2>&1; then
        conc_ok "pg_restore as replica ($label)"
    else
        conc_notok "pg_restore as replica ($label); log:"
        sed 's/^/#   /' "$CONC_TMP/$DST.log" | head -n 10
        continue
    fi

    fingerprint "$SRC" >"$CONC_TMP/$SRC.fp"
    fingerprint "$DST" >"$CONC_TMP/$DST.fp"
    n=$(wc -l <"$CONC_TMP/$SRC.fp")
    conc_true "the extension's tables and sequences listed ($label)" "$([ "$n" -ge 30 ] && echo t || echo f)" "$n"
    while IFS='|' read -r rel rest; do
        got=$(grep "^$rel|" "$CONC_TMP/$DST.fp" || true)
        conc_check "$rel restored as dumped ($label)" "$rel|$rest" "$got"
    done <"$CONC_TMP/$SRC.fp"

    # the restored database goes on checking, where the source left off
    read -r max_txn max_warning < <(q "$SRC" "SELECT (SELECT last_value FROM credit_sandbox.transactions_txn_id_seq),
                                                     (SELECT last_value FROM credit_sandbox.warnings_warning_id_seq)" -F ' ')
    q "$DST" "INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price) VALUES
                ('UNK',  '2025-04-02 10:00+08', 'n1', NULL, 'u9', 'cup', 'kitchen', 1, 10),
                ('UNK2', '2025-04-02 10:00+08', 'n2', NULL, 'u9', 'cup', 'kitchen', 1, 10),
                ('OPB',  '2025-04-02 10:00+08', 'n3', 'addr-2', 'b2', 'ivory comb', 'home', 1, 10),
                ('OPB',  '2025-04-02 11:00+08', 'n4', 'addr-2', 'b3', 'tiger bone wine', 'drinks', 1, 10),
                ('OPB',  '2025-04-02 12:00+08', 'n5', 'addr-2', 'b4', 'mask', 'face_masks', 1, 31),
                ('OPC',  '2025-04-02 12:00+08', 'n6', NULL, 'c2', 'plain mug', 'kitchen', 1, 10),
                ('OPD',  '2025-04-02 12:00+08', 'n7', NULL, 'd1', '史上最低 tea', 'tea', 1, 10)" >/dev/null
    conc_check "transaction ids continue after the source's ($label)" \
        "$((max_txn + 1))|$((max_txn + 7))" \
        "$(q "$DST" "SELECT min(txn_id) || '|' || max(txn_id) FROM credit_sandbox.transactions WHERE buyer_id LIKE 'n%'")"
    conc_check "the restored open RL01 warning counts the next hit, no second one ($label)" \
        "1|4|open" \
        "$(q "$DST" "SELECT count(*) || '|' || max(hits) || '|' || max(status) FROM credit_sandbox.warnings
                      WHERE operator_id = 'UNK' AND code = 'RL01'")"
    conc_check "a new warning takes the next warning id ($label)" \
        "$((max_warning + 1))" \
        "$(q "$DST" "SELECT warning_id FROM credit_sandbox.warnings WHERE operator_id = 'UNK2' AND code = 'RL01'")"
    conc_check "new warnings: RL04 at the edited threshold 3, RL03 on the custom term and not the removed one, RL09 on the reference price, no RL02 (disabled) for the listed OPC, the member's first RL06 a tip ($label)" \
        "OPB:RL03:b3:risk_trigger|OPB:RL04:addr-2:risk_trigger|OPB:RL09:b4:risk_trigger|OPD:RL06:d1:admin_tip|UNK2:RL01:UNK2:risk_trigger" \
        "$(q "$DST" "SELECT string_agg(operator_id || ':' || code || ':' || subject_key || ':' || list, '|'
                                       ORDER BY operator_id, code)
                       FROM credit_sandbox.warnings WHERE warning_id > $max_warning")"
    conc_check "RL04 evidence names the edited threshold ($label)" "3" \
        "$(q "$DST" "SELECT evidence ->> 'threshold' FROM credit_sandbox.warnings
                      WHERE warning_id > $max_warning AND code = 'RL04'")"
    conc_check "sandbox stays kept: OPD a member, OPA not ($label)" "true|false" \
        "$(q "$DST" "SELECT credit_sandbox.in_sandbox('OPD') || '|' || credit_sandbox.in_sandbox('OPA')")"
    conc_check "the next version of RL04 follows the restored one ($label)" \
        "$(q "$SRC" "SELECT version + 1 FROM credit_sandbox.rules WHERE code = 'RL04'")|1" \
        "$(q "$DST" "UPDATE credit_sandbox.rules SET params = '{\"window\": \"12 hours\", \"threshold\": 4}' WHERE code = 'RL04';
                     SELECT r.version || '|' || count(h.*) FROM credit_sandbox.rules r
                       LEFT JOIN credit_sandbox.rule_history h ON h.code = r.code AND h.version = r.version
                      WHERE r.code = 'RL04' GROUP BY r.version")"
    conc_true "the draw verifies in the restored database ($label)" \
        "$(q "$DST" "SELECT credit_sandbox.verify_draw(draw_id) FROM credit_sandbox.inspection_draws")"
    conc_check "grading with the restored weights and boundaries gives the source's class and score ($label)" \
        "$(q "$SRC" "SELECT credit_sandbox.grade('OPB', $AT) || '|' || score FROM credit_sandbox.operator_classes WHERE operator_id = 'OPB'")" \
        "$(q "$DST" "SELECT credit_sandbox.grade('OPB', $AT) || '|' || score FROM credit_sandbox.operator_classes WHERE operator_id = 'OPB'")"
done

# Without replica the stored rows would be checked again: the restore fails
# (the grade boundaries, replaced one at a time, fail their order check; the
# warnings raised again collide with the dumped ones) and, in one
# transaction, leaves an empty database to restore into again.
PLAIN=cs_ops_restore_plain
conc_emptydb "$PLAIN"
plain_rc=0
pg_restore --single-transaction -d "$PLAIN" "$CONC_TMP/cs_ops_dump_p0.dump" >"$CONC_TMP/plain.log" 2>&1 || plain_rc=$?
conc_true "pg_restore without replica fails" "$([ "$plain_rc" -ne 0 ] && echo t || echo f)" "exit $plain_rc"
conc_check "... and leaves the database empty" "0" \
    "$(q "$PLAIN" "SELECT count(*) FROM pg_extension WHERE extname = 'credit_sandbox'")"

conc_finish
