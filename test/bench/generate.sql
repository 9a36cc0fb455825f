-- generate.sql -- the project's synthetic marketplace: operators, their licences,
-- permits and list entries, reference lists and prices, and three months of
-- transactions, returns and complaints in which every red line (RL01..RL09) and
-- the TP01 tip fire now and then, as on a real platform.
--
--   psql -X -v ON_ERROR_STOP=1 -d DB [-v operators=300] [-v txns=30000]
--        [-v returns=750] [-v complaints=450] [-v seed=0.42] -f generate.sql
--
-- Writes schema bench_data (dropped first); load.sql (this folder) copies it into
-- the extension's tables. Nothing here needs the extension. Tables:
--   regulated_categories, prohibited_categories, prohibited_terms, absolute_terms,
--   return_exempt_categories, reference_prices   the lists the data is made for
--   operators (+ kind: what is planted on it; in_sandbox: to be admitted)
--   operator_lists                               abnormal and dishonest entries
--   op_gen (operator_id, n_items), items         also read by growth.sql
--   transactions, returns, complaints            with arrival: one numbering
--                                                of the three tables, 1..total,
--                                                the order rows reach the database
-- Ids (txn_id, return_id, complaint_id) grow with arrival in each table.
--
-- Deterministic: every choice is u(key, stream), a hash of the row's key, the
-- stream and the seed, so the data depends on neither plan nor row order. Same
-- seed and scale, same data. returns and complaints default to 2.5 % and 1.5 %
-- of txns. At least 50 operators and 2,000 transactions: below that a red line
-- may find nothing to fire on.
--
-- What fires (rates of the default scale; a few cases of each are planted at any
-- scale, the rest drawn at the rates below):
--   RL01  sales of unknown operators (0.1 % of sales), and of operators (shares
--         of the operators) with no licence (0.5 %), registered during the period
--         (0.5 %), whose licence ended (1 %), or selling a regulated category
--         without its permit (1 %)
--   TP01  licences ending within 30 days of a sale (the same 1 %, before the end)
--   RL02  operators put on the abnormal list during the period (1 %, some taken
--         off again) or on the dishonest list before it (0.3 %)
--   RL03  items in a prohibited category or with a prohibited term (象牙, IVORY)
--   RL04  brushing: 8-12 orders from different buyers to one address within an
--         hour or so (0.4 % of 12-order blocks); near misses of 5-6 orders as well
--   RL05  false discounts (0.1 % of sales claim a list price far above the
--         item's recent prices); honest discounts (0.6 %) rarely hit
--   RL06  titles with an absolute term (0.5 % of items); a few sandbox members
--         have two such items: a tip on the first, a warning clue on the second
--   RL07  refused returns (4 % of returns; exempt categories and late requests
--         among them do not count)
--   RL08  complaint surges: 7 complaints within 8 days (0.5 % of operators)
--   RL09  items with a reference price (2 %), a third of them sold above it by
--         60-150 % from some day on; a tenth of face masks above the category's
--         price of 20
-- Sandbox members (in_sandbox): 60 % of the operators with nothing planted on
-- them, admitted before the events arrive, so that a first tolerable slip
-- (RL05, RL06, RL07) becomes a tip.
-- Time: 2025-01-01 to 2025-03-31 (+08); 1 % of sales arrive up to 2 hours late.

\set ON_ERROR_STOP on
\if :{?operators}  \else \set operators 300    \endif
\if :{?txns}       \else \set txns 30000       \endif
\if :{?returns}    \else SELECT :txns * 25 / 1000 AS returns \gset \endif
\if :{?complaints} \else SELECT :txns * 15 / 1000 AS complaints \gset \endif
\if :{?seed}       \else \set seed 0.42        \endif
SET client_min_messages = warning;
SET TimeZone = 'Asia/Shanghai';

SELECT :operators::int >= 50 AND :txns::bigint >= 2000 AND :returns::bigint >= 0
       AND :complaints::bigint >= 0 AS scale_ok \gset
\if :scale_ok
\else
\warn 'generate.sql: need operators >= 50 and txns >= 2000'
SELECT 1 / 0 AS scale_too_small;
\endif

DROP SCHEMA IF EXISTS bench_data CASCADE;
CREATE SCHEMA bench_data;
SET search_path = bench_data, pg_catalog;

-- u(key, stream): uniform in [0, 1), 52 bits of md5(seed/stream/key); the seed
-- is text, so any value gives data of its own.
CREATE FUNCTION u(k bigint, stream bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ('x' || substr(md5(:'seed' || '/' || stream || '/' || k), 1, 13))::bit(52)::bigint
           / 4503599627370496.0;
-- element of a non-empty array picked by x in [0, 1)
CREATE FUNCTION pick(a anyarray, x double precision) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT a[1 + floor(x * cardinality(a))::int]';

-- ------------------------------------------------------------ reference lists
-- The extension's default lists, so that the data means the same in a fresh
-- installation; face masks get a category reference price (RL09).
CREATE TABLE regulated_categories (category text PRIMARY KEY, permit text NOT NULL);
INSERT INTO regulated_categories VALUES
    ('food', 'food_business'), ('alcohol', 'alcohol_retail'), ('medicine', 'drug_trading'),
    ('medical_device', 'medical_device'), ('tobacco', 'tobacco_retail');
CREATE TABLE prohibited_categories (category text PRIMARY KEY);
INSERT INTO prohibited_categories VALUES ('firearms'), ('wildlife_products'), ('counterfeit_currency');
CREATE TABLE prohibited_terms (term text PRIMARY KEY);
INSERT INTO prohibited_terms VALUES ('象牙'), ('仿真枪'), ('假币'), ('穿山甲'), ('ivory'), ('replica gun');
CREATE TABLE absolute_terms (term text PRIMARY KEY);
INSERT INTO absolute_terms VALUES ('最佳'), ('国家级'), ('第一'), ('最高级'), ('顶级'), ('best in the world'), ('No.1');
CREATE TABLE return_exempt_categories (category text PRIMARY KEY);
INSERT INTO return_exempt_categories VALUES ('custom_made'), ('fresh_produce'), ('digital_goods'), ('opened_software');

-- What is sold: weight (of 100), price range, title stems.
CREATE TABLE categories (category text PRIMARY KEY, weight int, lo numeric, hi numeric, stems text[]);
INSERT INTO categories VALUES
    ('books',          18,  12,   90, '{中文图书,长篇小说,英语教材,儿童绘本}'),
    ('clothing',       16,  40,  400, '{纯棉T恤,羽绒服,运动鞋,连衣裙}'),
    ('household',      14,  10,  200, '{不锈钢锅,收纳盒,毛巾套装,LED desk lamp}'),
    ('electronics',    12,  80, 3000, '{蓝牙耳机,充电宝,机械键盘,USB-C cable}'),
    ('toys',            8,  15,  300, '{积木,遥控车,毛绒玩具,拼图}'),
    ('food',            8,  10,  120, '{坚果礼盒,绿茶,蜂蜜,月饼}'),
    ('fresh_produce',   5,   8,   80, '{有机蔬菜,新鲜水果,冷鲜牛肉}'),
    ('face_masks',      5,  12,   18, '{一次性口罩,N95口罩}'),
    ('custom_made',     4,  50,  500, '{定制相框,刻字钢笔}'),
    ('digital_goods',   4,   5,  100, '{电子书,软件激活码}'),
    ('alcohol',         3,  60,  900, '{白酒,红葡萄酒,精酿啤酒}'),
    ('medicine',        3,  15,  200, '{感冒药,维生素片,创可贴}');
-- cumulative weights: a category is the one whose [c_lo, c_hi) holds 100 * u
CREATE TABLE category_draw AS
SELECT category, lo, hi, stems,
       sum(weight) OVER (ORDER BY weight DESC, category) - weight AS c_lo,
       sum(weight) OVER (ORDER BY weight DESC, category) AS c_hi
  FROM categories;

-- ------------------------------------------------------------ operators
-- Six operators spread over the index range (every g-th from r) carry one
-- planted fault each whatever the scale, as do a few after them (r + 1 ... r +
-- 4); the others draw theirs.
SELECT greatest(:operators / 8, 7) AS g, greatest(:operators / 8, 7) / 3 AS r \gset
CREATE TABLE op_gen AS
SELECT idx,
       'OP' || lpad(idx::text, 6, '0') AS operator_id,
       CASE WHEN idx % :g = :r AND idx / :g < 6
            THEN (ARRAY['no_licence', 'late_registration', 'expiring', 'abnormal',
                        'dishonest', 'missing_permit'])[1 + idx / :g]
            WHEN x < 0.005 THEN 'no_licence'
            WHEN x < 0.010 THEN 'late_registration'
            WHEN x < 0.020 THEN 'expiring'
            WHEN x < 0.030 THEN 'abnormal'
            WHEN x < 0.033 THEN 'dishonest'
            WHEN x < 0.043 THEN 'missing_permit'
            ELSE 'ordinary' END AS kind,
       3 + floor(u(idx, 2) * 8)::int AS n_items,
       -- two absolute-term items (tip, then warning clue) and two with a gouged
       -- reference price: planted on ordinary operators
       (idx % :g = :r + 1 AND idx / :g < 3) AS two_absolute,
       (idx % :g = :r + 2 AND idx / :g < 2) AS gouger,
       (idx % :g = :r + 3 AND idx / :g < 2) OR u(idx, 3) < 0.005 AS surge,
       (idx % :g = :r + 4 AND idx / :g < 2) AS prohibited
  FROM (SELECT idx, u(idx, 1) AS x FROM generate_series(1, :operators) idx) o;
ALTER TABLE op_gen ADD PRIMARY KEY (operator_id);
UPDATE op_gen SET kind = 'ordinary' WHERE two_absolute OR gouger;

-- ------------------------------------------------------------ items
CREATE TABLE items AS
SELECT o.operator_id, o.idx, k, o.operator_id || '-' || k AS item_id,
       c.category, round(c.lo + (c.hi - c.lo) * u(o.idx * 100 + k, 11)::numeric, 2) AS base,
       c.stems, u(o.idx * 100 + k, 12) AS x_title,
       u(o.idx * 100 + k, 13) AS x_special
  FROM op_gen o
 CROSS JOIN generate_series(1, o.n_items) k
 CROSS JOIN LATERAL (SELECT d.* FROM category_draw d
                      WHERE CASE WHEN o.kind = 'missing_permit' AND k = 1 THEN d.category = 'food'
                                 ELSE 100 * u(o.idx * 100 + k, 10) >= d.c_lo
                                      AND 100 * u(o.idx * 100 + k, 10) < d.c_hi END) c;
ALTER TABLE items ADD PRIMARY KEY (operator_id, k);
ALTER TABLE items
    ADD COLUMN item_title text, ADD COLUMN prohibited boolean, ADD COLUMN absolute boolean,
    ADD COLUMN ref_price numeric, ADD COLUMN ref_valid_to date,
    ADD COLUMN gouged boolean NOT NULL DEFAULT false, ADD COLUMN gouge_from timestamptz;
UPDATE items i SET
    prohibited = (o.prohibited AND i.k = 1) OR i.x_special < 0.002,
    absolute = (o.two_absolute AND i.k <= 2) OR (i.x_special >= 0.002 AND i.x_special < 0.007)
  FROM op_gen o WHERE o.operator_id = i.operator_id;
UPDATE items SET category = 'wildlife_products', base = 680 WHERE prohibited AND x_title < 0.5;
UPDATE items SET item_title = CASE
    WHEN prohibited AND category = 'wildlife_products' THEN '象牙雕刻摆件'
    WHEN prohibited THEN 'Carved IVORY bracelet'
    WHEN absolute THEN pick(stems, x_title) || ' '
                       || pick(ARRAY['最佳品质', '国家级认证', '销量第一', 'Best In The World'], u(idx * 100 + k, 14))
    ELSE pick(stems, x_title) || ' ' || upper(substr(md5(item_id), 1, 4)) END;
-- Item reference prices: 2 % of items (and the planted gougers' first two), at the
-- item's usual price; a third of them are sold 60-150 % above it from gouge_from
-- on; a fifth of the prices end during the period (later sales are not judged).
UPDATE items i SET ref_price = i.base,
       ref_valid_to = CASE WHEN u(i.idx * 100 + i.k, 16) < 0.2 THEN date '2025-03-05' END,
       gouged = o.gouger OR u(i.idx * 100 + i.k, 17) < 0.33,
       gouge_from = timestamptz '2025-01-10 00:00+08' + u(i.idx * 100 + i.k, 18) * interval '60 days'
  FROM op_gen o
 WHERE o.operator_id = i.operator_id AND i.category NOT IN ('face_masks', 'wildlife_products')
   AND ((o.gouger AND i.k <= 2) OR u(i.idx * 100 + i.k, 15) < 0.02);
-- Face masks: the category's price (20) judges them; 10 % of mask items are
-- sold at 32-45 from gouge_from on.
UPDATE items SET gouged = true,
       gouge_from = timestamptz '2025-01-20 00:00+08' + u(idx * 100 + k, 18) * interval '45 days'
 WHERE category = 'face_masks' AND u(idx * 100 + k, 17) < 0.10;
UPDATE items SET gouged = false WHERE ref_valid_to IS NOT NULL AND gouge_from >= ref_valid_to;

CREATE TABLE reference_prices (item_id text, category text, price numeric NOT NULL,
                               valid_from date, valid_to date);
INSERT INTO reference_prices VALUES (NULL, 'face_masks', 20, date '2024-01-01', NULL);
INSERT INTO reference_prices
SELECT item_id, NULL, ref_price, date '2024-01-01', ref_valid_to
  FROM items WHERE ref_price IS NOT NULL ORDER BY operator_id, k;

-- ------------------------------------------------------------ the regulator's data
CREATE TABLE operators AS
SELECT o.operator_id, o.kind,
       '商户' || o.idx AS name,
       'District-' || (1 + o.idx % 16) AS region,
       CASE WHEN o.kind = 'late_registration'
            THEN date '2025-01-20' + floor(u(o.idx, 20) * 40)::int
            ELSE date '2015-01-01' + floor(u(o.idx, 20) * 3200)::int END AS registered_on,
       CASE WHEN o.kind = 'no_licence' THEN NULL
            WHEN o.kind = 'expiring' THEN date '2025-02-10' + floor(u(o.idx, 21) * 60)::int
            ELSE date '2030-01-01' + floor(u(o.idx, 21) * 3000)::int END AS licence_valid_until,
       coalesce(p.permits, '{}') AS permits,
       o.kind = 'ordinary' AND NOT o.surge
           AND (o.two_absolute OR u(o.idx, 22) < 0.6) AS in_sandbox
  FROM op_gen o
  LEFT JOIN (SELECT i.operator_id, array_agg(DISTINCT r.permit ORDER BY r.permit) AS permits
               FROM items i JOIN regulated_categories r USING (category)
              GROUP BY i.operator_id) p USING (operator_id);
-- the missing permit is the one its first item (food) needs
UPDATE operators SET permits = array_remove(permits, 'food_business') WHERE kind = 'missing_permit';
ALTER TABLE operators ADD PRIMARY KEY (operator_id);

CREATE TABLE operator_lists AS
SELECT o.operator_id, 'abnormal'::text AS list,
       date '2025-02-01' + floor(u(o.idx, 30) * 30)::int AS listed_on,
       CASE WHEN u(o.idx, 31) < 0.5 THEN date '2025-02-01' + floor(u(o.idx, 30) * 30)::int + 21 END AS removed_on
  FROM op_gen o WHERE o.kind = 'abnormal'
UNION ALL
SELECT o.operator_id, 'dishonest', date '2024-06-01' + floor(u(o.idx, 30) * 200)::int, NULL
  FROM op_gen o WHERE o.kind = 'dishonest';

-- ------------------------------------------------------------ transactions
-- Sale i arrives at start + (i - 0.5) / txns of the 90 days. Sales come in blocks
-- of 12: a brushing block sends its first 8-12 orders to one address of one
-- operator, a near miss its first 5-6.
CREATE TABLE tx AS
WITH s AS (
  SELECT i, (i - 1) / 12 AS b, (i - 1) % 12 AS pos,
         timestamptz '2025-01-01 00:00+08' + ((i - 0.5) / :txns) * interval '90 days' AS arrives
    FROM generate_series(1, :txns::bigint) i
), r AS (
  SELECT s.*,
         CASE WHEN s.b = 3 OR u(s.b, 40) < 0.004 THEN 8 + floor(u(s.b, 41) * 5)::int
              WHEN s.b = 7 OR u(s.b, 40) < 0.008 THEN 5 + floor(u(s.b, 41) * 2)::int
              ELSE 0 END > s.pos AS brushing
    FROM s
)
SELECT r.i, r.b, r.pos, r.brushing, r.arrives,
       CASE WHEN u(r.i, 44) < 0.01 THEN r.arrives - u(r.i, 45) * interval '2 hours'
            ELSE r.arrives END AS occurred_at,
       CASE WHEN r.brushing THEN 1 + floor(u(r.b, 42) * :operators)::int
            WHEN r.i = 11 OR u(r.i, 43) < 0.001 THEN NULL
            ELSE least(:operators, 1 + floor(:operators * power(u(r.i, 46), 1.4))::int) END AS idx,
       CASE WHEN r.i = 11 OR u(r.i, 43) < 0.001
            THEN 'OPX' || lpad((1 + floor(u(r.i, 47) * 50))::text, 3, '0') END AS unknown_op
  FROM r;

CREATE TABLE transactions AS
SELECT t.i AS txn_id, coalesce(o.operator_id, t.unknown_op) AS operator_id, t.occurred_at,
       CASE WHEN t.brushing THEN 'SB' || t.b || '-' || t.pos
            ELSE 'B' || floor(u(t.i, 50) * greatest(2 * :txns, 10000))::bigint END AS buyer_id,
       CASE WHEN t.brushing THEN substr(md5('brush/' || :'seed' || '/' || t.b), 1, 16)
            WHEN u(t.i, 51) < 0.02 THEN NULL          -- picked up in a shop
            ELSE substr(md5('addr/' || floor(u(t.i, 50) * greatest(2 * :txns, 10000))::bigint), 1, 16) END AS ship_to,
       coalesce(it.item_id, t.unknown_op || '-1') AS item_id,
       coalesce(it.item_title, '二手书') AS item_title,
       coalesce(it.category, 'books') AS category,
       1 + floor(power(u(t.i, 52), 3) * 4)::int AS quantity,
       CASE WHEN it.item_id IS NULL THEN 25
            WHEN it.gouged AND t.occurred_at >= it.gouge_from AND it.category = 'face_masks'
                 THEN round(32 + 13 * u(t.i, 53)::numeric, 2)
            WHEN it.gouged AND t.occurred_at >= it.gouge_from
                 THEN round(it.base * (1.6 + 0.9 * u(t.i, 53)::numeric), 2)
            WHEN d.x >= 0.001 AND d.x < 0.007 THEN round(it.base * 0.85, 2)
            ELSE round(it.base * (1 + 0.1 * u(t.i, 53)::numeric), 2) END AS unit_price,
       CASE WHEN it.item_id IS NULL OR (it.gouged AND t.occurred_at >= it.gouge_from) THEN NULL
            WHEN d.x < 0.001 OR t.i % 10007 = 1000 THEN round(it.base * 1.6, 2)   -- false
            WHEN d.x < 0.007 THEN it.base                                         -- honest
            END AS list_price,
       t.arrives
  FROM tx t
  LEFT JOIN op_gen o ON o.idx = t.idx
  LEFT JOIN items it ON it.operator_id = o.operator_id
                    AND it.k = 1 + floor(u(t.i, 48) * o.n_items)::int
 CROSS JOIN LATERAL (SELECT u(t.i, 49) AS x) d;
DROP TABLE tx;

-- ------------------------------------------------------------ returns
-- A return of one of the first 90 % of sales, delivered 1-4 days after it,
-- requested 0-12 days after delivery (most within 7): 80 % refunded, 16 %
-- pending, 4 % refused (return 5: refused whatever the draw).
CREATE TABLE returns AS
SELECT r.n, t.txn_id, t.operator_id, t.category, d.delivered_at,
       d.delivered_at + power(u(r.n, 62), 2) * interval '12 days' AS requested_at,
       CASE WHEN r.n = 5 OR u(r.n, 63) < 0.04 THEN 'refused'
            WHEN u(r.n, 63) < 0.20 THEN 'pending' ELSE 'refunded' END AS outcome
  FROM generate_series(1, :returns::bigint) r(n)
  JOIN transactions t ON t.txn_id = 1 + floor(u(r.n, 60) * 0.9 * :txns)::bigint
 CROSS JOIN LATERAL (SELECT t.occurred_at + (1 + 3 * u(r.n, 61)) * interval '1 day' AS delivered_at) d;

-- ------------------------------------------------------------ complaints
-- Surging operators get 7 complaints within 8 days from a day between 20 Feb and
-- 17 Mar (as many as the complaints allow); the rest fall on operators evenly,
-- at any time of the period, a few on unknown operators.
CREATE TABLE complaints AS
WITH surge AS (
  SELECT operator_id, idx, row_number() OVER (ORDER BY idx) AS s FROM op_gen WHERE surge
)
SELECT c.n,
       coalesce(s.operator_id, o.operator_id, 'OPX' || lpad((1 + floor(u(c.n, 72) * 50))::text, 3, '0')) AS operator_id,
       CASE WHEN s.operator_id IS NOT NULL
            THEN timestamptz '2025-02-20 09:00+08' + u(s.idx, 73) * interval '25 days'
                 + u(c.n, 74) * interval '8 days'
            ELSE timestamptz '2025-01-01 00:00+08' + u(c.n, 74) * interval '90 days' END AS received_at,
       pick(ARRAY['12315 hotline', 'online form', 'letter', 'platform'], u(c.n, 75)) AS channel,
       pick(ARRAY['quality', 'delivery', 'refund', 'advertising', 'price'], u(c.n, 76)) AS category
  FROM generate_series(1, :complaints::bigint) c(n)
  LEFT JOIN surge s ON s.s = (c.n - 1) / 7 + 1
  LEFT JOIN op_gen o ON s.operator_id IS NULL AND u(c.n, 71) >= 0.01
                    AND o.idx = 1 + floor(u(c.n, 70) * :operators)::int;

-- ------------------------------------------------------------ arrival order
-- A sale arrives at its slot (late ones carry an earlier occurred_at), a return
-- when requested, a complaint when received; ties: sales, returns, complaints.
CREATE TABLE arrivals AS
SELECT tab, key, row_number() OVER (ORDER BY at, tab, key) AS arrival
  FROM (SELECT 1 AS tab, txn_id AS key, arrives AS at FROM transactions
        UNION ALL SELECT 2, n, requested_at FROM returns
        UNION ALL SELECT 3, n, received_at FROM complaints) a;
CREATE INDEX ON arrivals (tab, key);

ALTER TABLE transactions ADD COLUMN arrival bigint;
UPDATE transactions t SET arrival = a.arrival FROM arrivals a WHERE a.tab = 1 AND a.key = t.txn_id;
ALTER TABLE transactions DROP COLUMN arrives;

ALTER TABLE returns ADD COLUMN arrival bigint, ADD COLUMN return_id bigint;
UPDATE returns r SET arrival = a.arrival FROM arrivals a WHERE a.tab = 2 AND a.key = r.n;
UPDATE returns r SET return_id = o.id
  FROM (SELECT n, row_number() OVER (ORDER BY arrival) AS id FROM returns) o WHERE o.n = r.n;
ALTER TABLE returns DROP COLUMN n;

ALTER TABLE complaints ADD COLUMN arrival bigint, ADD COLUMN complaint_id bigint;
UPDATE complaints c SET arrival = a.arrival FROM arrivals a WHERE a.tab = 3 AND a.key = c.n;
UPDATE complaints c SET complaint_id = o.id
  FROM (SELECT n, row_number() OVER (ORDER BY arrival) AS id FROM complaints) o WHERE o.n = c.n;
ALTER TABLE complaints DROP COLUMN n;
DROP TABLE arrivals, category_draw;

CREATE UNIQUE INDEX ON transactions (arrival);
CREATE UNIQUE INDEX ON returns (arrival);
CREATE UNIQUE INDEX ON complaints (arrival);
ANALYZE;
RESET search_path;
