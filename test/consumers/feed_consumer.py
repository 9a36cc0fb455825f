#!/usr/bin/env python3
"""feed_consumer.py -- forwards the entries of one credit_sandbox feed subscription,
then acknowledges them (README, "Consumers").

Each batch that credit_sandbox.read_feed returns goes, as JSON lines in ascending
position, to the standard input of a shell command (--forward: append to a file, POST
with curl, ...); only when that command exits 0 is the batch acknowledged up to its
last position.  Between batches the consumer waits on LISTEN credit_sandbox (the
empty wake-up a transaction that wrote a warning sends) or --timeout seconds.

Restart-safe, at least once: the acknowledgement is the only state, kept in the
database.  An entry forwarded but not yet acknowledged when the consumer, its
connection or the server dies is forwarded again after the restart, with the same
position; the receiver drops an entry whose position is at or below the highest it
has kept.  A failed forward or a lost connection is retried after --retry seconds.

Connection: libpq's environment (PGHOST, PGDATABASE, PGUSER, ...) or --dsn.  The login
needs EXECUTE on read_feed and ack_feed.  Requires psycopg2 (Debian: python3-psycopg2).
"""
import argparse
import select
import subprocess
import sys
import time

import psycopg2

READ = ("SELECT f.position, pg_catalog.row_to_json(f)::text"
        "  FROM credit_sandbox.read_feed(%s, %s) f ORDER BY f.position")
ACK = "SELECT credit_sandbox.ack_feed(%s, %s)"


def log(msg):
    print("feed_consumer: " + msg, file=sys.stderr, flush=True)


def consume(args):
    """Forward and acknowledge until an error; the caller reconnects."""
    conn = psycopg2.connect(args.dsn, application_name="feed_consumer")
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("LISTEN credit_sandbox")
        while True:
            # a wake-up from now on may be for an entry this read does not see yet
            conn.notifies.clear()
            cur.execute(READ, (args.subscription, args.batch))
            rows = cur.fetchall()
            if rows:
                lines = "".join(entry + "\n" for _, entry in rows)
                subprocess.run(args.forward, shell=True, input=lines.encode(), check=True)
                cur.execute(ACK, (args.subscription, rows[-1][0]))
            if len(rows) == args.batch or conn.notifies:
                continue
            if select.select([conn], [], [], args.timeout) != ([], [], []):
                conn.poll()
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", default="", help="libpq connection string (default: the PG* environment)")
    p.add_argument("--subscription", default="crm", help="feed subscription to read (crm)")
    p.add_argument("--forward", default="cat >>feed.jsonl",
                   help="shell command given each batch as JSON lines on stdin (cat >>feed.jsonl)")
    p.add_argument("--batch", type=int, default=100, help="entries per read (100)")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for a wake-up (60)")
    p.add_argument("--retry", type=float, default=5, help="seconds before retrying after an error (5)")
    args = p.parse_args()
    while True:
        try:
            consume(args)
        except (psycopg2.OperationalError, psycopg2.InterfaceError, subprocess.CalledProcessError) as e:
            log(f"{e}".strip() + f"; retrying in {args.retry:g} s")
        except psycopg2.Error as e:
            # e.g. 42704 (no such subscription) or 42501: retrying will not help
            log(f"{e.pgcode}: {e}".strip())
            return 1
        time.sleep(args.retry)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
