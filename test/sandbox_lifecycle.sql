-- sandbox_lifecycle.sql -- pgTAP: admission and exit of the credit sandbox (SPEC.md
-- section 4, api 0.2): admit() on class A only, every exit reason (warning clue, RL02,
-- class below A by grade and by regrade), tips never removing a member, the class cap
-- of a new warning clue, renew_sandbox (first admissions, returns, removals) and
-- sandbox_members_at.
-- Operators 'S-...'.  admit() grades as of now(): admitted operators are clean as of now
-- (registered in 2020, licence valid until 2031, no data in the 365 days before now);
-- the data that makes things happen is dated 2029-2030 and graded with an explicit `at`.
-- One transaction, rolled back (now() is constant in it).
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(69);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
CREATE FUNCTION pg_temp.grade_count(op text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM credit_sandbox.operator_grades WHERE operator_id = op $$;
-- SQLSTATE, message and detail of an error
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN format('%s: %s (%s)', st, msg, det);
END $$;

-- =================================================================== admit
CALL pg_temp.add_operator('S-A');
SELECT is(credit_sandbox.admit('S-A'), true, 'admit: a class-A operator enters, true');
SELECT is(credit_sandbox.in_sandbox('S-A'), true, 'admit: in_sandbox');
SELECT is((pg_temp.latest_stay('S-A')).admit_reason, format('admitted by %s: class A, score 100.00', current_user),
          'admit: the reason names who admitted, the class and the score');
SELECT is(format('%s|%s|%s', g.class, g.cause, g.graded_as_of = now()), 'A|grade|t',
          'admit: grades the operator as of now() and keeps the grade')
  FROM pg_temp.latest_grade('S-A') g;
SELECT is(credit_sandbox.admit('S-A'), false, 'admit: a member again -> false');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'S-A'), 1::bigint,
          'admit: still one stay');
SELECT throws_ok($$SELECT credit_sandbox.admit('S-NOBODY')$$, 'P0002', 'operator "S-NOBODY" does not exist',
                 'admit: unknown operator -> P0002');
-- below A
CALL pg_temp.add_operator('S-B', registered => current_date - 100);
SELECT throws_ok($$SELECT credit_sandbox.admit('S-B')$$, '55000',
                 'operator "S-B" is class B, and only class A enters the sandbox',
                 'admit: class B (registered under a year) refused with 55000');
SELECT is(credit_sandbox.in_sandbox('S-B'), false, 'admit: the refused operator is not a member');
CALL pg_temp.add_operator('S-C');
CALL pg_temp.add_list_entry('S-C', 'abnormal', '2020-01-01');
SELECT throws_ok($$SELECT credit_sandbox.admit('S-C')$$, '55000',
                 'operator "S-C" is class C, and only class A enters the sandbox', 'admit: class C refused');
CALL pg_temp.add_operator('S-D');
CALL pg_temp.add_list_entry('S-D', 'dishonest', '2020-01-01');
SELECT throws_ok($$SELECT credit_sandbox.admit('S-D')$$, '55000',
                 'operator "S-D" is class D, and only class A enters the sandbox', 'admit: class D refused');
CALL pg_temp.add_operator('S-NOLIC', licence => NULL);
SELECT is(pg_temp.error_of($$SELECT credit_sandbox.admit('S-NOLIC')$$),
          '55000: operator "S-NOLIC" is class B, and only class A enters the sandbox (Score 70.00; hard rules: no licence valid on the day: not A.)',
          'admit: no valid licence refused, the detail gives score and hard rules');
-- an open warning clue counts whatever its date (status, not window)
CALL pg_temp.add_operator('S-OWC');
CALL pg_temp.add_sale('S-OWC', '2030-01-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is(pg_temp.error_of($$SELECT credit_sandbox.admit('S-OWC')$$),
          '55000: operator "S-OWC" is class B, and only class A enters the sandbox (Score 90.00; hard rules: an open warning clue: B or worse.)',
          'admit: an open warning clue (dated after now) refuses: score 90.00 but class B');

-- =================================================================== exit by a warning clue
CALL pg_temp.admit_new_operator('S-W');
SELECT is((pg_temp.latest_grade('S-W')).class, 'A', 'setup: S-W graded A by admit');
CALL pg_temp.add_sale('S-W', '2030-02-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is(credit_sandbox.in_sandbox('S-W'), false, 'warning clue: the member leaves at once');
SELECT is(format('%s|%s|%s|%s', s.exit_code, s.exit_reason, s.exit_warning_id = (pg_temp.latest_warning('S-W', 'RL03')).warning_id,
                 s.exit_hit_at = '2030-02-01 04:00+00'),
          'RL03|RL03: prohibited goods|t|t', 'warning clue: exit code, reason ''RL03: title'', warning and hit time')
  FROM pg_temp.latest_stay('S-W') s;
SELECT ok((SELECT s.exited_at > s.admitted_at AND s.exited_at BETWEEN now() AND clock_timestamp() FROM pg_temp.latest_stay('S-W') s),
          'warning clue: exited_at is when the exit was written (after admitted_at, within this transaction)');
-- the class cap, recorded at once
SELECT is(format('%s|%s|%s', g.class, g.cause, g.graded_as_of = '2030-02-01 04:00+00'), 'B|warning clue RL03|t',
          'class cap: a grade row, class B, cause ''warning clue RL03'', as of the hit')
  FROM pg_temp.latest_grade('S-W') g;
SELECT ok((pg_temp.latest_grade('S-W')).hard_rules ? 'an open warning clue: B or worse', 'class cap: with the hard rule');
SELECT is((SELECT class FROM credit_sandbox.operator_classes WHERE operator_id = 'S-W'), 'B',
          'class cap: operator_classes says B');
SELECT is(pg_temp.grade_count('S-W'), 2::bigint, 'class cap: two grade rows (admit, clue)');
CALL pg_temp.add_sale('S-W', '2030-02-02 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((pg_temp.latest_warning('S-W', 'RL03')).hits, 2::bigint, 'setup: a second hit on the open clue');
SELECT is(pg_temp.grade_count('S-W'), 2::bigint, 'class cap: a hit on an open clue adds no grade row');
-- a class-A non-member gets the cap too; a non-A operator gets no row
CALL pg_temp.add_operator('S-NA');
SELECT is(credit_sandbox.grade('S-NA', '2030-01-01 04:00+00'), 'A', 'setup: S-NA graded A, not a member');
CALL pg_temp.add_sale('S-NA', '2030-02-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is(format('%s|%s', (pg_temp.latest_grade('S-NA')).class, (pg_temp.latest_grade('S-NA')).cause), 'B|warning clue RL03',
          'class cap: also for a class-A operator outside the sandbox');
SELECT is(credit_sandbox.grade('S-NOLIC', '2030-01-01 04:00+00'), 'B', 'setup: S-NOLIC graded B (no licence)');
CALL pg_temp.add_sale('S-NOLIC', '2030-02-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((pg_temp.latest_warning('S-NOLIC', 'RL03')).list, 'risk_trigger', 'setup: S-NOLIC got a warning clue');
SELECT is(pg_temp.grade_count('S-NOLIC'), 1::bigint, 'class cap: no row for an operator already below A');

-- =================================================================== exit by RL02
CALL pg_temp.admit_new_operator('S-L');
CALL pg_temp.add_list_entry('S-L', 'abnormal', '2030-01-01');
CALL pg_temp.add_sale('S-L', '2030-02-01 04:00+00');
SELECT is(format('%s|%s|%s', s.exited_at IS NOT NULL, s.exit_code, s.exit_reason), 't|RL02|RL02: listed operator trading',
          'RL02: a listed member''s sale takes it out, reason ''RL02: listed operator trading''')
  FROM pg_temp.latest_stay('S-L') s;

-- =================================================================== tips never remove
CALL pg_temp.admit_new_operator('S-T');
CALL pg_temp.add_sale('S-T', '2030-03-01 04:00+00', item => 'ad', title => '最佳 耳机');
SELECT is((pg_temp.latest_warning('S-T', 'RL06')).list, 'admin_tip', 'setup: a member''s first RL06 hit is a tip');
SELECT is(credit_sandbox.in_sandbox('S-T'), true, 'tips: an RL06 tip leaves the member in');
SELECT is(pg_temp.grade_count('S-T'), 1::bigint, 'tips: no class cap for a tip');
CALL pg_temp.admit_new_operator('S-T2', licence => '2030-06-30');
CALL pg_temp.add_sale('S-T2', '2030-06-10 04:00+00');
SELECT is((pg_temp.latest_warning('S-T2', 'TP01')).list, 'admin_tip', 'setup: a TP01 tip');
SELECT is(credit_sandbox.in_sandbox('S-T2'), true, 'tips: a TP01 tip leaves the member in');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id IN ('S-T', 'S-T2')
              AND exited_at IS NOT NULL), 0::bigint, 'tips: no stay ended');

-- =================================================================== exit by class: grade()
CALL pg_temp.admit_new_operator('S-G');
CALL pg_temp.add_list_entry('S-G', 'dishonest', '2030-01-01');
SELECT is(credit_sandbox.in_sandbox('S-G'), true, 'class exit: a list entry alone changes nothing until graded');
SELECT is(credit_sandbox.grade('S-G', '2030-06-01 04:00+00'), 'D', 'class exit: graded D');
SELECT is(credit_sandbox.in_sandbox('S-G'), false, 'class exit: grade() below A takes the member out');
SELECT is(format('%s|%s|%s', s.exit_code, s.exit_reason, s.exit_warning_id IS NULL),
          'CLASS|class D, score 40.00: on the dishonest list: D|t', 'class exit: exit_code CLASS, reason with class, score and rules')
  FROM pg_temp.latest_stay('S-G') s;
SELECT is(credit_sandbox.grade('S-A', '2030-06-01 04:00+00'), 'A', 'class exit: a member graded A ...');
SELECT is(credit_sandbox.in_sandbox('S-A'), true, '... stays');

-- =================================================================== exit by class: regrade()
CALL pg_temp.admit_new_operator('S-R');
CALL pg_temp.admit_new_operator('S-R2');
UPDATE credit_sandbox.operators SET licence_valid_until = '2030-01-01' WHERE operator_id = 'S-R';
UPDATE credit_sandbox.operators SET registered_on = '2030-01-01' WHERE operator_id = 'S-R2';
CREATE TEMP TABLE open_before AS
SELECT membership_id, operator_id FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL;
SELECT ok(credit_sandbox.regrade('2030-06-01 04:00+00') >= 2, 'regrade: ran');
SELECT set_eq($$SELECT b.operator_id FROM open_before b JOIN credit_sandbox.sandbox_memberships m USING (membership_id)
                 WHERE m.exited_at IS NOT NULL AND b.operator_id LIKE 'S-%'$$,
              $$VALUES ('S-R'), ('S-R2')$$,
              'regrade: exactly the members below A leave (S-A, S-T, S-T2 stay A)');
SELECT is(format('%s|%s', (pg_temp.latest_stay('S-R')).exit_code, (pg_temp.latest_stay('S-R')).exit_reason),
          'CLASS|class B, score 70.00: no licence valid on the day: not A', 'regrade: exit reason with the hard rule');
SELECT is(format('%s|%s', (pg_temp.latest_stay('S-R2')).exit_code, (pg_temp.latest_stay('S-R2')).exit_reason),
          'CLASS|class B, score 85.00', 'regrade: exit reason without hard rule');
SELECT is(format('%s|%s', (pg_temp.latest_grade('S-R')).cause, (pg_temp.latest_grade('S-R')).graded_as_of = '2030-06-01 04:00+00'), 'regrade|t',
          'regrade: the grade row behind the exit');

-- =================================================================== sandbox_members_at
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admitted_at, admit_reason, exited_at, exit_reason, exit_code)
VALUES ('S-HIST', '2025-01-01 00:00+00', 'fixture stay 1', '2025-06-01 00:00+00', 'RL04: order brushing', 'RL04'),
       ('S-HIST', '2025-09-01 00:00+00', 'fixture stay 2', '2025-10-01 00:00+00', 'class B, score 85.00', 'CLASS');
SELECT is((SELECT format('%s|%s', admitted_at = '2025-01-01 00:00+00', admit_reason)
             FROM credit_sandbox.sandbox_members_at('2025-01-01 00:00+00') WHERE operator_id = 'S-HIST'),
          't|fixture stay 1', 'members_at: in from admitted_at inclusive, with admitted_at and reason');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_members_at('2024-12-31 23:59:59+00') WHERE operator_id = 'S-HIST'),
          0::bigint, 'members_at: not before admitted_at');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_members_at('2025-05-31 23:59:59+00') WHERE operator_id = 'S-HIST'),
          1::bigint, 'members_at: in until just before exited_at');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_members_at('2025-06-01 00:00+00') WHERE operator_id = 'S-HIST'),
          0::bigint, 'members_at: out from exited_at');
SELECT is((SELECT admit_reason FROM credit_sandbox.sandbox_members_at('2025-09-15 00:00+00') WHERE operator_id = 'S-HIST'),
          'fixture stay 2', 'members_at: the second stay');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.sandbox_members_at(clock_timestamp()) WHERE operator_id LIKE 'S-%'$$,
              $$SELECT operator_id FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL AND operator_id LIKE 'S-%'$$,
              'members_at(clock_timestamp()): the current members');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.sandbox_members_at(clock_timestamp()) WHERE operator_id LIKE 'S-%'$$,
              $$VALUES ('S-A'), ('S-T'), ('S-T2')$$, 'members_at(clock_timestamp()): S-A, S-T, S-T2');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_members_at(now() - interval '1 microsecond')
            WHERE operator_id LIKE 'S-%' AND operator_id <> 'S-HIST'),
          0::bigint, 'members_at: nobody admitted in this transaction was in a moment before it began');

-- =================================================================== renew_sandbox
-- S-N1: class A, never admitted.  S-RET: admitted, left on a 2029 warning clue (corrected since,
-- and older than 365 days at the renewal): returns.  S-M: member, abnormal list: removed.
-- S-KEEP: member, class A: untouched.  S-NO: not a member, class B: untouched.
\set R '''2030-07-01 04:00:00+00'''
CALL pg_temp.add_operator('S-N1');
CALL pg_temp.admit_new_operator('S-RET');
CALL pg_temp.add_sale('S-RET', '2029-01-01 04:00+00', item => 'gun', cat => 'firearms');
SELECT is((pg_temp.latest_stay('S-RET')).exit_code, 'RL03', 'setup: S-RET left on a warning clue');
DO $$ BEGIN PERFORM credit_sandbox.record_correction((pg_temp.latest_warning('S-RET', 'RL03')).warning_id, 'fixed'); END $$;
CALL pg_temp.admit_new_operator('S-M');
CALL pg_temp.add_list_entry('S-M', 'abnormal', '2030-06-01');
CALL pg_temp.admit_new_operator('S-KEEP');
CALL pg_temp.add_operator('S-NO', licence => NULL);
SELECT membership_id AS keep_stay FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'S-KEEP' \gset
CREATE TEMP TABLE members_before AS
SELECT operator_id FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL;
CREATE TEMP TABLE renewal AS SELECT * FROM credit_sandbox.renew_sandbox(:R);
SELECT set_eq($$SELECT operator_id FROM renewal WHERE action = 'admitted'$$,
              $$SELECT c.operator_id FROM credit_sandbox.operator_classes c
                 WHERE c.class = 'A' AND c.operator_id NOT IN (SELECT operator_id FROM members_before)$$,
              'renew: admits exactly the class-A non-members');
SELECT set_eq($$SELECT operator_id FROM renewal WHERE action = 'removed'$$,
              $$SELECT b.operator_id FROM members_before b JOIN credit_sandbox.operator_classes c USING (operator_id)
                 WHERE c.class <> 'A'$$,
              'renew: removes exactly the members that were in and are below A');
SELECT is((SELECT count(*) FROM renewal WHERE action NOT IN ('admitted', 'removed')), 0::bigint, 'renew: only two actions');
SELECT is((SELECT reason FROM renewal WHERE operator_id = 'S-N1'),
          format('renewal as of %s: class A, score 100.00', :R::timestamptz), 'renew: first admission, with its reason');
SELECT is((SELECT action FROM renewal WHERE operator_id = 'S-RET'), 'admitted', 'renew: a returning operator is admitted');
SELECT results_eq($$SELECT exited_at IS NULL, exit_code FROM credit_sandbox.sandbox_memberships
                    WHERE operator_id = 'S-RET' ORDER BY membership_id$$,
                  $$VALUES (false, 'RL03'), (true, NULL)$$, 'renew: the returning operator has a second stay, the first kept');
SELECT is((SELECT format('%s|%s', action, reason) FROM renewal WHERE operator_id = 'S-M'),
          'removed|class C, score 70.00: on the abnormal list: C or worse', 'renew: a member below A removed, with the reason');
SELECT is(format('%s|%s', (pg_temp.latest_stay('S-M')).exit_code, (pg_temp.latest_stay('S-M')).exit_reason),
          'CLASS|class C, score 70.00: on the abnormal list: C or worse', 'renew: the removal is recorded on the stay');
SELECT is((SELECT count(*) FROM renewal WHERE operator_id IN ('S-KEEP', 'S-NO')), 0::bigint,
          'renew: no action for a class-A member nor for a non-member below A');
SELECT is((SELECT membership_id FROM credit_sandbox.sandbox_memberships WHERE operator_id = 'S-KEEP' AND exited_at IS NULL),
          :keep_stay::bigint, 'renew: the class-A member keeps its stay');
SELECT is(credit_sandbox.in_sandbox('S-N1') AND credit_sandbox.in_sandbox('S-RET') AND NOT credit_sandbox.in_sandbox('S-M'),
          true, 'renew: memberships follow the actions');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL),
          (SELECT count(*) FROM credit_sandbox.operator_classes c WHERE c.class = 'A'
              AND EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                           WHERE m.operator_id = c.operator_id AND m.exited_at IS NULL)),
          'renew: every current member is class A');
SELECT is((SELECT count(*) FROM credit_sandbox.operator_classes c WHERE c.class = 'A'
              AND NOT credit_sandbox.in_sandbox(c.operator_id)), 0::bigint, 'renew: every class-A operator is a member');
-- nothing changes: a second renewal reports nothing
SELECT is((SELECT count(*) FROM credit_sandbox.renew_sandbox(:R)), 0::bigint,
          'renew: a second renewal with nothing to change returns no action');

SELECT * FROM finish();
ROLLBACK;
