-- load.sql -- copy generate.sql's marketplace (schema bench_data) into a target
-- schema: the extension's tables, or a copy of them without checks.
--
--   psql -X -v ON_ERROR_STOP=1 -d DB -v target=credit_sandbox [-v phase=all|master|events]
--        [-v batch=2000] [-v admit=off] -f load.sql
--
-- target: credit_sandbox, or any schema with tables of the same names and
--         columns (run.sh's `plain`: LIKE ... INCLUDING ALL, no triggers).
-- phase master: what the regulator writes before the events: the reference lists
--         and prices (replacing the target's, when it has them), the operators with
--         their licences and permits, the list entries; then admit() for the
--         sandbox members, when the target has that function (-v admit=off: none).
-- phase events: transactions, returns and complaints in arrival order, in
--         batches of :batch arrivals: three INSERT ... SELECT a batch (the batch's
--         transactions, then its returns, then its complaints), each its own
--         transaction, as a platform's feed would send them. Ids are copied, so
--         that warnings point to the same rows in every target; the identity
--         sequences are then moved past them.
-- Only the columns of the extension's tables are written, by name.

\set ON_ERROR_STOP on
\if :{?target} \else \set target credit_sandbox \endif
\if :{?phase}  \else \set phase all             \endif
\if :{?batch}  \else \set batch 2000            \endif
\if :{?admit}  \else \set admit on              \endif
SET client_min_messages = warning;

SELECT :'phase' IN ('all', 'master') AS master,
       :'phase' IN ('all', 'events') AS events,
       to_regclass(format('%I.reference_prices', :'target')) IS NOT NULL AS lists,
       to_regprocedure(format('%I.admit(text)', :'target')) IS NOT NULL
           AND :'admit' <> 'off' AS admit
\gset

\if :master
BEGIN;
\if :lists
-- the lists the data was made for, in place of the target's
SELECT format('DELETE FROM %1$I.%2$I; INSERT INTO %1$I.%2$I (%3$s) SELECT %3$s FROM bench_data.%2$I ORDER BY %3$s',
              :'target', t, c)
  FROM (VALUES ('regulated_categories', 'category, permit'), ('prohibited_categories', 'category'),
               ('prohibited_terms', 'term'), ('absolute_terms', 'term'),
               ('return_exempt_categories', 'category'),
               ('reference_prices', 'item_id, category, price, valid_from, valid_to')) l(t, c)
\gexec
\endif
INSERT INTO :"target".operators (operator_id, name, region, registered_on, licence_valid_until, permits)
SELECT operator_id, name, region, registered_on, licence_valid_until, permits
  FROM bench_data.operators ORDER BY operator_id;
INSERT INTO :"target".operator_lists (operator_id, list, listed_on, removed_on)
SELECT operator_id, list, listed_on, removed_on FROM bench_data.operator_lists ORDER BY operator_id, list;
\if :admit
-- (CASE: admit() only for the members, whatever order the planner picks)
SELECT format('SELECT count(CASE WHEN in_sandbox THEN %I.admit(operator_id) END) AS admitted
                 FROM bench_data.operators', :'target')
\gexec
\endif
COMMIT;
\endif

\if :events
SELECT format($$INSERT INTO %1$I.transactions
    (txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price)
    OVERRIDING SYSTEM VALUE
    SELECT txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price
      FROM bench_data.transactions WHERE arrival BETWEEN %2$s AND %3$s ORDER BY arrival$$, :'target', lo, hi),
       format($$INSERT INTO %1$I.returns
    (return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome)
    OVERRIDING SYSTEM VALUE
    SELECT return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome
      FROM bench_data.returns WHERE arrival BETWEEN %2$s AND %3$s ORDER BY arrival$$, :'target', lo, hi),
       format($$INSERT INTO %1$I.complaints (complaint_id, operator_id, received_at, channel, category)
    OVERRIDING SYSTEM VALUE
    SELECT complaint_id, operator_id, received_at, channel, category
      FROM bench_data.complaints WHERE arrival BETWEEN %2$s AND %3$s ORDER BY arrival$$, :'target', lo, hi)
  FROM (SELECT lo, lo + :batch - 1 AS hi
          FROM generate_series(1::bigint,
                               (SELECT count(*) FROM bench_data.transactions)
                               + (SELECT count(*) FROM bench_data.returns)
                               + (SELECT count(*) FROM bench_data.complaints), :batch) lo) b
 ORDER BY lo
\gexec

SELECT format('SELECT setval(pg_get_serial_sequence(%L, %L), greatest(1, (SELECT max(%I) FROM bench_data.%I)))',
              format('%I.%I', :'target', t), c, c, t)
  FROM (VALUES ('transactions', 'txn_id'), ('returns', 'return_id'), ('complaints', 'complaint_id')) s(t, c)
\gexec
\endif
