-- analyst_views.sql -- pgTAP: the analysts' views of warnings over time, draws, stays and
-- overdue tips (SPEC.md section 6; issue 0.7, item 6): warnings_daily (every warning, any
-- status, per legal day of its first hit, region and rule), inspection_draw_summary and
-- inspection_task_details, sandbox_stays, overdue_tips.  Each view is checked against
-- the base tables computed another way (the legal day by AT TIME ZONE, not legal_day()),
-- then on rows whose figures are known; the legal day at the regulator's midnight,
-- whatever the session's TimeZone, and following credit_sandbox.time_zone; overdue_tips
-- is what escalate_overdue() escalates.  Privileges: an analyst login reads all four, the
-- application, a stranger and an operator login get 42501.
-- Operators 'AV-...' in regions 'AV-North' and 'AV-South'; warning data on legal days
-- 2033-05-01 and 2033-05-02 (Asia/Shanghai), overdue tips relative to now().  Roles are
-- created inside the transaction and vanish with its rollback.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(71);

\ir lib/defaults.sql
\ir lib/helpers.sql

-- ------------------------------------------------------------------ helpers of this file
-- warnings_daily computed from the warnings table another way: the legal day by AT TIME
-- ZONE, region and title by subqueries, counts by sums of CASE
CREATE FUNCTION pg_temp.warnings_daily_direct() RETURNS TABLE (day date, region text, code text, rule_title text,
        warnings bigint, warning_clues bigint, admin_tips bigint, hits bigint, operators bigint, open bigint,
        acknowledged bigint, corrected bigint, escalated bigint, closed bigint) LANGUAGE sql AS $$
    SELECT (w.occurred_at AT TIME ZONE current_setting('credit_sandbox.time_zone'))::date,
           (SELECT o.region FROM credit_sandbox.operators o WHERE o.operator_id = w.operator_id),
           w.code, (SELECT r.title FROM credit_sandbox.rules r WHERE r.code = w.code),
           sum(1)::bigint, sum(CASE w.list WHEN 'risk_trigger' THEN 1 ELSE 0 END)::bigint,
           sum(CASE w.list WHEN 'admin_tip' THEN 1 ELSE 0 END)::bigint, sum(w.hits)::bigint,
           count(DISTINCT w.operator_id),
           sum(CASE w.status WHEN 'open' THEN 1 ELSE 0 END)::bigint,
           sum(CASE w.status WHEN 'acknowledged' THEN 1 ELSE 0 END)::bigint,
           sum(CASE w.status WHEN 'corrected' THEN 1 ELSE 0 END)::bigint,
           sum(CASE w.status WHEN 'escalated' THEN 1 ELSE 0 END)::bigint,
           sum(CASE w.status WHEN 'closed' THEN 1 ELSE 0 END)::bigint
      FROM credit_sandbox.warnings w
     GROUP BY 1, 2, 3, 4 $$;
-- one row of warnings_daily as text: warnings|clues|tips|hits|operators|open|ack|corrected|escalated|closed
CREATE FUNCTION pg_temp.daily(d date, reg text, c text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', warnings, warning_clues, admin_tips, hits, operators,
                  open, acknowledged, corrected, escalated, closed)
      FROM credit_sandbox.warnings_daily v
     WHERE v.day = d AND v.region IS NOT DISTINCT FROM reg AND v.code = c $$;
-- the days of one region's and code's warnings
CREATE FUNCTION pg_temp.days(reg text, c text) RETURNS date[] LANGUAGE sql AS $$
    SELECT array_agg(v.day ORDER BY v.day) FROM credit_sandbox.warnings_daily v
     WHERE v.region IS NOT DISTINCT FROM reg AND v.code = c $$;
CREATE FUNCTION pg_temp.tip_of(op text) RETURNS bigint LANGUAGE sql AS
$$ SELECT (pg_temp.latest_warning(op, list => 'admin_tip')).warning_id $$;
-- the new views, for the privilege checks
CREATE FUNCTION pg_temp.new_views() RETURNS text[] LANGUAGE sql AS
$$ SELECT '{warnings_daily,inspection_draw_summary,inspection_task_details,sandbox_stays,overdue_tips}'::text[] $$;

-- =================================================================== fixtures
-- Legal days in Asia/Shanghai (UTC+8): 2033-05-01 15:59:59+00 is 23:59:59 on 05-01,
-- 16:00:00+00 is midnight starting 05-02.
CALL pg_temp.add_operator('AV-N1', licence => '2099-12-31', region => 'AV-North');
CALL pg_temp.add_operator('AV-N3', licence => '2099-12-31', region => 'AV-North');
CALL pg_temp.add_operator('AV-S1', licence => '2099-12-31', region => 'AV-South');
CALL pg_temp.add_sale('AV-N1', '2033-05-01 15:59:59+00', item => 'gun', cat => 'firearms');      -- RL03, day 05-01
CALL pg_temp.add_sale('AV-N1', '2033-05-01 16:00:00+00', item => 'gun2', cat => 'firearms');     -- RL03, day 05-02
CALL pg_temp.add_sale('AV-N1', '2033-05-03 04:00+00', item => 'gun', cat => 'firearms');         -- a 2nd hit on 'gun'
CALL pg_temp.add_sale('AV-N3', '2033-05-01 01:00+00', item => 'gun-a', cat => 'firearms');       -- RL03, 05-01
CALL pg_temp.add_sale('AV-N3', '2033-05-01 02:00+00', item => 'gun-b', cat => 'firearms');       -- RL03, 05-01
CALL pg_temp.admit_new_operator('AV-N2', licence => '2099-12-31', region => 'AV-North');
CALL pg_temp.add_sale('AV-N2', '2033-05-01 10:00+00', item => 'ad', title => '最佳 耳机');       -- RL06 tip
CALL pg_temp.add_sale('AV-S1', '2033-05-01 10:00+00', item => 'ad', title => '最佳 耳机');       -- RL06 clue
CALL pg_temp.add_sale('AV-GHOST', '2033-05-01 10:00+00');                                       -- RL01, no region
DO $$ BEGIN
    PERFORM credit_sandbox.acknowledge((pg_temp.latest_warning('AV-N3', 'RL03', 'gun-a')).warning_id);
    PERFORM credit_sandbox.close_warning((pg_temp.latest_warning('AV-N3', 'RL03', 'gun-b')).warning_id, 'seized');
    PERFORM credit_sandbox.record_correction(pg_temp.tip_of('AV-N2'), 'title fixed');
END $$;

-- tips against now(): AV-O1 3 days 2 hours overdue, AV-O2 1 day 1 hour overdue and
-- acknowledged, AV-O3 overdue but corrected, AV-O4 not due yet, AV-T a TP01 tip (no due_at)
CALL pg_temp.admit_new_operator('AV-O1', licence => '2099-12-31', region => 'AV-South');
CALL pg_temp.admit_new_operator('AV-O2', licence => '2099-12-31', region => 'AV-South');
CALL pg_temp.admit_new_operator('AV-O3', licence => '2099-12-31', region => 'AV-South');
CALL pg_temp.admit_new_operator('AV-O4', licence => '2099-12-31', region => 'AV-South');
CALL pg_temp.add_operator('AV-T', licence => current_date + 10, region => 'AV-South');
SELECT now() - interval '10 days 2 hours' AS o1_at, now() - interval '8 days 1 hour' AS o2_at \gset
CALL pg_temp.add_sale('AV-O1', :'o1_at', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AV-O2', :'o2_at', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AV-O3', now() - interval '9 days', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AV-O4', now() - interval '6 days', item => 'ad', title => '最佳 耳机');
CALL pg_temp.add_sale('AV-T', now());
DO $$ BEGIN
    PERFORM credit_sandbox.acknowledge(pg_temp.tip_of('AV-O2'));
    PERFORM credit_sandbox.record_correction(pg_temp.tip_of('AV-O3'), 'done');
END $$;

-- stays: AV-X leaves on a warning clue, AV-Y on its class (abnormal list)
CALL pg_temp.admit_new_operator('AV-X', licence => '2099-12-31', region => 'AV-North');
CALL pg_temp.add_sale('AV-X', '2033-05-01 10:00+00', item => 'gun', cat => 'firearms');
CALL pg_temp.admit_new_operator('AV-Y', licence => '2099-12-31', region => 'AV-North');
CALL pg_temp.add_list_entry('AV-Y', 'abnormal', '2020-01-01');
SELECT is(credit_sandbox.grade('AV-Y'), 'C', 'setup: AV-Y graded C (abnormal list), which ends its stay');

-- a draw: class A drawn at random (ratio 1), every other operator with an open clue triggered;
-- AV-I3 has a conflict with AV-N1, AV-I4 is inactive
INSERT INTO credit_sandbox.inspectors (inspector_id, name, region, active)
VALUES ('AV-I1', 'Li Wei', 'AV-North', true), ('AV-I2', 'Wang Fang', 'AV-North', true),
       ('AV-I3', 'Zhang Min', 'AV-South', true), ('AV-I4', 'Chen Jie', 'AV-South', false);
INSERT INTO credit_sandbox.inspector_conflicts (inspector_id, operator_id, reason) VALUES ('AV-I3', 'AV-N1', 'relative');
SELECT credit_sandbox.draw_inspections('av seed', '{"A": 1}', 2) AS av_draw \gset

-- =================================================================== warnings_daily
SELECT set_eq($$SELECT * FROM credit_sandbox.warnings_daily$$, $$SELECT * FROM pg_temp.warnings_daily_direct()$$,
              'warnings_daily: exactly the warnings table counted per legal day, region and rule');
SELECT is((SELECT sum(warnings) FROM credit_sandbox.warnings_daily), (SELECT count(*) FROM credit_sandbox.warnings)::numeric,
          'warnings_daily: every warning counted once, any status');
SELECT is((SELECT sum(warning_clues + admin_tips) = sum(warnings)
                  AND sum(open + acknowledged + corrected + escalated + closed) = sum(warnings)
             FROM credit_sandbox.warnings_daily), true,
          'warnings_daily: clues + tips and the five statuses each add up to warnings');
SELECT is(pg_temp.daily('2033-05-01', 'AV-North', 'RL03'), '4|4|0|5|3|2|1|0|0|1',
          'warnings_daily: 05-01, AV-North, RL03: four clues of three operators, five hits (one on 05-03), open, acknowledged, closed');
SELECT is(pg_temp.daily('2033-05-02', 'AV-North', 'RL03'), '1|1|0|1|1|1|0|0|0|0',
          'warnings_daily: the sale at 16:00:00 UTC is the next legal day''s (Shanghai midnight)');
SELECT is(pg_temp.daily('2033-05-01', 'AV-North', 'RL06'), '1|0|1|1|1|0|0|1|0|0',
          'warnings_daily: a member''s tip counted as a tip, corrected');
SELECT is(pg_temp.daily('2033-05-01', 'AV-South', 'RL06'), '1|1|0|1|1|1|0|0|0|0',
          'warnings_daily: the same rule and day in another region is a row of its own, a clue');
SELECT is(pg_temp.daily('2033-05-01', NULL, 'RL01'), '1|1|0|1|1|1|0|0|0|0',
          'warnings_daily: an unregistered operator''s warning has region NULL');
SELECT is((SELECT rule_title FROM credit_sandbox.warnings_daily WHERE day = '2033-05-01' AND region = 'AV-North'
              AND code = 'RL03'), 'prohibited goods', 'warnings_daily: the rule''s title');
SELECT is((SELECT hits FROM credit_sandbox.rule_hits_daily WHERE day = '2033-05-01' AND code = 'RL03'
              AND list = 'risk_trigger'), 4::bigint,
          '... while rule_hits_daily counts the 05-03 hit on its own day (AV-X''s RL03 included)');
SET LOCAL TimeZone = 'America/Los_Angeles';
SELECT is(pg_temp.days('AV-North', 'RL03'), '{2033-05-01,2033-05-02}'::date[],
          'warnings_daily: the session''s TimeZone changes no legal day');
SET LOCAL TimeZone = 'UTC';
SET LOCAL credit_sandbox.time_zone = 'UTC';
SELECT is(pg_temp.days('AV-North', 'RL03'), '{2033-05-01}'::date[],
          'warnings_daily: days follow credit_sandbox.time_zone (in UTC both first hits are on 05-01)');
SELECT is(pg_temp.daily('2033-05-01', 'AV-North', 'RL03'), '5|5|0|6|3|3|1|0|0|1',
          '... where 05-01 has all five of AV-North''s RL03 clues (AV-X''s too)');
SELECT set_eq($$SELECT * FROM credit_sandbox.warnings_daily$$, $$SELECT * FROM pg_temp.warnings_daily_direct()$$,
              'warnings_daily: still the warnings table counted per legal day in UTC');
SET LOCAL credit_sandbox.time_zone = 'Asia/Shanghai';

-- =================================================================== overdue_tips
SELECT set_eq($$SELECT warning_id, operator_id, code, subject_key, status, hits, occurred_at, last_hit_at, due_at
                  FROM credit_sandbox.overdue_tips$$,
              $$SELECT warning_id, operator_id, code, subject_key, status, hits, occurred_at, last_hit_at, due_at
                  FROM credit_sandbox.warnings
                 WHERE list = 'admin_tip' AND due_at IS NOT NULL AND due_at < now()
                   AND status NOT IN ('corrected', 'closed', 'escalated')$$,
              'overdue_tips: exactly the tips past due_at not corrected, closed or escalated');
SELECT set_eq($$SELECT operator_id FROM credit_sandbox.overdue_tips WHERE operator_id LIKE 'AV-%'$$,
              $$VALUES ('AV-O1'), ('AV-O2')$$,
              'overdue_tips: AV-O1 and AV-O2 (not the corrected AV-O3, the not yet due AV-O4, the TP01 tip of AV-T)');
SELECT is((pg_temp.latest_warning('AV-T', 'TP01')).list, 'admin_tip', '... AV-T has a tip indeed, without due_at');
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', operator_name, region, code, rule_title, status, days_overdue,
                         overdue_by, in_sandbox)
             FROM credit_sandbox.overdue_tips WHERE operator_id = 'AV-O1'),
          'test AV-O1|AV-South|RL06|misleading advertising|open|3|3 days 02:00:00|t',
          'overdue_tips: operator, rule, status, 3 whole days (3 days 2 hours) overdue, still a member');
SELECT is((SELECT format('%s|%s|%s', status, days_overdue, overdue_by) FROM credit_sandbox.overdue_tips
            WHERE operator_id = 'AV-O2'),
          'acknowledged|1|1 day 01:00:00', 'overdue_tips: an acknowledged tip is still overdue, 1 day');
SELECT is((SELECT due_at FROM credit_sandbox.overdue_tips WHERE operator_id = 'AV-O1'),
          :'o1_at'::timestamptz + interval '7 days', 'overdue_tips: due_at is the first hit + 7 days');
SELECT is((SELECT bool_and(days_overdue = floor(extract(epoch FROM now() - due_at) / 86400)
                           AND overdue_by = now() - due_at AND due_at < now())
             FROM credit_sandbox.overdue_tips), true,
          'overdue_tips: days_overdue and overdue_by of every row agree with due_at');
SELECT array_agg(warning_id ORDER BY warning_id) AS overdue_ids FROM credit_sandbox.overdue_tips \gset
SELECT is(credit_sandbox.escalate_overdue(), (SELECT cardinality(:'overdue_ids'::bigint[]))::bigint,
          'escalate_overdue() escalates as many tips as overdue_tips showed');
SELECT is((SELECT array_agg(warning_id ORDER BY warning_id) FROM credit_sandbox.warnings WHERE status = 'escalated'),
          :'overdue_ids'::bigint[], '... exactly those');
SELECT is_empty($$SELECT * FROM credit_sandbox.overdue_tips$$, 'overdue_tips: empty once they are escalated');
SELECT set_eq($$SELECT * FROM credit_sandbox.warnings_daily$$, $$SELECT * FROM pg_temp.warnings_daily_direct()$$,
              'warnings_daily: after escalation, still the warnings table counted (escalated tips and their clues)');
SELECT is((SELECT sum(escalated) FROM credit_sandbox.warnings_daily WHERE region = 'AV-South' AND code = 'RL06'),
          2::numeric, 'warnings_daily: the two escalated tips counted as escalated');

-- =================================================================== sandbox_stays
SELECT set_eq($$SELECT membership_id, operator_id, admitted_at, admitted_by, admit_reason, exited_at, exit_code,
                       exit_reason, exit_warning_id, exit_hit_at, ongoing FROM credit_sandbox.sandbox_stays$$,
              $$SELECT membership_id, operator_id, admitted_at, admitted_by, admit_reason, exited_at, exit_code,
                       exit_reason, exit_warning_id, exit_hit_at, exited_at IS NULL
                  FROM credit_sandbox.sandbox_memberships$$,
              'sandbox_stays: one row per stay of sandbox_memberships, current and ended');
SELECT is((SELECT bool_and(admitted_on = (admitted_at AT TIME ZONE 'Asia/Shanghai')::date
                           AND exited_on IS NOT DISTINCT FROM (exited_at AT TIME ZONE 'Asia/Shanghai')::date)
             FROM credit_sandbox.sandbox_stays), true, 'sandbox_stays: admitted_on and exited_on are legal days');
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s', operator_name, region, exit_code, exit_reason, ongoing,
                         exit_warning_id = (pg_temp.latest_warning('AV-X', 'RL03')).warning_id)
             FROM credit_sandbox.sandbox_stays WHERE operator_id = 'AV-X'),
          'test AV-X|AV-North|RL03|RL03: prohibited goods|f|t', 'sandbox_stays: an exit on a warning clue, with the clue');
SELECT is((SELECT exit_hit_at FROM credit_sandbox.sandbox_stays WHERE operator_id = 'AV-X'),
          '2033-05-01 10:00+00'::timestamptz, '... and the data time of the row that hit');
SELECT is((SELECT format('%s|%s|%s|%s', exit_code, exit_reason LIKE 'class C%', ongoing, exit_warning_id IS NULL)
             FROM credit_sandbox.sandbox_stays WHERE operator_id = 'AV-Y'),
          'CLASS|t|f|t', 'sandbox_stays: an exit on the class');
SELECT is((SELECT format('%s|%s|%s', ongoing, exited_at IS NULL, admit_reason LIKE '%class A, score%')
             FROM credit_sandbox.sandbox_stays WHERE operator_id = 'AV-N2'),
          't|t|t', 'sandbox_stays: an ongoing stay, with why it began');
SELECT is((SELECT bool_and(duration = exited_at - admitted_at) FROM credit_sandbox.sandbox_stays WHERE NOT ongoing),
          true, 'sandbox_stays: an ended stay lasted from admission to exit');
SELECT is((SELECT bool_and(duration = greatest(now() - admitted_at, interval '0'))
             FROM credit_sandbox.sandbox_stays WHERE ongoing), true,
          'sandbox_stays: an ongoing stay has lasted until now(), never less than 0');
SELECT set_eq($$SELECT operator_id, exit_code FROM credit_sandbox.sandbox_stays WHERE operator_id LIKE 'AV-%' AND NOT ongoing$$,
              $$VALUES ('AV-O1', 'RL06'), ('AV-O2', 'RL06'), ('AV-X', 'RL03'), ('AV-Y', 'CLASS')$$,
              'sandbox_stays: the ended stays of AV-..., the escalated tips'' operators among them');

-- =================================================================== draws and tasks
SELECT set_eq($$SELECT draw_id, drawn_at, drawn_by, seed, ratios, inspectors_per_task, inspectors, pool_operators,
                       pool_by_class, random_tasks, triggered_tasks FROM credit_sandbox.inspection_draw_summary$$,
              $$SELECT d.draw_id, d.drawn_at, d.drawn_by, d.seed, d.ratios, d.inspectors_per_task,
                       array_length(d.inspector_pool, 1) AS inspectors,
                       (SELECT count(*) FROM credit_sandbox.inspection_pool p WHERE p.draw_id = d.draw_id) AS pool,
                       coalesce((SELECT jsonb_object_agg(c, (SELECT count(*) FROM credit_sandbox.inspection_pool p
                                                              WHERE p.draw_id = d.draw_id AND p.class = c))
                                   FROM unnest('{A,B,C,D}'::text[]) c
                                  WHERE EXISTS (SELECT FROM credit_sandbox.inspection_pool p
                                                 WHERE p.draw_id = d.draw_id AND p.class = c)), '{}') AS by_class,
                       (SELECT count(*) FROM credit_sandbox.inspection_tasks t
                         WHERE t.draw_id = d.draw_id AND t.reason = 'random') AS random,
                       (SELECT count(*) FROM credit_sandbox.inspection_tasks t
                         WHERE t.draw_id = d.draw_id AND t.reason = 'triggered') AS triggered
                  FROM credit_sandbox.inspection_draws d$$,
              'inspection_draw_summary: one row per draw, counted from the pool and the tasks');
SELECT is((SELECT format('%s|%s|%s|%s', seed, ratios, inspectors_per_task, inspectors)
             FROM credit_sandbox.inspection_draw_summary WHERE draw_id = :av_draw),
          'av seed|{"A": 1}|2|3', 'inspection_draw_summary: the published inputs; the inactive inspector not in the pool');
SELECT is((SELECT random_tasks + triggered_tasks FROM credit_sandbox.inspection_draw_summary WHERE draw_id = :av_draw),
          (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE draw_id = :av_draw),
          'inspection_draw_summary: random and triggered tasks add up to the draw''s tasks');
SELECT cmp_ok((SELECT triggered_tasks FROM credit_sandbox.inspection_draw_summary WHERE draw_id = :av_draw), '>=', 3::bigint,
              'inspection_draw_summary: triggered tasks (AV-N1, AV-S1, AV-GHOST at least)');
SELECT is((SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
            WHERE a.attrelid IN ('credit_sandbox.inspection_draw_summary'::regclass,
                                 'credit_sandbox.inspection_task_details'::regclass)
              AND a.attnum > 0 AND a.attname IN ('conflicts', 'inspector_pool')),
          NULL::text[], 'the draw views show no conflict of interest and no list of inspectors beside the assigned');
SELECT set_eq($$SELECT draw_id, operator_id, reason, inspectors, class FROM credit_sandbox.inspection_task_details$$,
              $$SELECT t.draw_id, t.operator_id, t.reason, t.inspectors, p.class
                  FROM credit_sandbox.inspection_tasks t
                  JOIN credit_sandbox.inspection_pool p USING (draw_id, operator_id)$$,
              'inspection_task_details: one row per task, with the class of the pool');
SELECT is((SELECT bool_and(d.inspector_names = ARRAY(SELECT (SELECT i.name FROM credit_sandbox.inspectors i
                                                               WHERE i.inspector_id = d.inspectors[k])
                                                       FROM generate_subscripts(d.inspectors, 1) k ORDER BY k)
                           AND d.drawn_at = x.drawn_at)
             FROM credit_sandbox.inspection_task_details d JOIN credit_sandbox.inspection_draws x USING (draw_id)),
          true, 'inspection_task_details: inspector names in the order of the inspectors; the draw''s time');
SELECT is((SELECT format('%s|%s|%s|%s|%s', operator_name, region, class, reason, 'AV-I3' = ANY (inspectors))
             FROM credit_sandbox.inspection_task_details WHERE draw_id = :av_draw AND operator_id = 'AV-N1'),
          'test AV-N1|AV-North|B|triggered|f',
          'inspection_task_details: a triggered task, its class at the draw; the conflicted inspector not assigned');
SELECT is((SELECT format('%s|%s|%s', operator_name IS NULL, class IS NULL, reason)
             FROM credit_sandbox.inspection_task_details WHERE draw_id = :av_draw AND operator_id = 'AV-GHOST'),
          't|t|triggered', 'inspection_task_details: an unregistered operator has no name and no class');
SELECT is((SELECT format('%s|%s', reason, class) FROM credit_sandbox.inspection_task_details
            WHERE draw_id = :av_draw AND operator_id = 'AV-O4'),
          'random|A', 'inspection_task_details: a class-A operator off the no-disturbance list drawn at random');
SELECT is((SELECT cardinality(inspector_names) FROM credit_sandbox.inspection_task_details
            WHERE draw_id = :av_draw AND operator_id = 'AV-N1'), 2, 'inspection_task_details: two inspectors a task');

-- =================================================================== views' options
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relname = ANY (pg_temp.new_views())
              AND 'security_barrier=true' = ANY (c.reloptions)),
          '{inspection_draw_summary,inspection_task_details,overdue_tips,sandbox_stays,warnings_daily}',
          'the five views are security barriers');

-- =================================================================== privileges
SELECT isnt_empty($$SELECT * FROM credit_sandbox.create_roles()$$, 'setup: create_roles()');
CREATE ROLE av_analyst LOGIN IN ROLE credit_sandbox_analyst;
CREATE ROLE av_app LOGIN IN ROLE credit_sandbox_app;
CREATE ROLE av_stranger LOGIN;
-- the operators' own role, where create_roles() makes one
CREATE ROLE av_operator LOGIN;
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'credit_sandbox_operator') THEN
        GRANT credit_sandbox_operator TO av_operator;
    END IF;
END $$;
SELECT is(NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'credit_sandbox_operator')
          OR pg_has_role('av_operator', 'credit_sandbox_operator', 'MEMBER'), true,
          'setup: av_operator is a member of credit_sandbox_operator if that role exists');
SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) AS daily_digest FROM credit_sandbox.warnings_daily v \gset
SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) AS tasks_digest FROM credit_sandbox.inspection_task_details v \gset
SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) AS draws_digest FROM credit_sandbox.inspection_draw_summary v \gset
SELECT count(*) AS stays FROM credit_sandbox.sandbox_stays \gset

SET SESSION AUTHORIZATION av_analyst;
SELECT is((SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) FROM credit_sandbox.warnings_daily v), :'daily_digest',
          'analyst: reads warnings_daily, the rows its owner reads');
SELECT is((SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) FROM credit_sandbox.inspection_draw_summary v),
          :'draws_digest', 'analyst: reads inspection_draw_summary');
SELECT is((SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) FROM credit_sandbox.inspection_task_details v),
          :'tasks_digest', 'analyst: reads inspection_task_details');
SELECT is((SELECT count(*) FROM credit_sandbox.sandbox_stays), :'stays'::bigint, 'analyst: reads sandbox_stays');
SELECT lives_ok($$SELECT * FROM credit_sandbox.overdue_tips$$, 'analyst: reads overdue_tips');
SELECT throws_ok($$SELECT conflicts FROM credit_sandbox.inspection_draws$$, '42501',
                 'permission denied for table inspection_draws', 'analyst: cannot read the conflicts of a draw');
RESET SESSION AUTHORIZATION;

-- every other login: each of the five views refused
CREATE FUNCTION pg_temp.refused(login text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v text;
BEGIN
    FOREACH v IN ARRAY pg_temp.new_views() LOOP
        RETURN NEXT throws_ok(format('SELECT * FROM credit_sandbox.%I', v), '42501',
                              format('permission denied for view %s', v), format('%s: cannot read %s', login, v));
    END LOOP;
END $$;
SET SESSION AUTHORIZATION av_app;
SELECT * FROM pg_temp.refused('app');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION av_stranger;
SELECT * FROM pg_temp.refused('stranger');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION av_operator;
SELECT * FROM pg_temp.refused('operator');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
