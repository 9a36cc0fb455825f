-- replay.sql -- pgTAP: replay() gives the hits the triggers logged, writes nothing,
-- judges a proposed rule change, rejects a bad one; check_consistency() finds a
-- missing and an extra hit.  Operators 'TRP...', times in 2031.  Rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(22);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ======================================================================= data
-- every red line that can fire on the three tables, several hits per key,
-- rows before the replayed range that count as history
CALL pg_temp.add_operator('TRP-a');
CALL pg_temp.add_sale_series('TRP-a', '2031-03-01 08:00+08', 7, '10 minutes', ship => 'addr-1');  -- before since
CALL pg_temp.add_sale_series('TRP-a', '2031-03-01 10:00+08', 3, '10 minutes', ship => 'addr-1');  -- RL04 x3
CALL pg_temp.add_sale('TRP-a', '2031-03-01 11:00+08', item => 'shoe', price => 80);
CALL pg_temp.add_sale('TRP-a', '2031-03-02 11:00+08', item => 'shoe', price => 100, lp => 120);     -- RL05
CALL pg_temp.add_sale('TRP-a', '2031-03-02 12:00+08', title => '国家级 quality');                   -- RL06
CALL pg_temp.add_sale('TRP-unknown', '2031-03-02 13:00+08');                                        -- RL01
-- one multi-row statement with a time out of order
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, unit_price)
VALUES ('TRP-a', '2031-03-01 10:40+08', 'addr-1', 'i', 10),
       ('TRP-a', '2031-03-01 10:35+08', 'addr-1', 'i', 10);
CALL pg_temp.add_operator('TRP-b');
CALL pg_temp.add_return('TRP-b', '2031-03-01 00:00+08', '2031-03-03 00:00+08');                      -- RL07
CALL pg_temp.add_return('TRP-b', '2031-03-01 00:00+08', '2031-03-04 00:00+08');
CALL pg_temp.add_complaints('TRP-b', '2031-03-02 00:00+08', 6, '1 hour');                                -- RL08

CREATE TEMP TABLE replayed ON COMMIT DROP AS
    SELECT * FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01');
CREATE TEMP TABLE logged ON COMMIT DROP AS
    SELECT h.source_table, h.source_id, w.operator_id, w.code, w.subject_key
      FROM credit_sandbox.warning_hits h JOIN credit_sandbox.warnings w USING (warning_id)
     WHERE w.operator_id LIKE 'TRP-%' AND h.hit_at >= '2031-03-01 09:30+08';

-- ======================================================================= replay
SELECT set_eq('SELECT DISTINCT code FROM replayed',
              ARRAY['RL01', 'RL04', 'RL05', 'RL06', 'RL07', 'RL08'],
              'replay: the scenario hits RL01, RL04 to RL08');
SELECT set_eq('SELECT source_table, source_id, operator_id, code, subject_key FROM replayed',
              'SELECT * FROM logged',
              'replay: the same hits, row by row, as the triggers logged');
SELECT is((SELECT count(*) FROM replayed WHERE code = 'RL04'), 5::bigint,
          'replay: RL04 counts the orders before since (5 hits from the 8th order on)');
SELECT is((SELECT count(*) FROM replayed WHERE first_hit),
          (SELECT count(DISTINCT (operator_id, code, subject_key)) FROM logged),
          'replay: one first hit per key');
SELECT is((SELECT count(*) FROM replayed WHERE rule_version IS DISTINCT FROM
              (SELECT version FROM credit_sandbox.rules r WHERE r.code = replayed.code)), 0::bigint,
          'replay: hits carry the current rule version');
SELECT is((SELECT evidence ->> 'lowest_price' FROM replayed WHERE code = 'RL05'),
          (SELECT evidence ->> 'lowest_price' FROM credit_sandbox.warnings
            WHERE operator_id = 'TRP-a' AND code = 'RL05'),
          'replay: the evidence is the warning''s');
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-02 00:00+08', '2031-03-02 12:00+08')),
          (SELECT count(*) FROM replayed
            WHERE occurred_at >= '2031-03-02 00:00+08' AND occurred_at < '2031-03-02 12:00+08'),
          'replay: [since, until) keeps the rows of that range');

-- nothing written: the outcome tables and the sandbox stay as they are
CREATE TEMP TABLE before_replay ON COMMIT DROP AS
    SELECT (SELECT count(*) FROM credit_sandbox.warnings) AS w,
           (SELECT count(*) FROM credit_sandbox.warning_hits) AS h,
           (SELECT sum(hits) FROM credit_sandbox.warnings) AS s,
           (SELECT count(*) FROM credit_sandbox.sandbox_memberships) AS m,
           (SELECT count(*) FROM credit_sandbox.operator_grades) AS g;
SELECT ok((SELECT count(*) FROM credit_sandbox.replay()) > 0, 'replay: the whole history replays');
SELECT is((SELECT (count(*), sum(hits)) FROM credit_sandbox.warnings)::text,
          (SELECT (w, s) FROM before_replay)::text, 'replay: writes no warning and counts no hit');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_hits), (SELECT h FROM before_replay),
          'replay: logs no hit');
SELECT is(((SELECT count(*) FROM credit_sandbox.sandbox_memberships),
           (SELECT count(*) FROM credit_sandbox.operator_grades))::text,
          (SELECT (m, g) FROM before_replay)::text, 'replay: changes no membership and no grade');

-- ======================================================================= proposed rules
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01',
                                                     '{"RL04": {"threshold": 10}}') WHERE code = 'RL04'),
          3::bigint, 'proposed: RL04 threshold 10 flags 3 orders instead of 5');
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01',
                                                     '{"RL04": {"threshold": 10}}')
            WHERE code = 'RL04' AND rule_version IS NULL), 3::bigint,
          'proposed: a changed rule''s hits have no stored version');
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01',
                                                     '{"RL04": {"window": "10 minutes"}}') WHERE code = 'RL04'),
          0::bigint, 'proposed: a parameter left out keeps its value (threshold 8 in 10 minutes: none)');
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01',
                                                     '{"RL06": {"enabled": false}}') WHERE code = 'RL06'),
          0::bigint, 'proposed: a disabled rule flags nothing');
UPDATE credit_sandbox.rules SET enabled = false WHERE code = 'RL06';
SELECT is((SELECT count(*) FROM credit_sandbox.replay('2031-03-01 09:30+08', '2031-04-01',
                                                     '{"RL06": {"enabled": true}}') WHERE code = 'RL06'),
          1::bigint, 'proposed: a rule disabled in the table can be tried enabled');
UPDATE credit_sandbox.rules SET enabled = true WHERE code = 'RL06';

SELECT throws_ok($$SELECT * FROM credit_sandbox.replay(rules => '{"RL99": {}}')$$,
                 '22023', 'proposed rules: no rule "RL99"', 'proposed: an unknown rule is refused');
SELECT throws_ok($$SELECT * FROM credit_sandbox.replay(rules => '[1]')$$,
                 '22023', 'proposed rules must be a JSON object keyed by rule code',
                 'proposed: not an object is refused');
SELECT throws_ok($$SELECT * FROM credit_sandbox.replay(rules => '{"RL06": {"enabled": "no"}}')$$,
                 '22023', 'proposed rules: "enabled" of RL06 must be true or false',
                 'proposed: enabled must be a boolean');
SELECT throws_ok($$SELECT * FROM credit_sandbox.replay(rules => '{"RL04": {"threshold": 0}}')$$,
                 '22023', 'rule RL04: invalid value for parameter "threshold"',
                 'proposed: parameters are validated as in the rules table');

-- ======================================================================= consistency
DELETE FROM credit_sandbox.warning_hits
 WHERE (source_table, source_id) = (SELECT source_table, source_id FROM replayed WHERE code = 'RL06');
INSERT INTO credit_sandbox.warning_hits (operator_id, warning_id, source_table, source_id, hit_at)
SELECT w.operator_id, w.warning_id, 'transactions', t.txn_id, t.occurred_at
  FROM credit_sandbox.warnings w, credit_sandbox.transactions t
 WHERE w.operator_id = 'TRP-unknown' AND w.code = 'RL01' AND t.operator_id = 'TRP-a' AND t.item_id = 'shoe'
 ORDER BY t.txn_id LIMIT 1;
SELECT set_eq($$SELECT source_table, operator_id, code, problem
                 FROM credit_sandbox.check_consistency('2031-03-01 09:30+08', '2031-04-01')$$,
              $$VALUES ('transactions', 'TRP-a', 'RL06', 'missing'),
                       ('transactions', 'TRP-unknown', 'RL01', 'extra')$$,
              'consistency: a lost hit is missing, a hit no rule gives is extra');
SELECT is((SELECT count(*) FROM credit_sandbox.check_consistency('2031-03-03 00:00+08', '2031-04-01')), 0::bigint,
          'consistency: a range without the damaged rows is clean');

SELECT * FROM finish();
ROLLBACK;
