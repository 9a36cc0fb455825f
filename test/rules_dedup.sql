-- rules_dedup.sql -- pgTAP: dedup of open warnings, disabled rules, tuned parameters and
-- rule versions, transactional rule and reference-list changes, term matching.
-- Operators 'TDD...', times in 2030.  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(55);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- =================================================================== dedup
-- RL01 keyed by operator: one open warning, more hits
CALL pg_temp.add_sale('TDD-u', '2030-06-01 12:00+08');
CALL pg_temp.add_sale('TDD-u', '2030-06-02 12:00+08');
SELECT is(pg_temp.warning_count('TDD-u', 'RL01'), 1::bigint, 'dedup: one open warning per (operator, code, key)');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).hits, 2::bigint, 'dedup: the second hit increments hits');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).last_hit_at, '2030-06-02 12:00+08'::timestamptz,
          'dedup: last_hit_at is the latest hit''s data time');
CALL pg_temp.add_sale('TDD-u', '2030-06-01 13:00+08');   -- arrives late
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).hits, 3::bigint, 'dedup: a late row is one more hit');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).last_hit_at, '2030-06-02 12:00+08'::timestamptz,
          'dedup: last_hit_at never moves back on a late row');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).occurred_at, '2030-06-01 12:00+08'::timestamptz,
          'dedup: occurred_at stays the first hit''s time');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).evidence ->> 'sale_date', '2030-06-01',
          'dedup: the evidence stays the first hit''s');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).source_id,
          (SELECT min(txn_id) FROM credit_sandbox.transactions WHERE operator_id = 'TDD-u'),
          'dedup: source_id stays the first hit''s row');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_hits h JOIN credit_sandbox.warnings w USING (warning_id)
            WHERE w.operator_id = 'TDD-u'), 3::bigint, 'dedup: warning_hits logs each of the 3 hits');
-- a warning that is no longer open does not absorb hits
UPDATE credit_sandbox.warnings SET status = 'acknowledged' WHERE operator_id = 'TDD-u';
CALL pg_temp.add_sale('TDD-u', '2030-06-03 12:00+08');
SELECT is(pg_temp.warning_count('TDD-u', 'RL01'), 2::bigint, 'dedup: an acknowledged warning is not open: a new warning');
SELECT is((pg_temp.latest_warning('TDD-u', 'RL01', 'TDD-u')).hits, 1::bigint, 'dedup: the new warning starts at 1 hit');
SELECT is((SELECT hits::int FROM credit_sandbox.warnings WHERE operator_id = 'TDD-u' AND status = 'acknowledged'), 3,
          'dedup: the acknowledged warning keeps its hits');
UPDATE credit_sandbox.warnings SET status = 'closed' WHERE operator_id = 'TDD-u' AND status = 'open';
CALL pg_temp.add_sale('TDD-u', '2030-06-04 12:00+08');
SELECT is(pg_temp.warning_count('TDD-u', 'RL01'), 3::bigint, 'dedup: a closed warning is not open either');
-- keys: per operator, per code, per subject_key
CALL pg_temp.add_operator('TDD-k1');
CALL pg_temp.add_operator('TDD-k2');
CALL pg_temp.add_sale('TDD-k1', '2030-06-01 12:00+08', item => 'x', title => '最佳');
CALL pg_temp.add_sale('TDD-k1', '2030-06-01 12:01+08', item => 'y', title => '最佳');
CALL pg_temp.add_sale('TDD-k1', '2030-06-01 12:02+08', item => 'x', title => '顶级');
CALL pg_temp.add_sale('TDD-k2', '2030-06-01 12:03+08', item => 'x', title => '最佳');
SELECT results_eq(
    $$SELECT operator_id, subject_key, hits::int FROM credit_sandbox.warnings
       WHERE operator_id LIKE 'TDD-k%' AND code = 'RL06' ORDER BY 1, 2$$,
    $$VALUES ('TDD-k1', 'x', 2), ('TDD-k1', 'y', 1), ('TDD-k2', 'x', 1)$$,
    'dedup: RL06 warnings per (operator, item); another term on the same item is a hit on it');
CALL pg_temp.add_operator('TDD-c', licence => '2030-06-10');
CALL pg_temp.add_sale('TDD-c', '2030-06-01 12:00+08', cat => 'food');
SELECT results_eq(
    $$SELECT code, subject_key, list FROM credit_sandbox.warnings WHERE operator_id = 'TDD-c' ORDER BY 1$$,
    $$VALUES ('RL01', 'TDD-c', 'risk_trigger'), ('TP01', 'TDD-c', 'admin_tip')$$,
    'dedup: RL01 and TP01 on the same operator key are two warnings');

-- =================================================================== disabled rule
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL04';
CALL pg_temp.add_operator('TDD-dis');
CALL pg_temp.add_sale_series('TDD-dis', '2030-06-01 00:01+08', 9, '1 minute', 'S1');
SELECT is(pg_temp.warning_count('TDD-dis', 'RL04'), 0::bigint, 'disabled rule: no hit');
UPDATE credit_sandbox.rules SET enabled = true WHERE code = 'RL04';
CALL pg_temp.add_sale('TDD-dis', '2030-06-01 00:10+08', ship => 'S1');
SELECT is((pg_temp.latest_warning('TDD-dis', 'RL04', 'S1')).evidence ->> 'orders', '10',
          'disabled rule: the rows were stored, and count once it is enabled again');
UPDATE credit_sandbox.rules SET enabled = false WHERE code IN ('RL01', 'RL07', 'RL08');
CALL pg_temp.add_sale('TDD-dis-unknown', '2030-06-01 12:00+08');
CALL pg_temp.add_return('TDD-dis', '2030-06-01 12:00+08', '2030-06-02 12:00+08');
CALL pg_temp.add_complaints('TDD-dis', '2030-06-01 12:00+08', 6);
SELECT is((SELECT count(*) FROM credit_sandbox.warnings
            WHERE operator_id LIKE 'TDD-dis%' AND code IN ('RL01', 'RL07', 'RL08')), 0::bigint,
          'disabled rules: RL01 (transactions), RL07 (returns), RL08 (complaints) silent');
UPDATE credit_sandbox.rules SET enabled = true WHERE code IN ('RL01', 'RL07', 'RL08');
CALL pg_temp.add_complaints('TDD-dis', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_warning('TDD-dis', 'RL08', 'TDD-dis')).evidence ->> 'complaints', '7', 'RL08 enabled again: counts the stored complaints');

-- =================================================================== tuned parameters
SELECT version AS rl04_v0 FROM credit_sandbox.rules WHERE code = 'RL04' \gset
CALL pg_temp.add_operator('TDD-t');
CALL pg_temp.add_sale_series('TDD-t', '2030-06-01 00:01+08', 8, '1 minute', 'S0');
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 3}' WHERE code = 'RL04';
SELECT is((SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'), :rl04_v0 + 1,
          'tuning: a params change bumps the version by 1');
SELECT is((SELECT params FROM credit_sandbox.rule_history WHERE code = 'RL04' AND version = :rl04_v0 + 1),
          '{"window": "24 hours", "threshold": 3}'::jsonb, 'tuning: the new version is in rule_history');
CALL pg_temp.add_sale_series('TDD-t', '2030-06-01 00:01+08', 3, '1 minute', 'S1');
SELECT is((pg_temp.latest_warning('TDD-t', 'RL04', 'S1')).hits, 1::bigint, 'tuning: threshold 3 applies to the next rows');
SELECT is((pg_temp.latest_warning('TDD-t', 'RL04', 'S1')).evidence ->> 'threshold', '3', 'tuning: evidence has the new threshold');
SELECT is((pg_temp.latest_warning('TDD-t', 'RL04', 'S1')).rule_version, :rl04_v0 + 1, 'tuning: the warning records the new version');
SELECT is((pg_temp.latest_warning('TDD-t', 'RL04', 'S0')).rule_version, :rl04_v0, 'tuning: the earlier warning keeps the old version');
UPDATE credit_sandbox.rules SET params = '{"window": "1 hour", "threshold": 3}' WHERE code = 'RL04';
CALL pg_temp.add_sale('TDD-t', '2030-06-01 00:00+08', ship => 'S2');
CALL pg_temp.add_sale('TDD-t', '2030-06-01 01:00+08', ship => 'S2');
CALL pg_temp.add_sale('TDD-t', '2030-06-01 01:30+08', ship => 'S2');
SELECT is(pg_temp.warning_count('TDD-t', 'RL04') - 2, 0::bigint, 'tuning: window 1 hour (t-1h excluded)');
UPDATE credit_sandbox.rules SET title = 'order brushing (renamed)' WHERE code = 'RL04';
SELECT is((SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'), :rl04_v0 + 2,
          'versions: a title change is no new version');
UPDATE credit_sandbox.rules SET params = '{"threshold": 3, "window": "1 hour"}' WHERE code = 'RL04';
SELECT is((SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'), :rl04_v0 + 2,
          'versions: the same params (another key order) are no new version');
UPDATE credit_sandbox.rules SET tolerable = true WHERE code = 'RL04';
SELECT is((SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'), :rl04_v0 + 3, 'versions: tolerable bumps');
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL04';
SELECT is((SELECT version FROM credit_sandbox.rules WHERE code = 'RL04'), :rl04_v0 + 4, 'versions: enabled bumps');
SELECT is((SELECT array_agg(version ORDER BY version) FROM credit_sandbox.rule_history
            WHERE code = 'RL04' AND version > :rl04_v0),
          ARRAY[:rl04_v0 + 1, :rl04_v0 + 2, :rl04_v0 + 3, :rl04_v0 + 4], 'versions: every version in rule_history');
UPDATE credit_sandbox.rules SET enabled = true, tolerable = false, params = '{"window": "24 hours", "threshold": 8}'
 WHERE code = 'RL04';

-- other parameters
CALL pg_temp.add_operator('TDD-p', licence => '2030-07-16');
INSERT INTO credit_sandbox.reference_prices (item_id, category, price, valid_from, valid_to)
VALUES ('TDD-p1', NULL, 100, NULL, NULL), ('TDD-p2', NULL, 100, NULL, NULL);
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 0}' WHERE code = 'RL09';
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08', item => 'TDD-p1', price => 100);
SELECT is(pg_temp.warning_count('TDD-p', 'RL09'), 0::bigint, 'RL09 max_markup_pct 0: the reference price itself is allowed');
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08', item => 'TDD-p1', price => 100.01);
SELECT is(pg_temp.warning_count('TDD-p', 'RL09'), 1::bigint, 'RL09 max_markup_pct 0: any markup fires');
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 10.5}' WHERE code = 'RL09';
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08', item => 'TDD-p2', price => 110.5);
SELECT is(pg_temp.warning_count('TDD-p', 'RL09'), 1::bigint, 'RL09 max_markup_pct 10.5: exactly +10.5 % allowed');
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08', item => 'TDD-p2', price => 110.51);
SELECT is((pg_temp.latest_warning('TDD-p', 'RL09', 'TDD-p2')).evidence ->> 'max_markup_pct', '10.5',
          'RL09 max_markup_pct 10.5: fires above, evidence has the parameter');
UPDATE credit_sandbox.rules SET params = '{"lookback": "1 day"}' WHERE code = 'RL05';
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08', item => 'l', price => 50);
CALL pg_temp.add_sale('TDD-p', '2030-06-02 12:00:01+08', item => 'l', price => 50, lp => 60);
SELECT is(pg_temp.warning_count('TDD-p', 'RL05'), 0::bigint, 'RL05 lookback 1 day: a sale 1 day + 1 s before is out');
CALL pg_temp.add_sale('TDD-p', '2030-06-03 12:00:01+08', item => 'l', price => 50, lp => 60);
SELECT is((pg_temp.latest_warning('TDD-p', 'RL05', 'l')).evidence ->> 'window', '1 day', 'RL05 lookback 1 day: exactly 1 day before is in');
UPDATE credit_sandbox.rules SET params = '{"expires_within": "45 days"}' WHERE code = 'TP01';
CALL pg_temp.add_sale('TDD-p', '2030-05-31 12:00+08');    -- 46 days left
SELECT is(pg_temp.warning_count('TDD-p', 'TP01'), 0::bigint, 'TP01 expires_within 45 days: 46 days left, no tip');
CALL pg_temp.add_sale('TDD-p', '2030-06-01 12:00+08');    -- 45 days left
SELECT is((pg_temp.latest_warning('TDD-p', 'TP01', 'TDD-p')).evidence ->> 'days_left', '45', 'TP01 expires_within 45 days: 45 days left, tip');
UPDATE credit_sandbox.rules SET params = '{"return_period": "14 days", "window": "30 days", "threshold": 1}' WHERE code = 'RL07';
CALL pg_temp.add_return('TDD-p', '2030-06-01 12:00+08', '2030-06-15 12:00:01+08');
SELECT is(pg_temp.warning_count('TDD-p', 'RL07'), 0::bigint, 'RL07 return_period 14 days: 14 days + 1 s is late');
CALL pg_temp.add_return('TDD-p', '2030-06-01 12:00+08', '2030-06-15 12:00+08');
SELECT is(pg_temp.warning_count('TDD-p', 'RL07'), 1::bigint, 'RL07 return_period 14 days: day 14 counts');
UPDATE credit_sandbox.rules SET params = '{"window": "30 days", "threshold": 2, "factor": 0, "baseline": "90 days"}'
 WHERE code = 'RL08';
CALL pg_temp.add_complaints('TDD-p', '2030-03-01 12:00+08', 20, '1 day');
SELECT is(pg_temp.warning_count('TDD-p', 'RL08'), 1::bigint, 'RL08 threshold 2: the 2nd complaint fires');
CALL pg_temp.add_operator('TDD-f');
-- the baseline complaints are stored while RL08 is off
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL08';
CALL pg_temp.add_complaints('TDD-f', '2030-06-01 12:00+08', 2);
UPDATE credit_sandbox.rules SET enabled = true,
       params = '{"window": "1 day", "threshold": 1, "factor": 1.5, "baseline": "2 days"}' WHERE code = 'RL08';
-- baseline b = 2 in (t-3d, t-1d]: F x b x W/B = 1.5 x 2 x 1/2 = 1.5, so c = 1 is below, c = 2 fires
CALL pg_temp.add_complaints('TDD-f', '2030-06-02 13:00+08');
SELECT is(pg_temp.warning_count('TDD-f', 'RL08'), 0::bigint, 'RL08 factor 1.5: 1 < 1.5 x 2 x 1/2');
CALL pg_temp.add_complaints('TDD-f', '2030-06-02 14:00+08');
SELECT is((pg_temp.latest_warning('TDD-f', 'RL08', 'TDD-f')).evidence - 'window' - 'baseline' - 'threshold',
          '{"complaints": 2, "baseline_complaints": 2, "monthly_mean": 1.0000, "factor": 1.5}'::jsonb,
          'RL08 factor 1.5: 2 >= 1.5 fires');

-- =================================================================== transactional changes
-- a change applies to the next row of the same transaction, and reverts with a rollback
SAVEPOINT tune;
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 2}' WHERE code = 'RL04';
CALL pg_temp.add_operator('TDD-sp');
CALL pg_temp.add_sale_series('TDD-sp', '2030-06-01 00:01+08', 2, '1 minute', 'S1');
SELECT is(pg_temp.warning_count('TDD-sp', 'RL04'), 1::bigint, 'transactional: threshold 2 applies at once');
ROLLBACK TO SAVEPOINT tune;
SELECT is((SELECT params ->> 'threshold' FROM credit_sandbox.rules WHERE code = 'RL04'), '8',
          'transactional: the rollback restored the parameter');
CALL pg_temp.add_operator('TDD-sp');
CALL pg_temp.add_sale_series('TDD-sp', '2030-06-01 00:01+08', 7, '1 minute', 'S1');
SELECT is(pg_temp.warning_count('TDD-sp', 'RL04'), 0::bigint, 'transactional: after the rollback the old threshold applies again');
CALL pg_temp.add_sale('TDD-sp', '2030-06-01 00:08+08', ship => 'S1');
SELECT is((pg_temp.latest_warning('TDD-sp', 'RL04', 'S1')).evidence ->> 'threshold', '8', 'transactional: the 8th order fires again');
-- disabling in a savepoint
SAVEPOINT dis;
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL06';
CALL pg_temp.add_sale('TDD-sp', '2030-06-01 12:00+08', item => 'sp1', title => '最佳');
SELECT is(pg_temp.warning_count('TDD-sp', 'RL06'), 0::bigint, 'transactional: disabled inside the savepoint');
ROLLBACK TO SAVEPOINT dis;
CALL pg_temp.add_sale('TDD-sp', '2030-06-01 12:00+08', item => 'sp1', title => '最佳');
SELECT is(pg_temp.warning_count('TDD-sp', 'RL06'), 1::bigint, 'transactional: enabled again after the rollback');

-- reference lists: edits apply to the next row and revert with a rollback
CALL pg_temp.add_operator('TDD-ref');
SAVEPOINT lists;
INSERT INTO credit_sandbox.absolute_terms (term) VALUES ('Zz-Super');
DELETE FROM credit_sandbox.absolute_terms WHERE term = '最佳';
INSERT INTO credit_sandbox.prohibited_categories (category) VALUES ('tdd_banned');
INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES ('tdd_pharma', 'tdd_permit');
INSERT INTO credit_sandbox.return_exempt_categories (category) VALUES ('tdd_exempt');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r1', title => 'a zz-SUPER mug');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r2', title => '最佳 mug');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r3', cat => 'tdd_banned');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r4', cat => 'tdd_pharma');
CALL pg_temp.add_return('TDD-ref', '2030-06-01 12:00+08', '2030-06-02 12:00+08', cat => 'tdd_exempt');
SELECT results_eq(
    $$SELECT code, subject_key, evidence -> 'terms' FROM credit_sandbox.warnings WHERE operator_id = 'TDD-ref' ORDER BY 1, 2$$,
    $$VALUES ('RL01', 'TDD-ref', NULL::jsonb), ('RL03', 'r3', '[]'::jsonb), ('RL06', 'r1', '["Zz-Super"]'::jsonb)$$,
    'reference lists: added/removed terms and categories apply to the next row');
ROLLBACK TO SAVEPOINT lists;
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r1', title => 'a zz-SUPER mug');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r2', title => '最佳 mug');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r3', cat => 'tdd_banned');
CALL pg_temp.add_sale('TDD-ref', '2030-06-01 12:00+08', item => 'r4', cat => 'tdd_pharma');
CALL pg_temp.add_return('TDD-ref', '2030-06-01 12:00+08', '2030-06-02 12:00+08', cat => 'tdd_exempt');
SELECT results_eq(
    $$SELECT code, subject_key FROM credit_sandbox.warnings WHERE operator_id = 'TDD-ref' ORDER BY 1, 2$$,
    $$VALUES ('RL06', 'r2'), ('RL07', 'TDD-ref')$$,
    'reference lists: after the rollback the old lists apply');

-- =================================================================== term matching vs an SQL oracle
-- overlapping terms (a term inside another, shared prefixes and suffixes), case folding, UTF-8
INSERT INTO credit_sandbox.absolute_terms (term) VALUES
    ('he'), ('she'), ('His'), ('hers'), ('ushe'), ('abcd'), ('bc'), ('c'), ('bcde'), ('级'), ('高级'), ('aaa'), ('aab');
CREATE TEMP TABLE tdd_titles (item text, title text);
INSERT INTO tdd_titles VALUES
    ('m01', 'ushers'), ('m02', 'abcde'), ('m03', 'xbcx'), ('m04', 'HIS SHE'), ('m05', 'hhhe'), ('m06', 'cccc'),
    ('m07', '最佳最佳'), ('m08', '国家级顶级最高级'), ('m09', 'aaaab'), ('m10', 'aab'), ('m11', 'nothing to see'),
    ('m12', 'ABCD'), ('m13', 'best in the worl'), ('m14', 'BEST IN THE WORLD, No.1, 第一'), ('m15', 'h e'),
    ('m16', 'abcbcde'), ('m17', 'sheshe'), ('m18', 'x'), ('m19', ''), ('m20', 'Hers and his');
CALL pg_temp.add_operator('TDD-m');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
SELECT 'TDD-m', '2030-06-01 12:00+08', item, title, 1 FROM tdd_titles ORDER BY item;
SELECT results_eq(
    $$SELECT subject_key, evidence -> 'terms' FROM credit_sandbox.warnings
       WHERE operator_id = 'TDD-m' AND code = 'RL06' ORDER BY 1$$,
    $$SELECT t.item, jsonb_agg(a.term ORDER BY a.term)
        FROM tdd_titles t JOIN credit_sandbox.absolute_terms a ON strpos(lower(t.title), lower(a.term)) > 0
       GROUP BY t.item ORDER BY 1$$,
    'term matching: the same terms as strpos(lower(title), lower(term)), in term order');

-- reference prices are kept per backend: a change reaches the next row, a rollback undoes it
UPDATE credit_sandbox.rules SET params = '{"max_markup_pct": 10.5}' WHERE code = 'RL09';
SAVEPOINT cached_prices;
UPDATE credit_sandbox.reference_prices SET price = 50 WHERE item_id = 'TDD-p1';
CALL pg_temp.add_sale('TDD-p', '2030-06-01 13:00+08', item => 'TDD-p1', price => 80);
SELECT is((pg_temp.latest_warning('TDD-p', 'RL09', 'TDD-p1')).hits, 2::bigint, 'RL09: a changed reference price applies to the next row');
ROLLBACK TO SAVEPOINT cached_prices;
CALL pg_temp.add_sale('TDD-p', '2030-06-01 13:01+08', item => 'TDD-p1', price => 80);
SELECT is((pg_temp.latest_warning('TDD-p', 'RL09', 'TDD-p1')).hits, 1::bigint, 'RL09: a rolled-back price change is forgotten');

SELECT * FROM finish();
ROLLBACK;
