-- history_paths.sql -- pgTAP: the windows of RL04 and RL05 are read straight from
-- the indexes of a plain transactions table, and through SPI queries where that
-- cannot be done (a partitioned table, a dropped index, an index of another
-- shape). Both give the same warnings and hits, with either driver, on a workload
-- of window boundaries, late arrivals, multi-row statements and a subtransaction.
-- Which way ran is read from pg_stat_statements. Operators 'THP...', 2031.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(12);

\ir lib/defaults.sql
\ir lib/helpers.sql

CALL pg_temp.add_operator('THP-a');
CALL pg_temp.add_operator('THP-b');

CREATE PROCEDURE pg_temp.workload() LANGUAGE plpgsql AS $$
BEGIN
    -- RL04: 7 orders in 24 h, one exactly 24 h after the first (outside), a late 8th
    CALL pg_temp.add_sale_series('THP-a', '2031-03-01 00:00+08', 7, '1 hour', ship => 'S1');
    CALL pg_temp.add_sale('THP-a', '2031-03-02 00:00+08', ship => 'S1');
    CALL pg_temp.add_sale('THP-a', '2031-03-01 23:00+08', ship => 'S1');
    -- one statement, out of time order, over two operators: rows with larger ids are not stored before
    INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, unit_price)
    VALUES ('THP-a', '2031-03-01 22:30+08', 'b', 'S1', 'i', 10), ('THP-b', '2031-03-01 22:30+08', 'b', 'S1', 'i', 10),
           ('THP-a', '2031-03-01 06:30+08', 'b', 'S1', 'i', 10), ('THP-a', '2031-03-01 22:45+08', 'b', 'S2', 'i', 10);
    -- RL05: a sale exactly 7 days earlier is in [t-7d, t), 7 days + 1 s is not, the same instant is not
    CALL pg_temp.add_sale('THP-a', '2031-03-01 12:00+08', item => 'p', price => 80);
    CALL pg_temp.add_sale('THP-a', '2031-03-08 12:00+08', item => 'p', price => 70, lp => 90);
    CALL pg_temp.add_sale('THP-a', '2031-03-01 11:59:59+08', item => 'q', price => 50);
    CALL pg_temp.add_sale('THP-a', '2031-03-08 12:00+08', item => 'q', price => 40, lp => 60);
    CALL pg_temp.add_sale('THP-a', '2031-03-03 12:00+08', item => 'r', price => 50);
    CALL pg_temp.add_sale('THP-a', '2031-03-03 12:00+08', item => 'r', price => 50, lp => 60);
    -- a subtransaction's rows, and one statement whose later row is the cheaper sale
    BEGIN
        INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, unit_price,
                                                 list_price)
        VALUES ('THP-b', '2031-03-05 12:00+08', 'b', 'S9', 's', 100, 120),
               ('THP-b', '2031-03-04 12:00+08', 'b', 'S9', 's', 50, NULL),
               ('THP-b', '2031-03-06 12:00+08', 'b', 'S9', 's', 100, 60);
        CALL pg_temp.add_sale_series('THP-b', '2031-03-05 13:00+08', 7, '1 minute', ship => 'S9');
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
END $$;

SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AS tracked \gset
\if :tracked
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SET LOCAL pg_stat_statements.track = 'all';
\endif
SELECT relkind = 'r' AS plain FROM pg_class WHERE oid = 'credit_sandbox.transactions'::regclass \gset

-- the workload with a driver, after a change of indexes, from a reset of the statistics
CREATE PROCEDURE pg_temp.run(driver text, setup text DEFAULT NULL) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM credit_sandbox.set_driver(driver);
    IF setup IS NOT NULL THEN
        EXECUTE setup;
    END IF;
    IF current_setting('shared_preload_libraries') ~ 'pg_stat_statements' THEN
        PERFORM pg_stat_statements_reset();
    END IF;
    CALL pg_temp.workload();
END $$;
-- what the run left, without ids (sequences do not roll back), and how many window
-- queries the triggers ran (NULL untracked); kept in a psql variable across the rollback
CREATE FUNCTION pg_temp.taken() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    queries bigint;
BEGIN
    IF current_setting('shared_preload_libraries') ~ 'pg_stat_statements' THEN
        SELECT count(*) INTO queries FROM pg_stat_statements s
         WHERE NOT s.toplevel AND s.query ~ '\.(ship_to|item_id) = (\$2|k\.key)';
    END IF;
    RETURN jsonb_build_object('window_queries', queries, 'warnings', (
        SELECT coalesce(jsonb_agg(to_jsonb(o)), '[]')
          FROM (SELECT w.code, w.operator_id, w.subject_key, w.hits, w.status, w.evidence,
                       ARRAY(SELECT t.occurred_at || ' ' || t.ship_to || ' ' || t.item_id
                               FROM credit_sandbox.warning_hits h
                               JOIN credit_sandbox.transactions t ON t.txn_id = h.source_id
                              WHERE h.warning_id = w.warning_id AND h.source_table = 'transactions'
                              ORDER BY 1) AS hit_rows
                  FROM credit_sandbox.warnings w
                 WHERE w.operator_id LIKE 'THP-%' AND w.code IN ('RL04', 'RL05')) o));
END $$;

-- each run in a savepoint: the same rows into the same empty history
SAVEPOINT r;
CALL pg_temp.run('statement');
SELECT pg_temp.taken() AS index_statement \gset
ROLLBACK TO SAVEPOINT r;
CALL pg_temp.run('row');
SELECT pg_temp.taken() AS index_row \gset
ROLLBACK TO SAVEPOINT r;
CALL pg_temp.run('statement', 'DROP INDEX credit_sandbox.transactions_operator_ship_to,
                                          credit_sandbox.transactions_operator_item');
SELECT pg_temp.taken() AS none_statement \gset
ROLLBACK TO SAVEPOINT r;
CALL pg_temp.run('row', 'DROP INDEX credit_sandbox.transactions_operator_ship_to,
                                    credit_sandbox.transactions_operator_item');
SELECT pg_temp.taken() AS none_row \gset
ROLLBACK TO SAVEPOINT r;
CALL pg_temp.run('statement', 'DROP INDEX credit_sandbox.transactions_operator_ship_to;
    CREATE INDEX ON credit_sandbox.transactions (operator_id, ship_to, occurred_at DESC)');
SELECT pg_temp.taken() AS descending \gset
ROLLBACK TO SAVEPOINT r;
CALL pg_temp.run('statement', 'DROP INDEX credit_sandbox.transactions_operator_item;
    CREATE INDEX ON credit_sandbox.transactions (operator_id, item_id COLLATE "C", occurred_at)');
SELECT pg_temp.taken() AS collation \gset
ROLLBACK TO SAVEPOINT r;

CREATE TEMP TABLE taken (run text, index_usable bool, result jsonb);
INSERT INTO taken VALUES
    ('index, statement driver', true, :'index_statement'), ('index, row driver', true, :'index_row'),
    ('no index, statement driver', false, :'none_statement'), ('no index, row driver', false, :'none_row'),
    ('a descending index', false, :'descending'), ('an index of another collation', false, :'collation');
CREATE TEMP VIEW outcome AS
    SELECT run, x.* FROM taken,
           jsonb_to_recordset(result -> 'warnings')
             AS x(code text, operator_id text, subject_key text, hits int, status text, evidence jsonb,
                  hit_rows text[]);

SELECT set_eq($$SELECT code, subject_key, hits FROM outcome WHERE run = 'index, statement driver'$$,
              $$VALUES ('RL04', 'S1', 3), ('RL04', 'S9', 1), ('RL05', 'p', 1), ('RL05', 's', 1)$$,
              'the workload hits RL04 and RL05 at their boundaries (the oracle the other runs are held to)');
SELECT set_eq(format($$SELECT code, operator_id, subject_key, hits, status, evidence, hit_rows
                         FROM outcome WHERE run = %L$$, run),
              $$SELECT code, operator_id, subject_key, hits, status, evidence, hit_rows
                  FROM outcome WHERE run = 'index, statement driver'$$,
              run || ': the same warnings and hits as the index read with the statement driver')
  FROM taken WHERE run <> 'index, statement driver' ORDER BY run;

\if :tracked
SELECT ok(CASE WHEN :'plain' THEN (result ->> 'window_queries')::int = 0
               ELSE (result ->> 'window_queries')::int > 0 END,
          run || CASE WHEN :'plain' THEN ': no window query, the index is read directly'
                      ELSE ': window queries, as transactions is partitioned' END)
  FROM taken WHERE index_usable ORDER BY run;
SELECT ok((result ->> 'window_queries')::int > 0, run || ': window queries')
  FROM taken WHERE NOT index_usable ORDER BY run;
\else
SELECT skip('pg_stat_statements is not in shared_preload_libraries', 6);
\endif

SELECT * FROM finish();
ROLLBACK;
