-- tolerance.sql -- pgTAP: sandbox admission, fault tolerance (admin tips with a correction
-- deadline), warning clues and sandbox exits, tolerance window and correction period,
-- rollback (SPEC.md section 3, reference.sql I14-I16).
-- Operators 'TTL...', times in 2029-2030.  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(63);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- puts an operator in the sandbox directly (a membership row with exited_at NULL), so that
-- these tests of tolerance do not depend on grading: admit() itself is tested on its own below
CREATE PROCEDURE pg_temp.enter_sandbox_unchecked(id text)
LANGUAGE sql AS $$
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason) VALUES (id, 'test: tolerance') $$;
-- a new operator, in the sandbox that way
CREATE PROCEDURE pg_temp.add_member_unchecked(id text, licence date DEFAULT '2031-12-31')
LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.add_operator(id, licence => licence);
    CALL pg_temp.enter_sandbox_unchecked(id);
END $$;

-- =================================================================== admit
-- a clean operator: registered years ago, licence valid, no list entry, no warning or complaint
CALL pg_temp.add_operator('TTL-adm');
SELECT is(credit_sandbox.admit('TTL-adm'), true, 'admit: true for a new member');
SELECT is(credit_sandbox.in_sandbox('TTL-adm'), true, 'in_sandbox: true after admit');
SELECT is(credit_sandbox.admit('TTL-adm'), false, 'admit: false when already a member');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'TTL-adm'), 1::bigint,
          'admit: one stay');
SELECT throws_ok($$SELECT credit_sandbox.admit('TTL-nobody')$$, 'P0002', 'operator "TTL-nobody" does not exist',
                 'admit: unknown operator refused');
SELECT is(credit_sandbox.in_sandbox('TTL-nobody'), false, 'in_sandbox: false for an unknown operator');

-- =================================================================== first tolerable hit -> tip
CALL pg_temp.add_member_unchecked('TTL-1');
CALL pg_temp.add_sale('TTL-1', '2030-06-01 12:00+08', item => 'a', title => '最佳 耳机');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'a')).list, 'admin_tip', 'tolerance: a member''s first RL06 hit is an admin_tip');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'a')).due_at, '2030-06-08 12:00+08'::timestamptz, 'tolerance: due_at = occurred_at + 7 days');
SELECT is(credit_sandbox.in_sandbox('TTL-1'), true, 'tolerance: a tip keeps the member in the sandbox');
CALL pg_temp.add_sale('TTL-1', '2030-06-02 12:00+08', item => 'a', title => '最佳 耳机');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'a')).hits, 2::bigint, 'tolerance: the same key during the tip: one more hit on the tip');
SELECT is(pg_temp.warning_count('TTL-1', 'RL06'), 1::bigint, 'tolerance: no new warning for the same key');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'a')).list, 'admin_tip', 'tolerance: it stays a tip');
SELECT is(credit_sandbox.in_sandbox('TTL-1'), true, 'tolerance: a hit on the tip keeps the member in');
CALL pg_temp.add_sale('TTL-1', '2030-06-03 12:00+08', item => 'b', title => 'best in the world');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'b')).list, 'risk_trigger', 'tolerance: another key is a repeat -> warning clue');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'b')).due_at, NULL, 'tolerance: a warning clue has no due_at');
SELECT is(credit_sandbox.in_sandbox('TTL-1'), false, 'tolerance: the warning clue takes the operator out');
SELECT is((pg_temp.latest_stay('TTL-1')).exit_reason, 'RL06: misleading advertising', 'sandbox exit: reason');
SELECT is((pg_temp.latest_stay('TTL-1')).exit_code, 'RL06', 'sandbox exit: code');
SELECT is((pg_temp.latest_stay('TTL-1')).exit_warning_id, (pg_temp.latest_warning('TTL-1', 'RL06', 'b')).warning_id, 'sandbox exit: the warning');
SELECT is((pg_temp.latest_stay('TTL-1')).exit_hit_at, '2030-06-03 12:00+08'::timestamptz, 'sandbox exit: the hit time');
SELECT isnt((pg_temp.latest_stay('TTL-1')).exited_at, NULL, 'sandbox exit: exited_at set');
SELECT is((pg_temp.latest_warning('TTL-1', 'RL06', 'a')).list, 'admin_tip', 'sandbox exit: the earlier tip stays a tip');

-- =================================================================== after the tip is corrected
CALL pg_temp.add_member_unchecked('TTL-2');
CALL pg_temp.add_sale('TTL-2', '2030-06-01 12:00+08', item => 'a', title => '最佳');
UPDATE credit_sandbox.warnings SET status = 'corrected' WHERE operator_id = 'TTL-2' AND code = 'RL06';
CALL pg_temp.add_sale('TTL-2', '2030-06-05 12:00+08', item => 'a', title => '最佳');
SELECT results_eq(
    $$SELECT list, status, hits::int FROM credit_sandbox.warnings WHERE operator_id = 'TTL-2' ORDER BY warning_id$$,
    $$VALUES ('admin_tip', 'corrected', 1), ('risk_trigger', 'open', 1)$$,
    'tolerance: the same key after the tip was corrected -> a new warning clue');
SELECT is((pg_temp.latest_stay('TTL-2')).exit_code, 'RL06', 'tolerance: ... and the member leaves');

-- =================================================================== tolerance window (365 days)
CALL pg_temp.add_member_unchecked('TTL-3');
CALL pg_temp.add_sale('TTL-3', '2029-05-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-3', '2030-06-01 12:00+08', item => 'b', title => '最佳');
SELECT results_eq(
    $$SELECT subject_key, list FROM credit_sandbox.warnings WHERE operator_id = 'TTL-3' ORDER BY 1$$,
    $$VALUES ('a', 'admin_tip'), ('b', 'admin_tip')$$,
    'tolerance: an earlier hit older than 365 days -> tolerated again');
CALL pg_temp.add_member_unchecked('TTL-3b');
CALL pg_temp.add_sale('TTL-3b', '2029-06-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-3b', '2030-06-01 12:00+08', item => 'b', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-3b', 'RL06', 'b')).list, 'admin_tip',
          'tolerance boundary: an earlier hit exactly 365 days before is outside the window');
CALL pg_temp.add_member_unchecked('TTL-3c');
CALL pg_temp.add_sale('TTL-3c', '2029-06-01 12:00:01+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-3c', '2030-06-01 12:00+08', item => 'b', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-3c', 'RL06', 'b')).list, 'risk_trigger',
          'tolerance boundary: an earlier hit 365 days - 1 s before is inside the window');
-- the earlier hit's last_hit_at counts, not its occurred_at
CALL pg_temp.add_member_unchecked('TTL-3d');
CALL pg_temp.add_sale('TTL-3d', '2029-01-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-3d', '2029-12-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-3d', '2030-06-01 12:00+08', item => 'b', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-3d', 'RL06', 'b')).list, 'risk_trigger',
          'tolerance: an earlier tip last hit within 365 days (first hit older) -> warning clue');
-- an earlier warning clue of the same code from before the admission counts too
CALL pg_temp.add_operator('TTL-4');
CALL pg_temp.add_sale('TTL-4', '2030-06-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.enter_sandbox_unchecked('TTL-4');
CALL pg_temp.add_sale('TTL-4', '2030-06-10 12:00+08', item => 'b', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-4', 'RL06', 'b')).list, 'risk_trigger',
          'tolerance: an earlier warning of the code (before admission) within 365 days -> warning clue');
SELECT is(credit_sandbox.in_sandbox('TTL-4'), false, 'tolerance: ... and the member leaves');
-- tolerance is per code: a tip of RL06 does not use up RL05's
CALL pg_temp.add_member_unchecked('TTL-5');
CALL pg_temp.add_sale('TTL-5', '2030-06-01 12:00+08', item => 'a', title => '最佳', price => 50);
CALL pg_temp.add_sale('TTL-5', '2030-06-02 12:00+08', item => 'p', price => 50);
CALL pg_temp.add_sale('TTL-5', '2030-06-03 12:00+08', item => 'p', price => 40, lp => 60);
SELECT results_eq(
    $$SELECT code, list, due_at FROM credit_sandbox.warnings WHERE operator_id = 'TTL-5' ORDER BY 1$$,
    $$VALUES ('RL05', 'admin_tip', '2030-06-10 12:00+08'::timestamptz), ('RL06', 'admin_tip', '2030-06-08 12:00+08')$$,
    'tolerance: per code (RL05 and RL06 each get their first tip)');
-- RL07 (returns)
CALL pg_temp.add_member_unchecked('TTL-6');
CALL pg_temp.add_return('TTL-6', '2030-06-01 12:00+08', '2030-06-03 12:00+08');
SELECT is((pg_temp.latest_warning('TTL-6', 'RL07', 'TTL-6')).list, 'admin_tip', 'tolerance: RL07 first refusal of a member -> tip');
SELECT is((pg_temp.latest_warning('TTL-6', 'RL07', 'TTL-6')).due_at, '2030-06-10 12:00+08'::timestamptz, 'tolerance: RL07 due = requested_at + 7 days');
CALL pg_temp.add_return('TTL-6', '2030-06-01 12:00+08', '2030-06-04 12:00+08');
SELECT is((pg_temp.latest_warning('TTL-6', 'RL07', 'TTL-6')).hits, 2::bigint, 'tolerance: RL07 second refusal counts on the open tip');
SELECT is(credit_sandbox.in_sandbox('TTL-6'), true, 'tolerance: RL07 tip keeps the member in');
-- not a member: a warning clue at once
CALL pg_temp.add_operator('TTL-7');
CALL pg_temp.add_sale('TTL-7', '2030-06-01 12:00+08', item => 'a', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-7', 'RL06', 'a')).list, 'risk_trigger', 'tolerance: only for sandbox members');

-- =================================================================== non-tolerable and the tolerable flag
CALL pg_temp.add_member_unchecked('TTL-8');
CALL pg_temp.add_sale('TTL-8', '2030-06-01 12:00+08', item => 'a', title => 'ivory comb');
SELECT is((pg_temp.latest_warning('TTL-8', 'RL03', 'a')).list, 'risk_trigger', 'non-tolerable RL03 in the sandbox: warning clue');
SELECT is((pg_temp.latest_stay('TTL-8')).exit_reason, 'RL03: prohibited goods', 'non-tolerable RL03: sandbox exit with reason');
CALL pg_temp.add_member_unchecked('TTL-9');
CALL pg_temp.add_complaints('TTL-9', '2030-06-01 12:00+08', 5);
SELECT is((pg_temp.latest_stay('TTL-9')).exit_reason, 'RL08: complaint surge', 'non-tolerable RL08 (complaints): sandbox exit');
UPDATE credit_sandbox.rules SET tolerable = false WHERE code = 'RL06';
CALL pg_temp.add_member_unchecked('TTL-10');
CALL pg_temp.add_sale('TTL-10', '2030-06-01 12:00+08', item => 'a', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-10', 'RL06', 'a')).list, 'risk_trigger', 'tolerable flag off: RL06 is a warning clue');
SELECT is(credit_sandbox.in_sandbox('TTL-10'), false, 'tolerable flag off: the member leaves');
UPDATE credit_sandbox.rules SET tolerable = true WHERE code = 'RL06';
UPDATE credit_sandbox.rules SET tolerable = true WHERE code = 'RL04';
CALL pg_temp.add_member_unchecked('TTL-11');
CALL pg_temp.add_sale_series('TTL-11', '2030-06-01 00:01+08', 8, '1 minute', 'S1');
SELECT is((pg_temp.latest_warning('TTL-11', 'RL04', 'S1')).list, 'admin_tip', 'tolerable flag on: RL04 becomes tolerable');
SELECT is(credit_sandbox.in_sandbox('TTL-11'), true, 'tolerable flag on: the member stays');
UPDATE credit_sandbox.rules SET tolerable = false WHERE code = 'RL04';

-- =================================================================== RL02, tips, repeats
INSERT INTO credit_sandbox.operator_lists (operator_id, list, listed_on) VALUES ('TTL-12', 'abnormal', '2030-05-01');
CALL pg_temp.add_member_unchecked('TTL-12');
CALL pg_temp.add_sale('TTL-12', '2030-06-01 12:00+08');
SELECT is((pg_temp.latest_stay('TTL-12')).exit_code, 'RL02', 'RL02 removes from the sandbox');
SELECT is((pg_temp.latest_stay('TTL-12')).exit_reason, 'RL02: listed operator trading', 'RL02: exit reason');
CALL pg_temp.add_member_unchecked('TTL-13', licence => '2030-06-20');
CALL pg_temp.add_sale('TTL-13', '2030-06-01 12:00+08');
CALL pg_temp.add_sale('TTL-13', '2030-06-02 12:00+08');
SELECT is((pg_temp.latest_warning('TTL-13', 'TP01', 'TTL-13')).hits, 2::bigint, 'TP01 for a member: a tip with 2 hits');
SELECT is((pg_temp.latest_warning('TTL-13', 'TP01', 'TTL-13')).due_at, NULL, 'TP01 for a member: no due_at');
SELECT is(credit_sandbox.in_sandbox('TTL-13'), true, 'tips never remove a member');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'TTL-13' AND exited_at IS NOT NULL),
          0::bigint, 'tips never remove: no exit recorded');
-- a hit on an open warning clue of a re-admitted member takes it out again
CALL pg_temp.add_operator('TTL-14');
CALL pg_temp.add_sale_series('TTL-14', '2030-06-01 00:01+08', 8, '1 minute', 'S1');
CALL pg_temp.enter_sandbox_unchecked('TTL-14');
CALL pg_temp.add_sale('TTL-14', '2030-06-01 00:09+08', ship => 'S1');
SELECT is((pg_temp.latest_warning('TTL-14', 'RL04', 'S1')).hits, 2::bigint, 'hit on an open warning clue: hits 2');
SELECT is((pg_temp.latest_stay('TTL-14')).exit_warning_id, (pg_temp.latest_warning('TTL-14', 'RL04', 'S1')).warning_id,
          'hit on an open warning clue: the member leaves again, naming that warning');
CALL pg_temp.enter_sandbox_unchecked('TTL-14');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'TTL-14'), 2::bigint,
          'membership history: one row per stay');
-- all hits of one row see the membership the row started with
CALL pg_temp.add_member_unchecked('TTL-15');
CALL pg_temp.add_sale('TTL-15', '2030-06-01 12:00+08', item => 'a', title => 'ivory 最佳 comb');
SELECT results_eq(
    $$SELECT code, list FROM credit_sandbox.warnings WHERE operator_id = 'TTL-15' ORDER BY 1$$,
    $$VALUES ('RL03', 'risk_trigger'), ('RL06', 'admin_tip')$$,
    'one row: RL03 exits, RL06 of the same row still sees the member (tip)');
SELECT is((pg_temp.latest_stay('TTL-15')).exit_code, 'RL03', 'one row: exit by the first red line in code order');
CALL pg_temp.add_sale('TTL-15', '2030-06-01 12:01+08', item => 'b', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-15', 'RL06', 'b')).list, 'risk_trigger', 'the next row sees the operator out of the sandbox');
-- a multi-row statement: each row sees the membership left by the rows before it
CALL pg_temp.add_member_unchecked('TTL-16');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price) VALUES
    ('TTL-16', '2030-06-01 12:00+08', 'a', 'ivory', 1),
    ('TTL-16', '2030-06-01 12:01+08', 'b', '最佳', 1);
SELECT results_eq(
    $$SELECT code, list FROM credit_sandbox.warnings WHERE operator_id = 'TTL-16' ORDER BY 1$$,
    $$VALUES ('RL03', 'risk_trigger'), ('RL06', 'risk_trigger')$$,
    'batch: the second row of the statement sees the exit caused by the first');

-- =================================================================== settings
SET LOCAL credit_sandbox.correction_period = '3 days';
CALL pg_temp.add_member_unchecked('TTL-17');
CALL pg_temp.add_sale('TTL-17', '2030-06-01 12:00+08', item => 'a', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-17', 'RL06', 'a')).due_at, '2030-06-04 12:00+08'::timestamptz,
          'credit_sandbox.correction_period = 3 days: due_at = t + 3 days');
SET LOCAL credit_sandbox.correction_period = '7 days';
SET LOCAL credit_sandbox.tolerance_window = '30 days';
CALL pg_temp.add_member_unchecked('TTL-18');
CALL pg_temp.add_sale('TTL-18', '2030-05-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-18', '2030-05-31 12:00+08', item => 'b', title => '最佳');
CALL pg_temp.add_sale('TTL-18', '2030-06-15 12:00+08', item => 'c', title => '最佳');
SELECT results_eq(
    $$SELECT subject_key, list FROM credit_sandbox.warnings WHERE operator_id = 'TTL-18' ORDER BY 1$$,
    $$VALUES ('a', 'admin_tip'), ('b', 'admin_tip'), ('c', 'risk_trigger')$$,
    'credit_sandbox.tolerance_window = 30 days: exactly 30 days later tolerated, 15 days later not');
SET LOCAL credit_sandbox.tolerance_window = '365 days';

-- =================================================================== rollback
CALL pg_temp.add_member_unchecked('TTL-19');
SAVEPOINT s;
CALL pg_temp.add_sale('TTL-19', '2030-06-01 12:00+08', item => 'a', title => '最佳');
CALL pg_temp.add_sale('TTL-19', '2030-06-01 12:00+08', item => 'b', title => 'ivory');
SELECT is(pg_temp.warning_count('TTL-19', 'RL03') + pg_temp.warning_count('TTL-19', 'RL06'), 2::bigint, 'rollback: the warnings exist before');
SELECT is(credit_sandbox.in_sandbox('TTL-19'), false, 'rollback: out of the sandbox before');
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'TTL-19'), 0::bigint,
          'rollback of the inserts: no warning left');
SELECT is(credit_sandbox.in_sandbox('TTL-19'), true, 'rollback of the inserts: still in the sandbox');
CALL pg_temp.add_sale('TTL-19', '2030-06-02 12:00+08', item => 'c', title => '最佳');
SELECT is((pg_temp.latest_warning('TTL-19', 'RL06', 'c')).list, 'admin_tip',
          'rollback: a rolled-back tip does not use up the tolerance');

SELECT * FROM finish();
ROLLBACK;
