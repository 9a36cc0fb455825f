-- escalation.sql -- pgTAP: the correction lifecycle of warnings and tips (acknowledge,
-- record_correction, close_warning: state changes and errors) and escalate_overdue
-- (SPEC.md sections 3-4, api 0.2): a tip past due_at (due_at < at) and not corrected
-- becomes escalated, with a new warning clue on its key (linked both ways), the sandbox
-- exit and the class cap; corrected tips, tips not yet due and TP01 tips are left alone;
-- a second run changes nothing; a moment later than now() is refused (22023), so a tip
-- not yet due is never escalated.
-- Operators 'E-...', admitted as of now (clean), data in 2025 (E-4's sale: yesterday).
-- One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(69);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
CREATE FUNCTION pg_temp.latest_tip_id(op text, c text DEFAULT 'RL06') RETURNS bigint LANGUAGE sql AS
$$ SELECT (pg_temp.latest_warning(op, c, list => 'admin_tip')).warning_id $$;
CREATE FUNCTION pg_temp.warning_status(id bigint) RETURNS text LANGUAGE sql AS
$$ SELECT status FROM credit_sandbox.warnings WHERE warning_id = id $$;
CREATE FUNCTION pg_temp.warnings_of_e_operators() RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id LIKE 'E-%' $$;

-- =================================================================== fixtures
-- E-1: RL06 tip 2025-03-01 04:00 (due 03-08 04:00), a second hit on it, acknowledged
CALL pg_temp.admit_new_operator('E-1');
CALL pg_temp.add_sale('E-1', '2025-03-01 04:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('E-1', '2025-03-02 04:00+00', item => 'ad', title => '最佳 耳机');
-- E-2: RL06 tip 2025-03-01 05:00, corrected
CALL pg_temp.admit_new_operator('E-2');
CALL pg_temp.add_sale('E-2', '2025-03-01 05:00+00', item => 'ad', title => '最佳 耳机');
-- E-3: RL06 tip 2025-03-05 04:00 (due 03-12 04:00), left open
CALL pg_temp.admit_new_operator('E-3');
CALL pg_temp.add_sale('E-3', '2025-03-05 04:00+00', item => 'ad', title => '最佳 耳机');
-- E-4: a TP01 tip (no due_at): a licence valid 20 more days, a sale yesterday
CALL pg_temp.admit_new_operator('E-4', licence => (current_date + 20));
CALL pg_temp.add_sale('E-4', now() - interval '1 day');
-- E-5: RL07 tip (refused return requested 2025-03-03 04:00, due 03-10 04:00)
CALL pg_temp.admit_new_operator('E-5');
INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome)
VALUES ('E-5', 'misc', '2025-03-01 04:00+00', '2025-03-03 04:00+00', 'refused');
-- E-6: RL06 tip 2025-04-01 04:00, then the member leaves on an RL03 warning clue
CALL pg_temp.admit_new_operator('E-6');
CALL pg_temp.add_sale('E-6', '2025-04-01 04:00+00', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('E-6', '2025-04-02 04:00+00', item => 'gun', cat => 'firearms');

SELECT results_eq(
    $$SELECT operator_id, code, list, status, hits::int, due_at FROM credit_sandbox.warnings
       WHERE operator_id LIKE 'E-%' AND list = 'admin_tip' ORDER BY operator_id, code$$,
    $$VALUES ('E-1', 'RL06', 'admin_tip', 'open', 2, '2025-03-08 04:00+00'::timestamptz),
             ('E-2', 'RL06', 'admin_tip', 'open', 1, '2025-03-08 05:00+00'),
             ('E-3', 'RL06', 'admin_tip', 'open', 1, '2025-03-12 04:00+00'),
             ('E-4', 'TP01', 'admin_tip', 'open', 1, NULL),
             ('E-5', 'RL07', 'admin_tip', 'open', 1, '2025-03-10 04:00+00'),
             ('E-6', 'RL06', 'admin_tip', 'open', 1, '2025-04-08 04:00+00')$$,
    'setup: the tips and their due_at (occurred_at + 7 days; TP01 none)');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE operator_id LIKE 'E-%' AND exited_at IS NULL),
          5::bigint, 'setup: E-1..E-5 are members, E-6 left');

-- =================================================================== acknowledge / record_correction / close_warning
DO $$ BEGIN PERFORM credit_sandbox.acknowledge(pg_temp.latest_tip_id('E-1'), 'seen by the operator'); END $$;
SELECT is(format('%s|%s|%s|%s', w.status, w.status_note, w.status_changed_by = current_user, w.status_changed_at = now()),
          'acknowledged|seen by the operator|t|t', 'acknowledge: open -> acknowledged, note, who and when')
  FROM credit_sandbox.warnings w WHERE w.warning_id = pg_temp.latest_tip_id('E-1');
SELECT throws_ok(format('SELECT credit_sandbox.acknowledge(%s)', pg_temp.latest_tip_id('E-1')), '55000',
                 format('warning %s is acknowledged, not open', pg_temp.latest_tip_id('E-1')),
                 'acknowledge: an acknowledged tip -> 55000');
DO $$ BEGIN PERFORM credit_sandbox.record_correction(pg_temp.latest_tip_id('E-2'), 'price label fixed'); END $$;
SELECT is(format('%s|%s|%s|%s', w.status, w.status_note, w.status_changed_by = current_user, w.status_changed_at = now()),
          'corrected|price label fixed|t|t', 'record_correction: open -> corrected, note, who and when')
  FROM credit_sandbox.warnings w WHERE w.warning_id = pg_temp.latest_tip_id('E-2');
SELECT throws_ok(format('SELECT credit_sandbox.record_correction(%s)', pg_temp.latest_tip_id('E-2')), '55000',
                 format('warning %s is corrected, not open or acknowledged', pg_temp.latest_tip_id('E-2')),
                 'record_correction: a corrected tip -> 55000');
SELECT throws_ok(format('SELECT credit_sandbox.acknowledge(%s)', pg_temp.latest_tip_id('E-2')), '55000',
                 format('warning %s is corrected, not open', pg_temp.latest_tip_id('E-2')),
                 'acknowledge: a corrected tip -> 55000');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-2')), 'corrected', 'errors leave the status alone');
-- unknown warnings
SELECT max(warning_id) + 1000 AS nowarning FROM credit_sandbox.warnings \gset
SELECT throws_ok('SELECT credit_sandbox.acknowledge(' || :nowarning || ')', 'P0002',
                 'warning ' || :nowarning || ' does not exist', 'acknowledge: unknown warning -> P0002');
SELECT throws_ok('SELECT credit_sandbox.record_correction(' || :nowarning || ', ''x'')', 'P0002',
                 'warning ' || :nowarning || ' does not exist', 'record_correction: unknown warning -> P0002');
SELECT throws_ok('SELECT credit_sandbox.close_warning(' || :nowarning || ', ''x'')', 'P0002',
                 'warning ' || :nowarning || ' does not exist', 'close_warning: unknown warning -> P0002');
-- a warning clue goes through the same states
SELECT lives_ok(format('SELECT credit_sandbox.acknowledge(%s)', (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                'acknowledge: a warning clue');
SELECT lives_ok(format('SELECT credit_sandbox.record_correction(%s, ''removed from sale'')',
                       (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                'record_correction: an acknowledged warning clue');
SELECT is((pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).status, 'corrected', '... corrected');
SELECT lives_ok(format('SELECT credit_sandbox.close_warning(%s, ''checked on site'')',
                       (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                'close_warning: a corrected warning clue');
SELECT is(format('%s|%s', w.status, w.status_note), 'closed|checked on site', '... closed, with its note')
  FROM pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger') w;
SELECT throws_ok(format('SELECT credit_sandbox.close_warning(%s)', (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                 '55000', NULL, 'close_warning: a closed warning -> 55000');
SELECT throws_ok(format('SELECT credit_sandbox.record_correction(%s)', (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                 '55000', format('warning %s is closed, not open or acknowledged', (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id),
                 'record_correction: a closed warning -> 55000');

-- =================================================================== escalate_overdue: not yet overdue
CREATE TEMP TABLE n0 AS SELECT pg_temp.warnings_of_e_operators() AS n;
SELECT throws_ok($$SELECT credit_sandbox.escalate_overdue(now() + interval '11 days')$$, '22023', NULL,
                 'escalate: as of a moment after now() -> 22023');
SELECT throws_ok($$SELECT credit_sandbox.escalate_overdue(now() + interval '1 microsecond')$$, '22023', NULL,
                 'escalate: one microsecond after now() -> 22023');
SELECT throws_ok($$SELECT credit_sandbox.escalate_overdue('infinity')$$, '22023', NULL,
                 'escalate: as of infinity -> 22023');
SELECT is((SELECT string_agg(status, ',' ORDER BY operator_id) FROM credit_sandbox.warnings
            WHERE operator_id LIKE 'E-%' AND list = 'admin_tip'), 'acknowledged,corrected,open,open,open,open',
          '... the refusals escalated nothing');
SELECT is(credit_sandbox.escalate_overdue('2025-03-01 00:00+00'), 0::bigint, 'escalate: as of a past moment before every due_at: 0');
SELECT is(credit_sandbox.escalate_overdue('2025-03-08 04:00+00'), 0::bigint,
          'escalate: due_at = at is not overdue (due_at < at): nothing escalated');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-1')), 'acknowledged', '... E-1 still acknowledged');
SELECT is(pg_temp.warnings_of_e_operators(), (SELECT n FROM n0), '... no new warning');

-- =================================================================== the first escalation
SELECT is(credit_sandbox.escalate_overdue('2025-03-08 04:00:00.000001+00'), 1::bigint,
          'escalate: one microsecond after due_at: the acknowledged E-1 tip (E-2 corrected, E-3 not due)');
CREATE TEMP TABLE e1 AS
SELECT t.warning_id AS tip_id, t.status AS tip_status, t.escalated_to AS tip_escalated_to,
       t.status_changed_at AS tip_changed_at, t.status_changed_by AS tip_changed_by,
       t.due_at AS tip_due, t.subject_key AS tip_key, c.*
  FROM credit_sandbox.warnings t LEFT JOIN credit_sandbox.warnings c ON c.warning_id = t.escalated_to
 WHERE t.warning_id = pg_temp.latest_tip_id('E-1');
SELECT is((SELECT tip_status FROM e1), 'escalated', 'escalate: the tip''s status is escalated');
SELECT is((SELECT format('%s|%s', tip_changed_at = now(), tip_changed_by = current_user) FROM e1), 't|t',
          'escalate: status_changed_at and status_changed_by set');
SELECT isnt((SELECT tip_escalated_to FROM e1), NULL::bigint, 'escalate: escalated_to links the tip to the new warning');
SELECT is((SELECT warning_id FROM e1), (pg_temp.latest_warning('E-1', 'RL06', list => 'risk_trigger')).warning_id,
          'escalate: escalated_to is E-1''s new RL06 warning clue');
SELECT is((SELECT format('%s|%s|%s|%s|%s', operator_id, code, list, subject_key = tip_key, status) FROM e1),
          'E-1|RL06|risk_trigger|t|open', 'escalate: a new open warning clue on the same operator, code and key');
SELECT is((SELECT format('%s|%s', source_table, source_id = tip_id) FROM e1), 'warnings|t',
          'escalate: source_table warnings, source_id the tip');
SELECT is((SELECT format('%s|%s|%s|%s', occurred_at = tip_due, last_hit_at = tip_due, hits, due_at IS NULL) FROM e1),
          't|t|1|t', 'escalate: occurred_at = last_hit_at = the tip''s due_at, one hit, no due_at');
SELECT is((SELECT rule_version FROM e1), (SELECT version FROM credit_sandbox.rules WHERE code = 'RL06'),
          'escalate: the current rule version');
SELECT is((SELECT format('%s|%s|%s', (evidence ->> 'escalated_from')::bigint = tip_id, evidence ->> 'tip_hits',
                         (evidence ->> 'due_at')::timestamptz = tip_due) FROM e1),
          't|2|t', 'escalate: evidence escalated_from, tip_hits (2) and due_at');
SELECT is((SELECT count(*) FROM credit_sandbox.warning_hits h, e1
            WHERE h.warning_id = e1.warning_id AND h.source_table = 'warnings' AND h.source_id = e1.tip_id
              AND h.hit_at = e1.tip_due), 1::bigint, 'escalate: the hit is logged in warning_hits');
SELECT is(format('%s|%s|%s|%s', s.exited_at IS NOT NULL, s.exit_code, s.exit_reason,
                 s.exit_warning_id = (SELECT warning_id FROM e1)),
          't|RL06|RL06: misleading advertising|t', 'escalate: the member leaves the sandbox on the new clue')
  FROM pg_temp.latest_stay('E-1') s;
SELECT is((pg_temp.latest_stay('E-1')).exit_hit_at, '2025-03-08 04:00+00'::timestamptz, 'escalate: exit_hit_at = due_at');
SELECT is(format('%s|%s|%s', g.class, g.cause, g.graded_as_of = '2025-03-08 04:00+00'), 'B|warning clue RL06|t',
          'escalate: class capped at B, cause ''warning clue RL06''')
  FROM pg_temp.latest_grade('E-1') g;
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-2')), 'corrected', 'escalate: a corrected tip is not escalated');
SELECT is((SELECT escalated_to FROM credit_sandbox.warnings WHERE warning_id = pg_temp.latest_tip_id('E-2')), NULL::bigint,
          '... and has no escalated_to');
SELECT is(credit_sandbox.in_sandbox('E-2'), true, '... and its operator stays in');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-3')), 'open', 'escalate: a tip not yet due stays open');
SELECT is(pg_temp.warnings_of_e_operators(), (SELECT n FROM n0) + 1, 'escalate: exactly one new warning');

-- =================================================================== idempotence
CREATE TEMP TABLE snapshot AS SELECT * FROM credit_sandbox.warnings WHERE operator_id LIKE 'E-%';
SELECT is(credit_sandbox.escalate_overdue('2025-03-08 04:00:00.000001+00'), 0::bigint, 'escalate again: returns 0');
SELECT is(credit_sandbox.escalate_overdue('2025-03-09 00:00+00'), 0::bigint, 'escalate later, nothing newly due: 0');
SELECT set_eq($$SELECT * FROM credit_sandbox.warnings WHERE operator_id LIKE 'E-%'$$, $$SELECT * FROM snapshot$$,
              'escalate again: no warning changed or added');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE escalated_to IS NOT NULL AND operator_id LIKE 'E-%'),
          1::bigint, 'escalate again: still one escalated tip');

-- after the escalation the key belongs to the warning clue
CALL pg_temp.add_sale('E-1', '2025-03-20 04:00+00', item => 'ad', title => '最佳 耳机');
SELECT is((pg_temp.latest_warning('E-1', 'RL06', list => 'risk_trigger')).hits, 2::bigint, 'after escalation: a hit on the key counts on the new clue');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'E-1'), 2::bigint,
          '... no further warning');

-- =================================================================== later escalations
SELECT is(credit_sandbox.escalate_overdue('2025-03-11 00:00+00'), 1::bigint, 'escalate: the RL07 tip of E-5 (due 03-10)');
SELECT is(format('%s|%s|%s', w.code, w.subject_key, w.occurred_at = '2025-03-10 04:00+00'), 'RL07|E-5|t',
          'escalate: RL07 clue on the operator key, as of due_at')
  FROM pg_temp.latest_warning('E-5', 'RL07', list => 'risk_trigger') w;
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-5', 'RL07')), 'escalated', '... the RL07 tip escalated');
SELECT is((pg_temp.latest_stay('E-5')).exit_reason, 'RL07: refused lawful return', '... E-5 leaves the sandbox');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-3')), 'open', '... E-3 (due 03-12) still open');

SELECT is(credit_sandbox.escalate_overdue(now()), 2::bigint, 'escalate: as of now() exactly, E-3 and E-6');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-3')), 'escalated', '... the open E-3 tip escalated');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-6')), 'escalated', '... E-6''s tip escalated');
SELECT is(format('%s|%s', (pg_temp.latest_stay('E-6')).exit_code, (pg_temp.latest_stay('E-6')).exit_warning_id
                           = (pg_temp.latest_warning('E-6', 'RL03', list => 'risk_trigger')).warning_id), 'RL03|t',
          'escalate: a former member''s stay keeps its earlier exit');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-4', 'TP01')), 'open', 'escalate: a TP01 tip never escalates');
SELECT is((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'E-4'), 1::bigint, '... no warning clue for E-4');
SELECT is(credit_sandbox.in_sandbox('E-4'), true, '... E-4 stays in');
SELECT is(pg_temp.warning_status(pg_temp.latest_tip_id('E-2')), 'corrected', 'escalate: the corrected tip still not escalated as of now()');
SELECT is(credit_sandbox.escalate_overdue(), 0::bigint, 'escalate: at defaults to now(); nothing left: 0');
-- an escalated tip can only be closed
SELECT throws_ok(format('SELECT credit_sandbox.record_correction(%s)', pg_temp.latest_tip_id('E-1')), '55000',
                 format('warning %s is escalated, not open or acknowledged', pg_temp.latest_tip_id('E-1')),
                 'record_correction: an escalated tip -> 55000');
SELECT lives_ok(format('SELECT credit_sandbox.close_warning(%s, ''done'')', pg_temp.latest_tip_id('E-1')),
                'close_warning: an escalated tip');
SELECT is(format('%s|%s', w.status, w.escalated_to IS NOT NULL), 'closed|t', '... closed, the link kept')
  FROM credit_sandbox.warnings w WHERE w.warning_id = pg_temp.latest_tip_id('E-1');
SELECT is(credit_sandbox.escalate_overdue(), 0::bigint, 'escalate: a closed tip is not escalated');

SELECT * FROM finish();
ROLLBACK;
