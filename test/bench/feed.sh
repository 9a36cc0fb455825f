#!/usr/bin/env bash
# feed.sh -- what the feed costs and how fast it is read (README, "Delivery: the
# feed"). Not part of the test suite.
#
#   bash test/bench/feed.sh [--rows N] [--runs K] [--batch B] [--no-build]
#
# Its own throwaway cluster (test/cluster.sh, port CS_PGPORT, default 54400; fsync
# and synchronous_commit on), two databases with the extension: `feed` as installed
# and `nofeed` with the feed's trigger disabled, which is the extension as it was
# before the feed. Measured, K times alternately (medians printed):
#   insert          N rows into transactions, one INSERT ... SELECT, every row a new
#                   operator's 'ivory' sale: two new warnings a row (RL01, RL03), the
#                   feed's worst case; rows/s in both databases and their ratio
#   insert, 1 in 100  the same with one row in a hundred raising warnings (the rest
#                   clean sales of registered operators)
#   read+ack        in `feed`: a consumer reads B entries, acknowledges them and
#                   commits, until the feed is drained: entries/s, first with the
#                   sealing (new entries), then from_start over entries already sealed
# Details go to CS_BENCH_LOG (default /var/tmp/credit_sandbox-feed-bench.<time>).
set -Eeuo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CS_PGPORT=${CS_PGPORT:-54400}
# shellcheck source=test/cluster.sh
source "$BENCH_DIR/../cluster.sh"
cs_require_root "$@"

ROWS=20000 RUNS=3 BATCH=500 BUILD=1
is_num() { [[ "${1:-}" =~ ^[0-9]+$ ]]; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rows)     is_num "${2:-}" || cs_die "--rows needs a number"; ROWS=$2; shift ;;
        --runs)     is_num "${2:-}" || cs_die "--runs needs a number"; RUNS=$2; shift ;;
        --batch)    is_num "${2:-}" || cs_die "--batch needs a number"; BATCH=$2; shift ;;
        --no-build) BUILD=0 ;;
        *)          cs_die "unknown option $1 (see the header of $0)" ;;
    esac
    shift
done
LOG=${CS_BENCH_LOG:-/var/tmp/credit_sandbox-feed-bench.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOG"

[ "$BUILD" = 1 ] && cs_build_install >"$LOG/build.log" 2>&1
CS_FSYNC=on CS_SERVER_CONF="synchronous_commit = on" cs_start_cluster >/dev/null
sql() { cs_psql -q -A -t -d "$1" -c "$2"; }

for db in feed nofeed; do
    createdb "$db"
    sql "$db" "CREATE EXTENSION credit_sandbox" >/dev/null
    # the clean sales' operators: registered, nothing to report
    sql "$db" "INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
               SELECT 'C' || g, 'shop', 'r', '2020-01-01', '2031-12-31', '{}' FROM generate_series(1, 100) g" >/dev/null
done
sql nofeed "ALTER TABLE credit_sandbox.warnings DISABLE TRIGGER warnings_feed" >/dev/null

# insert DB RUN EVERY: seconds for ROWS rows, one in EVERY raising two new warnings
insert() {
    sql "$1" "CHECKPOINT" >/dev/null
    cs_psql -q -A -t -d "$1" >>"$LOG/insert.$1.log" 2>&1 <<SQL
\\timing on
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
SELECT CASE WHEN g % $3 = 0 THEN 'R$2-$3-' || g ELSE 'C' || (g % 100 + 1) END,
       timestamptz '2030-06-01 12:00+08' + g * interval '1 second', 'i' || g % 50,
       CASE WHEN g % $3 = 0 THEN 'ivory' ELSE 'plain mug' END, 10
  FROM generate_series(1, $ROWS) g;
SQL
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$LOG/insert.$1.log" | tail -n 1
}
# drain SUB: seconds to read and acknowledge the whole feed, BATCH entries a transaction
drain() {
    local t0 t1
    t0=$(date +%s.%N)
    cs_psql -q -d feed >>"$LOG/drain.log" 2>&1 <<SQL
DO \$\$
DECLARE
    last bigint;
BEGIN
    LOOP
        SELECT max(f.position) INTO last FROM credit_sandbox.read_feed('$1', $BATCH) f;
        EXIT WHEN last IS NULL;
        PERFORM credit_sandbox.ack_feed('$1', last);
        COMMIT;
    END LOOP;
END \$\$;
SQL
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$LOG/results.tsv"
for ((r = 1; r <= RUNS; r++)); do
    for every in 1 100; do
        for db in nofeed feed; do
            ms=$(insert "$db" "$r" "$every")
            printf '%s\t%s\t%s\n' "insert_$every" "$db" "$(awk -v n="$ROWS" -v ms="$ms" 'BEGIN { print n / (ms / 1000) }')" >>"$LOG/results.tsv"
        done
    done
    entries=$(sql feed "SELECT count(*) FROM credit_sandbox.feed_entries WHERE position IS NULL")
    sql feed "SELECT credit_sandbox.create_subscription('new$r')" >/dev/null
    s=$(drain "new$r")
    printf '%s\t%s\t%s\n' read_seal feed "$(awk -v n="$entries" -v s="$s" 'BEGIN { print n / s }')" >>"$LOG/results.tsv"
    entries=$(sql feed "SELECT count(*) FROM credit_sandbox.feed_entries")
    sql feed "SELECT credit_sandbox.create_subscription('again$r', from_start => true)" >/dev/null
    s=$(drain "again$r")
    printf '%s\t%s\t%s\n' read_sealed feed "$(awk -v n="$entries" -v s="$s" 'BEGIN { print n / s }')" >>"$LOG/results.tsv"
done

m() { awk -F'\t' -v k="$1" -v d="$2" '$1 == k && $2 == d { print $3 }' "$LOG/results.tsv" | median; }
echo "feed benchmark: $ROWS rows an insert, $RUNS runs, read batches of $BATCH (medians; log in $LOG)"
for every in 1 100; do
    a=$(m "insert_$every" nofeed) b=$(m "insert_$every" feed)
    printf 'insert, 1 row in %-3s with 2 new warnings: %8.0f rows/s without the feed, %8.0f with it, ratio %.2f\n' \
        "$every" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
done
printf 'read+ack, new entries (sealing included):  %8.0f entries/s\n' "$(m read_seal feed)"
printf 'read+ack, entries already sealed:          %8.0f entries/s\n' "$(m read_sealed feed)"
