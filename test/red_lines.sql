-- red_lines.sql -- pgTAP: every red line RL01-RL09 and the TP01 tip, each with
-- positive, negative and boundary cases (SPEC.md section 2, reference.sql I2-I13).
-- Operators 'TRL...', times in 2030.  Everything runs in one transaction that
-- is rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(118);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- =================================================================== RL01
CALL pg_temp.add_sale('TRL01-unknown', '2030-06-01 12:00+08');
SELECT is((SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id = 'TRL01-unknown'), 1::bigint,
          'RL01: the sale of an unknown operator is stored');
SELECT is((pg_temp.latest_warning('TRL01-unknown', 'RL01', 'TRL01-unknown')).evidence -> 'reasons', '["not_registered"]'::jsonb,
          'RL01: unknown operator -> not_registered (and nothing else)');
SELECT is((pg_temp.latest_warning('TRL01-unknown', 'RL01', 'TRL01-unknown')).list, 'risk_trigger', 'RL01: a warning clue');
SELECT is(pg_temp.warning_count('TRL01-unknown', 'TP01'), 0::bigint, 'TP01: never for an unknown operator');

CALL pg_temp.add_operator('TRL01-clean');
CALL pg_temp.add_sale('TRL01-clean', '2030-06-01 12:00+08', cat => 'books');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'TRL01-clean'), 0::bigint,
          'RL01 negative: registered, licensed, unregulated category -> no warning at all');

-- licence expired, judged on the legal day (Shanghai): 00:30+08 is still May 31st in UTC
CALL pg_temp.add_operator('TRL01-exp', licence => '2030-05-31');
CALL pg_temp.add_sale('TRL01-exp', '2030-06-01 00:30+08');
SELECT is((pg_temp.latest_warning('TRL01-exp', 'RL01', 'TRL01-exp')).evidence -> 'reasons', '["licence_expired"]'::jsonb,
          'RL01: licence expired the day before the sale''s legal day');
SELECT is((pg_temp.latest_warning('TRL01-exp', 'RL01', 'TRL01-exp')).evidence ->> 'sale_date', '2030-06-01',
          'RL01: evidence sale_date is the legal day');

-- the licence's last valid day (inclusive) vs the day after
CALL pg_temp.add_operator('TRL01-last', licence => '2030-06-01');
CALL pg_temp.add_sale('TRL01-last', '2030-06-01 23:59:59+08');
SELECT is(pg_temp.warning_count('TRL01-last', 'RL01'), 0::bigint, 'RL01 boundary: licence valid through its last day');
SELECT is((pg_temp.latest_warning('TRL01-last', 'TP01', 'TRL01-last')).evidence ->> 'days_left', '0',
          'TP01 boundary: tip on the licence''s last day, 0 days left');
CALL pg_temp.add_operator('TRL01-after', licence => '2030-06-01');
CALL pg_temp.add_sale('TRL01-after', '2030-06-02 00:00:00+08');
SELECT is((pg_temp.latest_warning('TRL01-after', 'RL01', 'TRL01-after')).evidence -> 'reasons', '["licence_expired"]'::jsonb,
          'RL01 boundary: first second of the day after the last valid day');
SELECT is(pg_temp.warning_count('TRL01-after', 'TP01'), 0::bigint, 'TP01 negative: no tip once the licence has expired');

CALL pg_temp.add_operator('TRL01-nolic', licence => NULL);
CALL pg_temp.add_sale('TRL01-nolic', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_warning('TRL01-nolic', 'RL01', 'TRL01-nolic')).evidence -> 'reasons', '["no_licence"]'::jsonb,
          'RL01: licence_valid_until NULL -> no_licence');
SELECT is(pg_temp.warning_count('TRL01-nolic', 'TP01'), 0::bigint, 'TP01: never without a licence');

-- permits
CALL pg_temp.add_operator('TRL01-perm');
CALL pg_temp.add_sale('TRL01-perm', '2030-06-01 12:00+08', cat => 'food');
SELECT is((pg_temp.latest_warning('TRL01-perm', 'RL01', 'TRL01-perm')).evidence -> 'reasons', '["missing_permit"]'::jsonb,
          'RL01: regulated category without the permit -> missing_permit');
SELECT is((pg_temp.latest_warning('TRL01-perm', 'RL01', 'TRL01-perm')).evidence ->> 'permit_required', 'food_business',
          'RL01: evidence names the permit required');
CALL pg_temp.add_operator('TRL01-permok', permits => '{tobacco_retail,food_business}');
CALL pg_temp.add_sale('TRL01-permok', '2030-06-01 12:00+08', cat => 'food');
SELECT is(pg_temp.warning_count('TRL01-permok', 'RL01'), 0::bigint, 'RL01 negative: the permit is held');
CALL pg_temp.add_operator('TRL01-permnull', permits => NULL);
CALL pg_temp.add_sale('TRL01-permnull', '2030-06-01 12:00+08', cat => 'alcohol');
SELECT is(pg_temp.warning_count('TRL01-permnull', 'RL01'), 1::bigint, 'RL01: permits NULL holds no permit');

-- registration date (legal day)
CALL pg_temp.add_operator('TRL01-reg', registered => '2030-06-02');
CALL pg_temp.add_sale('TRL01-reg', '2030-06-01 23:59:59+08');
SELECT is((pg_temp.latest_warning('TRL01-reg', 'RL01', 'TRL01-reg')).evidence -> 'reasons', '["not_registered"]'::jsonb,
          'RL01: sale the day before registered_on -> not_registered');
CALL pg_temp.add_operator('TRL01-reg2', registered => '2030-06-02');
CALL pg_temp.add_sale('TRL01-reg2', '2030-06-02 00:00:00+08');
SELECT is(pg_temp.warning_count('TRL01-reg2', 'RL01'), 0::bigint, 'RL01 boundary: a sale on registered_on is fine');

-- several reasons: one hit listing them all
CALL pg_temp.add_operator('TRL01-multi', licence => '2030-01-01');
CALL pg_temp.add_sale('TRL01-multi', '2030-06-01 12:00+08', cat => 'alcohol');
SELECT is((pg_temp.latest_warning('TRL01-multi', 'RL01', 'TRL01-multi')).evidence -> 'reasons',
          '["licence_expired", "missing_permit"]'::jsonb, 'RL01: all reasons of one sale in one hit');
SELECT is((pg_temp.latest_warning('TRL01-multi', 'RL01', 'TRL01-multi')).hits, 1::bigint, 'RL01: several reasons are one hit');

-- =================================================================== RL02
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on, removed_on) VALUES
    ('TRL02-a', 'abnormal', '2030-06-01', NULL),
    ('TRL02-r', 'abnormal', '2030-05-01', '2030-06-01'),
    ('TRL02-d', 'dishonest', '2029-01-01', NULL),
    ('TRL02-both', 'abnormal', '2030-01-01', NULL),
    ('TRL02-both', 'dishonest', '2030-02-01', NULL),
    ('TRL02-old', 'dishonest', '2029-01-01', '2029-12-31'),
    ('TRL02-tz', 'abnormal', '2030-06-01', NULL);
CALL pg_temp.add_operator('TRL02-a');
CALL pg_temp.add_operator('TRL02-r');
CALL pg_temp.add_operator('TRL02-d');
CALL pg_temp.add_operator('TRL02-both');
CALL pg_temp.add_operator('TRL02-old');
CALL pg_temp.add_operator('TRL02-tz');

CALL pg_temp.add_sale('TRL02-a', '2030-05-31 23:59:59+08');
SELECT is(pg_temp.warning_count('TRL02-a', 'RL02'), 0::bigint, 'RL02 boundary: the day before listed_on');
CALL pg_temp.add_sale('TRL02-a', '2030-06-01 00:00:00+08');
SELECT is((pg_temp.latest_warning('TRL02-a', 'RL02', 'TRL02-a')).evidence, '{"lists": ["abnormal"], "sale_date": "2030-06-01"}'::jsonb,
          'RL02 boundary: listed_on is included');
SELECT is((pg_temp.latest_warning('TRL02-a', 'RL02', 'TRL02-a')).list, 'risk_trigger', 'RL02: a warning clue');

CALL pg_temp.add_sale('TRL02-r', '2030-06-01 00:00:00+08');
SELECT is(pg_temp.warning_count('TRL02-r', 'RL02'), 0::bigint, 'RL02 boundary: not listed on the removal day');
CALL pg_temp.add_sale('TRL02-r', '2030-05-31 23:59:59+08');
SELECT is(pg_temp.warning_count('TRL02-r', 'RL02'), 1::bigint, 'RL02 boundary: listed on the day before removed_on');

CALL pg_temp.add_sale('TRL02-d', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_warning('TRL02-d', 'RL02', 'TRL02-d')).evidence -> 'lists', '["dishonest"]'::jsonb, 'RL02: dishonest list');
CALL pg_temp.add_sale('TRL02-both', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_warning('TRL02-both', 'RL02', 'TRL02-both')).evidence -> 'lists', '["abnormal", "dishonest"]'::jsonb,
          'RL02: both lists in one hit');
SELECT is(pg_temp.warning_count('TRL02-both', 'RL02'), 1::bigint, 'RL02: both lists are one warning');
CALL pg_temp.add_sale('TRL02-old', '2030-06-01 12:00+08');
SELECT is(pg_temp.warning_count('TRL02-old', 'RL02'), 0::bigint, 'RL02 negative: entry removed before the sale');
-- 2030-05-31 16:00 UTC is June 1st 00:00 in Shanghai
CALL pg_temp.add_sale('TRL02-tz', '2030-05-31 16:00:00+00');
SELECT is(pg_temp.warning_count('TRL02-tz', 'RL02'), 1::bigint, 'RL02: listed_on judged on the legal (Shanghai) day');

-- =================================================================== RL03
CALL pg_temp.add_operator('TRL03');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:00+08', item => 'a', cat => 'firearms');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'a')).evidence,
          '{"category": "firearms", "prohibited_category": true, "terms": [], "item_title": "plain item"}'::jsonb,
          'RL03: prohibited category');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:01+08', item => 'b', title => '正品象牙摆件');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'b')).evidence -> 'terms', '["象牙"]'::jsonb, 'RL03: UTF-8 term inside a title');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'b')).evidence -> 'prohibited_category', 'false'::jsonb,
          'RL03: prohibited_category false for a term match');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:02+08', item => 'c', title => 'Genuine IVORY carving');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'c')).evidence -> 'terms', '["ivory"]'::jsonb, 'RL03: case-insensitive term');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:03+08', item => 'd', title => 'replica  gun, ivor y');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'd')).warning_id, NULL, 'RL03 negative: near misses do not match');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:04+08', item => 'e', title => 'REPLICA GUN with ivory grip');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'e')).evidence -> 'terms', '["ivory", "replica gun"]'::jsonb,
          'RL03: every matching term, in term order');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:05+08', item => 'b', title => '象牙 again', cat => 'wildlife_products');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'b')).hits, 2::bigint, 'RL03: category and term in one row: one more hit on the item');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:06+08', item => 'f', title => NULL, cat => NULL);
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'f')).warning_id, NULL, 'RL03 negative: NULL title and category');
-- terms are literal substrings: no LIKE wildcards
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('a_b'), ('50%off');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:07+08', item => 'g', title => 'axb 50 percent off');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'g')).warning_id, NULL, 'RL03: _ and % in a term are not wildcards');
CALL pg_temp.add_sale('TRL03', '2030-06-01 12:08+08', item => 'h', title => 'an A_B widget');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'h')).evidence -> 'terms', '["a_b"]'::jsonb,
          'RL03: a term added to the list applies to the next row');
SELECT is(pg_temp.warning_count('TRL03', 'RL03'), 5::bigint, 'RL03: one warning per item (a, b, c, e, h)');
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'a')).subject_key, 'a', 'RL03: the key is the item_id');
-- one statement: a row whose title matches, then a row of a prohibited category without a
-- title; the second row's evidence names no term (none of the first row's)
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, item_id, item_title, category, quantity, unit_price)
VALUES ('TRL03', '2030-06-01 12:07+08', 'b', 'k', 'ivory comb', 'misc', 1, 10),
       ('TRL03', '2030-06-01 12:08+08', 'b', 'l', NULL, 'firearms', 1, 10);
SELECT is((pg_temp.latest_warning('TRL03', 'RL03', 'l')).evidence -> 'terms', '[]'::jsonb,
          'RL03: a row without a title names no term, whatever the row before it matched');

-- =================================================================== RL04
CALL pg_temp.add_operator('TRL04');
CALL pg_temp.add_sale_series('TRL04', '2030-06-01 00:00+08', 7, '1 hour', 'S1');
SELECT is(pg_temp.warning_count('TRL04', 'RL04'), 0::bigint, 'RL04 negative: 7 orders in 24 h');
CALL pg_temp.add_sale('TRL04', '2030-06-02 00:00+08', ship => 'S1');
SELECT is(pg_temp.warning_count('TRL04', 'RL04'), 0::bigint, 'RL04 boundary: the order exactly 24 h earlier is outside (t-24h, t]');
CALL pg_temp.add_sale('TRL04', '2030-06-01 23:00+08', ship => 'S1');   -- late row: 8 in its window
SELECT is((pg_temp.latest_warning('TRL04', 'RL04', 'S1')).evidence,
          '{"ship_to": "S1", "orders": 8, "threshold": 8, "window": "24:00:00"}'::jsonb,
          'RL04: the 8th order in 24 h (late arrival counts rows stored before it)');
SELECT is((pg_temp.latest_warning('TRL04', 'RL04', 'S1')).occurred_at, '2030-06-01 23:00+08'::timestamptz,
          'RL04: occurred_at is the hitting row''s time');
CALL pg_temp.add_sale('TRL04', '2030-06-01 23:30+08', ship => 'S1');
SELECT is((pg_temp.latest_warning('TRL04', 'RL04', 'S1')).hits, 2::bigint, 'RL04: the 9th order is a second hit on the key');
CALL pg_temp.add_sale('TRL04', '2030-06-01 12:00+08', ship => 'S2');
SELECT is(pg_temp.warning_count('TRL04', 'RL04'), 1::bigint, 'RL04: another ship_to is another count');
CALL pg_temp.add_operator('TRL04-other');
CALL pg_temp.add_sale('TRL04-other', '2030-06-01 23:45+08', ship => 'S1');
SELECT is(pg_temp.warning_count('TRL04-other', 'RL04'), 0::bigint, 'RL04: orders are counted per operator');
CALL pg_temp.add_operator('TRL04-null');
CALL pg_temp.add_sale_series('TRL04-null', '2030-06-01 00:01+08', 10, '1 minute', NULL);
SELECT is(pg_temp.warning_count('TRL04-null', 'RL04'), 0::bigint, 'RL04: rows without ship_to are skipped');
CALL pg_temp.add_operator('TRL04-b');
CALL pg_temp.add_sale_series('TRL04-b', '2030-06-01 00:01+08', 8, '1 minute', 'S9');
SELECT is((pg_temp.latest_warning('TRL04-b', 'RL04', 'S9')).hits, 1::bigint, 'RL04: exactly 8 orders -> one hit (count includes the row)');
SELECT is((pg_temp.latest_warning('TRL04-b', 'RL04', 'S9')).subject_key, 'S9', 'RL04: the key is the ship_to');

-- =================================================================== RL05
CALL pg_temp.add_operator('TRL05');
CALL pg_temp.add_operator('TRL05-x');
CALL pg_temp.add_sale('TRL05', '2030-06-01 12:00+08', item => 'a', price => 80, lp => 200);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 0::bigint, 'RL05 negative: no earlier sale in the window');
CALL pg_temp.add_sale('TRL05', '2030-06-08 12:00+08', item => 'a', price => 70, lp => 90);
SELECT is((pg_temp.latest_warning('TRL05', 'RL05', 'a')).evidence,
          '{"list_price": 90, "unit_price": 70, "lowest_price": 80, "window": "7 days"}'::jsonb,
          'RL05 boundary: a sale exactly 7 days before is in [t-7d, t)');
CALL pg_temp.add_sale('TRL05', '2030-06-01 12:00+08', item => 'b', price => 100);
CALL pg_temp.add_sale('TRL05', '2030-06-02 12:00+08', item => 'b', price => 90, lp => 100);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05 boundary: list_price equal to the lowest price is no hit');
CALL pg_temp.add_sale('TRL05', '2030-06-03 12:00+08', item => 'c', price => 50);
CALL pg_temp.add_sale('TRL05', '2030-06-03 12:00+08', item => 'c', price => 50, lp => 60);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05 boundary: a sale at the same instant is not earlier (t excluded)');
CALL pg_temp.add_sale('TRL05', '2030-06-01 12:00+08', item => 'd', price => 50);
CALL pg_temp.add_sale('TRL05', '2030-06-08 12:00:01+08', item => 'd', price => 40, lp => 60);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05 boundary: 7 days + 1 s before is outside the window');
CALL pg_temp.add_sale('TRL05-x', '2030-06-01 12:00+08', item => 'e', price => 10);
CALL pg_temp.add_sale('TRL05', '2030-06-01 12:00+08', item => 'f', price => 10);
CALL pg_temp.add_sale('TRL05', '2030-06-02 12:00+08', item => 'e', price => 15, lp => 20);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05: other operators'' and other items'' sales do not count');
CALL pg_temp.add_sale('TRL05', '2030-06-01 12:00+08', item => 'h', price => 100);
CALL pg_temp.add_sale('TRL05', '2030-06-02 12:00+08', item => 'h', price => 200, lp => NULL);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05: no list_price, no discount claim');
-- late arrival: an earlier sale stored later counts for the following rows
CALL pg_temp.add_sale('TRL05', '2030-06-05 12:00+08', item => 'k', price => 100, lp => 120);
CALL pg_temp.add_sale('TRL05', '2030-06-04 12:00+08', item => 'k', price => 50);
SELECT is(pg_temp.warning_count('TRL05', 'RL05'), 1::bigint, 'RL05: a row stored later is not "earlier" for the rows before it');
CALL pg_temp.add_sale('TRL05', '2030-06-06 12:00+08', item => 'k', price => 100, lp => 60);
SELECT is((pg_temp.latest_warning('TRL05', 'RL05', 'k')).evidence ->> 'lowest_price', '50', 'RL05: lowest price of the window');
SELECT is((pg_temp.latest_warning('TRL05', 'RL05', 'k')).list, 'risk_trigger', 'RL05: a warning clue outside the sandbox');

-- =================================================================== RL06
CALL pg_temp.add_operator('TRL06');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:00+08', item => 'a', title => '最佳 耳机');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'a')).evidence, '{"terms": ["最佳"], "item_title": "最佳 耳机"}'::jsonb,
          'RL06: absolute term (UTF-8)');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:01+08', item => 'b', title => 'The Best In The World mug');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'b')).evidence -> 'terms', '["best in the world"]'::jsonb,
          'RL06: case-insensitive, terms as written in the list');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:02+08', item => 'c', title => 'NoX1 phone');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'c')).warning_id, NULL, 'RL06 negative: "." in No.1 is a literal dot');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:03+08', item => 'd', title => 'NO.1 seller');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'd')).evidence -> 'terms', '["No.1"]'::jsonb, 'RL06: NO.1 matches No.1');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:04+08', item => 'e', title => '国家级第一好茶');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'e')).evidence -> 'terms', '["国家级", "第一"]'::jsonb,
          'RL06: several terms of one title');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:05+08', item => 'f', title => NULL);
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:06+08', item => 'g', title => 'a good mug');
SELECT is(pg_temp.warning_count('TRL06', 'RL06'), 4::bigint, 'RL06 negative: NULL and plain titles');
-- case folding beyond ASCII (a title mixing CJK and uppercase Latin with accents)
INSERT INTO credit_sandbox.absolute_terms (term) VALUES ('élite qualité');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:07+08', item => 'h', title => '耳机 ÉLITE QUALITÉ 最新');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'h')).evidence -> 'terms', '["élite qualité"]'::jsonb,
          'RL06: uppercase accented letters fold as lower() folds them');
CALL pg_temp.add_sale('TRL06', '2030-06-01 12:08+08', item => 'i', title => '耳机 ELITE QUALITE');
SELECT is((pg_temp.latest_warning('TRL06', 'RL06', 'i')).warning_id, NULL, 'RL06 negative: unaccented letters are other letters');
DELETE FROM credit_sandbox.absolute_terms WHERE term = 'élite qualité';

-- =================================================================== RL07
CALL pg_temp.add_operator('TRL07');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-02 12:00+08', outcome => 'refunded');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-02 12:00+08', outcome => 'pending');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-02 12:00+08', outcome => NULL);
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-02 12:00+08', cat => 'custom_made');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-02 12:00+08', cat => 'fresh_produce');
CALL pg_temp.add_return('TRL07', NULL, '2030-06-02 12:00+08');
SELECT is(pg_temp.warning_count('TRL07', 'RL07'), 0::bigint,
          'RL07 negative: refunded, pending, no outcome, exempt categories, no delivery date');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-08 12:00:01+08');
SELECT is(pg_temp.warning_count('TRL07', 'RL07'), 0::bigint, 'RL07 boundary: requested 7 days + 1 s after delivery');
CALL pg_temp.add_return('TRL07', '2030-06-01 12:00+08', '2030-06-08 12:00:00+08', cat => NULL);
SELECT is((pg_temp.latest_warning('TRL07', 'RL07', 'TRL07')).evidence ->> 'refusals', '1',
          'RL07 boundary: requested on day 7 exactly (category NULL is not exempt)');
SELECT is((pg_temp.latest_warning('TRL07', 'RL07', 'TRL07')).list, 'risk_trigger', 'RL07: a warning clue outside the sandbox');
SELECT is((pg_temp.latest_warning('TRL07', 'RL07', 'TRL07')).source_table, 'returns', 'RL07: source_table returns');
CALL pg_temp.add_operator('TRL07-early');
CALL pg_temp.add_return('TRL07-early', '2030-06-03 12:00+08', '2030-06-01 12:00+08');
SELECT is(pg_temp.warning_count('TRL07-early', 'RL07'), 1::bigint, 'RL07: a request before delivery is within the period');
-- an UPDATE to refused is not an insert: not evaluated
CALL pg_temp.add_operator('TRL07-upd');
CALL pg_temp.add_return('TRL07-upd', '2030-06-01 12:00+08', '2030-06-02 12:00+08', outcome => 'pending');
UPDATE credit_sandbox.returns SET outcome = 'refused' WHERE operator_id = 'TRL07-upd';
SELECT is(pg_temp.warning_count('TRL07-upd', 'RL07'), 0::bigint, 'RL07: only inserted rows are checked');
-- N = 2 within 30 days
UPDATE credit_sandbox.rules SET params = '{"return_period":"7 days","window":"30 days","threshold":2}' WHERE code = 'RL07';
CALL pg_temp.add_operator('TRL07-n');
CALL pg_temp.add_return('TRL07-n', '2030-04-01 12:00+08', '2030-04-02 12:00+08');
CALL pg_temp.add_return('TRL07-n', '2030-06-01 12:00+08', '2030-06-02 12:00+08');
SELECT is(pg_temp.warning_count('TRL07-n', 'RL07'), 0::bigint, 'RL07 N=2: an older refusal outside the 30-day window');
CALL pg_temp.add_return('TRL07-n', '2030-06-01 12:00+08', '2030-06-03 12:00+08', cat => 'digital_goods');
CALL pg_temp.add_return('TRL07-n', '2030-06-01 12:00+08', '2030-06-09 12:00+08');
SELECT is(pg_temp.warning_count('TRL07-n', 'RL07'), 0::bigint, 'RL07 N=2: exempt and late refusals are not counted');
CALL pg_temp.add_return('TRL07-n', '2030-06-30 12:00+08', '2030-07-02 12:00+08');
SELECT is(pg_temp.warning_count('TRL07-n', 'RL07'), 0::bigint, 'RL07 N=2 boundary: a refusal exactly 30 days before is outside (t-W, t]');
CALL pg_temp.add_return('TRL07-n', '2030-06-01 12:00+08', '2030-06-04 12:00+08');
SELECT is((pg_temp.latest_warning('TRL07-n', 'RL07', 'TRL07-n')).evidence ->> 'refusals', '2',
          'RL07 N=2: the second qualifying refusal in 30 days fires');
SELECT is((pg_temp.latest_warning('TRL07-n', 'RL07', 'TRL07-n')).evidence ->> 'threshold', '2', 'RL07: evidence threshold');
UPDATE credit_sandbox.rules SET params = '{"return_period":"7 days","window":"30 days","threshold":1}' WHERE code = 'RL07';

-- =================================================================== RL08
CALL pg_temp.add_operator('TRL08-a');
CALL pg_temp.add_complaints('TRL08-a', '2030-06-02 12:00+08', 4, '1 day');
SELECT is(pg_temp.warning_count('TRL08-a', 'RL08'), 0::bigint, 'RL08 negative: 4 complaints in 30 days');
CALL pg_temp.add_complaints('TRL08-a', '2030-06-10 12:00+08');
SELECT is((pg_temp.latest_warning('TRL08-a', 'RL08', 'TRL08-a')).evidence,
          '{"complaints": 5, "threshold": 5, "baseline_complaints": 0, "monthly_mean": 0.0000, "factor": 3,
            "window": "30 days", "baseline": "90 days"}'::jsonb,
          'RL08: the 5th complaint without baseline');
-- baseline of 9 in the 90 days before the window: mean 3, F x mean = 9
CALL pg_temp.add_operator('TRL08-b');
CALL pg_temp.add_complaints('TRL08-b', '2030-02-18 12:00+08', 9, '8 days');
CALL pg_temp.add_complaints('TRL08-b', '2030-06-01 13:00+08', 8, '1 hour');
SELECT is(pg_temp.warning_count('TRL08-b', 'RL08'), 0::bigint, 'RL08 with baseline: 8 < 3 x 9 x 30/90 = 9');
CALL pg_temp.add_complaints('TRL08-b', '2030-06-01 21:00+08');
SELECT is((pg_temp.latest_warning('TRL08-b', 'RL08', 'TRL08-b')).evidence - 'window' - 'baseline' - 'factor' - 'threshold',
          '{"complaints": 9, "baseline_complaints": 9, "monthly_mean": 3.0000}'::jsonb,
          'RL08 boundary: c = F x b x W/B exactly fires');
-- window and baseline edges: t-W belongs to the baseline, t-W-B to neither
CALL pg_temp.add_operator('TRL08-c');
CALL pg_temp.add_complaints('TRL08-c', '2030-06-01 21:00+08'::timestamptz - interval '30 days');
CALL pg_temp.add_complaints('TRL08-c', '2030-06-01 21:00+08'::timestamptz - interval '120 days');
CALL pg_temp.add_complaints('TRL08-c', '2030-06-01 21:00+08', 4);
SELECT is(pg_temp.warning_count('TRL08-c', 'RL08'), 0::bigint, 'RL08 boundary: the complaint at exactly t-30d is not in the window');
CALL pg_temp.add_complaints('TRL08-c', '2030-06-01 21:00+08');
SELECT is((pg_temp.latest_warning('TRL08-c', 'RL08', 'TRL08-c')).evidence - 'window' - 'baseline' - 'factor' - 'threshold',
          '{"complaints": 5, "baseline_complaints": 1, "monthly_mean": 0.3333}'::jsonb,
          'RL08 boundary: t-W is in the baseline, t-W-B is not');
SELECT is((pg_temp.latest_warning('TRL08-c', 'RL08', 'TRL08-c')).source_table, 'complaints', 'RL08: source_table complaints');

-- =================================================================== RL09
INSERT INTO credit_sandbox.reference_prices (item_id, category, price, valid_from, valid_to) VALUES
    ('TRL9-i1', NULL, 100, '2030-01-01', NULL),
    ('TRL9-i2', NULL, 100, '2030-01-01', '2030-05-31'),
    (NULL, 'trl_cat', 10, '2030-01-01', NULL),
    ('TRL9-i3', NULL, 40, '2030-01-01', NULL),
    ('TRL9-i5', NULL, 100, '2030-01-01', '2030-06-01'),
    ('TRL9-i6', NULL, 100, '2030-01-01', NULL),
    ('TRL9-i6', NULL, 200, '2030-05-01', NULL),
    ('TRL9-i7', NULL, 100, '2030-06-01', NULL),
    ('TRL9-i8', NULL, 100, NULL, NULL);
CALL pg_temp.add_operator('TRL09');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i1', price => 150);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 0::bigint, 'RL09 boundary: exactly +50 % is allowed');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i1', price => 150.01);
SELECT is((pg_temp.latest_warning('TRL09', 'RL09', 'TRL9-i1')).evidence,
          '{"unit_price": 150.01, "reference_price": 100, "reference": "item", "max_markup_pct": 50}'::jsonb,
          'RL09: above +50 % of the item''s reference price');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i2', price => 1000);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 1::bigint, 'RL09 negative: the item''s price expired, no category price');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i2', cat => 'trl_cat', price => 16);
SELECT is((pg_temp.latest_warning('TRL09', 'RL09', 'TRL9-i2')).evidence ->> 'reference', 'category',
          'RL09: expired item price -> the category''s price');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i4', cat => 'trl_cat', price => 15);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 2::bigint, 'RL09 boundary: exactly +50 % of the category price');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i4', cat => 'trl_cat', price => 15.01);
SELECT is((pg_temp.latest_warning('TRL09', 'RL09', 'TRL9-i4')).evidence,
          '{"unit_price": 15.01, "reference_price": 10, "reference": "category", "max_markup_pct": 50}'::jsonb,
          'RL09: category reference price');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i3', cat => 'trl_cat', price => 60);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 3::bigint, 'RL09: the item''s price wins over the category''s');
CALL pg_temp.add_sale('TRL09', '2030-06-01 23:00+08', item => 'TRL9-i5', price => 151);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 4::bigint, 'RL09 boundary: valid_to is inclusive');
CALL pg_temp.add_sale('TRL09', '2030-06-02 00:00+08', item => 'TRL9-i5', price => 1000);
SELECT is((pg_temp.latest_warning('TRL09', 'RL09', 'TRL9-i5')).hits, 1::bigint, 'RL09 boundary: not valid the day after valid_to');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i6', price => 300);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 4::bigint, 'RL09: the latest valid_from wins (200, so 300 is allowed)');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i6', price => 300.01);
SELECT is((pg_temp.latest_warning('TRL09', 'RL09', 'TRL9-i6')).evidence ->> 'reference_price', '200', 'RL09: latest valid_from');
-- 2030-05-31 15:59:59 UTC is still May 31st in Shanghai; 16:30 is June 1st
CALL pg_temp.add_sale('TRL09', '2030-05-31 15:59:59+00', item => 'TRL9-i7', price => 1000);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 5::bigint, 'RL09 boundary: not valid before valid_from (legal day)');
CALL pg_temp.add_sale('TRL09', '2030-05-31 16:30:00+00', item => 'TRL9-i7', price => 151);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 6::bigint, 'RL09: valid from valid_from on the legal day');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-i8', price => 151);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 7::bigint, 'RL09: NULL valid_from/valid_to = open');
CALL pg_temp.add_sale('TRL09', '2030-06-01 12:00+08', item => 'TRL9-none', price => 1e6);
SELECT is(pg_temp.warning_count('TRL09', 'RL09'), 7::bigint, 'RL09 negative: no reference price at all');

-- =================================================================== TP01
CALL pg_temp.add_operator('TTP01', licence => '2030-07-01');
CALL pg_temp.add_sale('TTP01', '2030-05-31 12:00+08');
SELECT is(pg_temp.warning_count('TTP01', 'TP01'), 0::bigint, 'TP01 boundary: 31 days left -> no tip');
CALL pg_temp.add_sale('TTP01', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_warning('TTP01', 'TP01', 'TTP01')).list, 'admin_tip', 'TP01 boundary: 30 days left -> a tip');
SELECT is((pg_temp.latest_warning('TTP01', 'TP01', 'TTP01')).due_at, NULL, 'TP01: no due_at');
SELECT is((pg_temp.latest_warning('TTP01', 'TP01', 'TTP01')).evidence,
          '{"licence_valid_until": "2030-07-01", "sale_date": "2030-06-01", "days_left": 30, "expires_within": "30 days"}'::jsonb,
          'TP01: evidence');
SELECT is(pg_temp.warning_count('TTP01', 'RL01'), 0::bigint, 'TP01: a valid licence is no RL01');

-- =================================================================== legal day: Asia/Shanghai vs UTC
-- 2030-06-01 16:30 UTC is 2030-06-02 00:30 in Shanghai
CALL pg_temp.add_operator('TRL-tz1', licence => '2030-06-01');
CALL pg_temp.add_sale('TRL-tz1', '2030-06-01 16:30:00+00');
SELECT is((pg_temp.latest_warning('TRL-tz1', 'RL01', 'TRL-tz1')).evidence ->> 'sale_date', '2030-06-02',
          'legal day: Shanghai by default (the licence has expired there)');
CALL pg_temp.add_operator('TRL-tz3', licence => '2030-06-01');
SET LOCAL TimeZone = 'America/Los_Angeles';
CALL pg_temp.add_sale('TRL-tz3', '2030-06-01 16:30:00+00');
SELECT is(pg_temp.warning_count('TRL-tz3', 'RL01'), 1::bigint, 'legal day: the session TimeZone does not matter');
SET LOCAL TimeZone = 'UTC';
SET LOCAL credit_sandbox.time_zone = 'UTC';
CALL pg_temp.add_operator('TRL-tz2', licence => '2030-06-01');
CALL pg_temp.add_sale('TRL-tz2', '2030-06-01 16:30:00+00');
SELECT is(pg_temp.warning_count('TRL-tz2', 'RL01'), 0::bigint, 'legal day: credit_sandbox.time_zone = UTC -> still June 1st');
SELECT is((pg_temp.latest_warning('TRL-tz2', 'TP01', 'TRL-tz2')).evidence ->> 'sale_date', '2030-06-01',
          'legal day: TP01 on the last day under UTC');
CALL pg_temp.add_operator('TTP01-utc', licence => '2030-07-01');
CALL pg_temp.add_sale('TTP01-utc', '2030-05-31 16:00:00+00');
SELECT is(pg_temp.warning_count('TTP01-utc', 'TP01'), 0::bigint, 'legal day: 31 days left under UTC');
SET LOCAL credit_sandbox.time_zone = 'Asia/Shanghai';
CALL pg_temp.add_operator('TTP01-sh', licence => '2030-07-01');
CALL pg_temp.add_sale('TTP01-sh', '2030-05-31 16:00:00+00');
SELECT is(pg_temp.warning_count('TTP01-sh', 'TP01'), 1::bigint, 'legal day: the same instant is 30 days left in Shanghai');

-- every code was raised by this file
SELECT is((SELECT count(DISTINCT code) FROM credit_sandbox.warnings WHERE operator_id LIKE 'TRL%' OR operator_id LIKE 'TTP%'), 10::bigint,
          'all ten codes raised');

SELECT * FROM finish();
ROLLBACK;
