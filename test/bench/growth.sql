-- growth.sql -- set-based generator of a long, plausible stream of transactions for
-- the history-growth and memory benchmarks (run.sh --growth / --memory).
--
--   psql -X -v ON_ERROR_STOP=1 -d DB -v rows=10000000 [-v seed=0.42] [-v days=365] -f growth.sql
--
-- Needs the master data of generate.sql (this folder; or of the shared benchmark's
-- gen.sql, run.sh --shared) in schema bench_data (u(), op_gen, items: operators,
-- their items, titles, base and reference prices, gouging);
-- creates schema growth with table growth.src(i, <contract transaction columns>),
-- i = 1..rows in arrival order, occurred_at increasing over :days days from
-- 2025-01-01 (+08). Deterministic (hash-based), one pass, no window functions, so
-- 10 million rows take a few minutes. What the red lines find in it:
--   RL01  0.05 % of rows by unknown operators (OPX...), operators without licence,
--         regulated categories without permit (from the generator's operators)
--   RL02  listed operators (the generator's operator_lists)
--   RL03, RL06  the generator's items with prohibited or absolute terms in the title
--   RL04  brushing: 0.05 % of the 16-row blocks go to one operator and one ship_to
--   RL05  0.3 % false discount claims (list_price 1.6 x the usual price)
--   RL09  gouged items with a reference price, after their gouge date
--   TP01  licences expiring during the period
-- Ordinary rows spread over 2,000,000 buyers/addresses, operators skewed (u^1.3).

\set ON_ERROR_STOP on
\if :{?rows} \else \set rows 1000000 \endif
\if :{?seed} \else \set seed 0.42    \endif
\if :{?days} \else \set days 365     \endif
SET client_min_messages = warning;
SET TimeZone = 'Asia/Shanghai';
SELECT (abs(:seed::numeric) * 1000003)::bigint * 1000 + 500 AS salt,
       (SELECT count(*) FROM bench_data.op_gen) AS nops \gset

DROP SCHEMA IF EXISTS growth CASCADE;
CREATE SCHEMA growth;

CREATE TABLE growth.src AS
WITH r AS (
  SELECT i,
         (bench_data.u(i / 16, :salt + 1) < 0.0005) AS brush,
         bench_data.u(i, :salt + 2) AS u_op,
         bench_data.u(i, :salt + 3) AS u_item,
         floor(bench_data.u(i, :salt + 4) * 2000000)::int AS buyer,
         bench_data.u(i, :salt + 5) AS u_disc,
         bench_data.u(i, :salt + 6) AS u_price
    FROM generate_series(1, :rows::bigint) i
), o AS (
  SELECT r.*,
         CASE WHEN r.brush THEN 'OP' || lpad((1 + floor(bench_data.u(r.i / 16, :salt + 7) * :nops))::text, 6, '0')
              WHEN r.u_op < 0.0005 THEN 'OPX' || lpad((1 + floor(r.u_op * 20000))::text, 3, '0')
              ELSE 'OP' || lpad((1 + floor(:nops * (r.u_op ^ 1.3)))::text, 6, '0') END AS operator_id,
         timestamptz '2025-01-01 00:00+08'
             + ((r.i - 1)::float8 / :rows) * (:days * interval '1 day')
             + bench_data.u(r.i, :salt + 8) * interval '1 minute' AS occurred_at
    FROM r
)
SELECT o.i, o.operator_id, o.occurred_at,
       CASE WHEN o.brush THEN 'GB' || (o.i / 16) || '-' || (o.i % 16) ELSE 'B' || o.buyer END AS buyer_id,
       CASE WHEN o.brush THEN substr(md5('gbrush:' || (o.i / 16)), 1, 16)
            ELSE substr(md5('addr:' || o.buyer), 1, 16) END AS ship_to,
       coalesce(it.item_id, o.operator_id || '-1') AS item_id,
       coalesce(it.item_title, '二手书') AS item_title,
       coalesce(it.category, 'books') AS category,
       1 + floor(bench_data.u(o.i, :salt + 9) ^ 3 * 5)::int AS quantity,
       CASE WHEN it.item_id IS NULL THEN 25
            WHEN it.gouged AND o.occurred_at >= it.gouge_from
                 THEN round(CASE WHEN it.category = 'face_masks' THEN 32 + 13 * o.u_price::numeric
                                 ELSE it.base * (1.6 + 0.9 * o.u_price::numeric) END, 2)
            WHEN o.u_disc < 0.010 THEN round(it.base * 0.9, 2)
            ELSE round(it.base * (1 + 0.1 * o.u_price::numeric), 2) END AS unit_price,
       CASE WHEN it.item_id IS NULL THEN NULL
            WHEN it.gouged AND o.occurred_at >= it.gouge_from THEN NULL
            WHEN o.u_disc < 0.010 THEN it.base
            WHEN o.u_disc < 0.013 THEN round(it.base * 1.6, 2)
            END AS list_price
  FROM o
  LEFT JOIN bench_data.op_gen g ON g.operator_id = o.operator_id
  LEFT JOIN bench_data.items it ON it.operator_id = o.operator_id
                               AND it.k = 1 + floor(o.u_item * g.n_items)::int
 ORDER BY o.i;

ALTER TABLE growth.src ADD PRIMARY KEY (i);
VACUUM ANALYZE growth.src;
