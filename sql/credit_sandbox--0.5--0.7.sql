\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.7'" to load this file. \quit

-- credit_sandbox 0.5 -> 0.7: what an update must do to reach the objects of
-- credit_sandbox--0.7.sql, the one install script of 0.7 (sql/upgrade.sql
-- proves the two equal): comments, constraint validity, who removed a
-- default, the analysts' views of warnings over time, draws, stays and overdue
-- tips, the operators' own view and the audit trail, and the feed.

-- ===== constraints added NOT VALID
-- 0.4 added these NOT VALID, so that updating never scanned or failed on the
-- rows already stored; every row since has been checked.  A new install has
-- them valid.  Each is validated now (a scan that blocks no insert); one
-- that a stored row violates stays NOT VALID, and a WARNING names the fix
-- (CREATE and ALTER EXTENSION show no NOTICE).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT pg_catalog.format('credit_sandbox.%I', r.relname) AS tab, co.conname,
                    pg_catalog.pg_get_constraintdef(co.oid) AS def
               FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class r ON r.oid = co.conrelid
              WHERE co.connamespace = 'credit_sandbox'::regnamespace AND NOT co.convalidated
                AND co.coninhcount = 0 AND co.contype = 'c'
                AND co.conname IN ('transactions_unit_price_finite', 'transactions_list_price_finite',
                                   'reference_prices_price_finite', 'warning_hits_operator_id_not_null')
              ORDER BY 1, 2 LOOP
        BEGIN
            EXECUTE pg_catalog.format('ALTER TABLE %s VALIDATE CONSTRAINT %I', c.tab, c.conname);
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'constraint % of table % stays NOT VALID: stored rows violate it', c.conname, c.tab
                USING DETAIL = pg_catalog.format('The constraint is %s. New rows are checked all the same.', c.def),
                      HINT = pg_catalog.format('Correct or delete the rows that violate it, then run ALTER TABLE %s VALIDATE CONSTRAINT %I.',
                                               c.tab, c.conname);
        END;
    END LOOP;
END $$;

-- ===== who removed a default
-- The login, as in rules.changed_by: the trigger that writes the record runs
-- as the extension's owner, and recorded the owner.
ALTER TABLE credit_sandbox.removed_rows ALTER COLUMN removed_by SET DEFAULT SESSION_USER;

-- ===== analyst views: over time (new in 0.7)
-- Every warning whatever its status, draws and their tasks, stays and their
-- ends, tips past their deadline: what analysts follow without the admin
-- role.  Security barriers, like the views above; granted by create_roles().

-- Warnings by the legal day of their first hit, the operator's region and
-- the red line, every status.  Hits are those counted on these warnings,
-- whatever day they came (rule_hits_daily counts hits by their own day).
CREATE VIEW credit_sandbox.warnings_daily WITH (security_barrier) AS
SELECT credit_sandbox.legal_day(w.occurred_at) AS day, o.region, w.code, r.title AS rule_title,
       count(*) AS warnings,
       count(*) FILTER (WHERE w.list = 'risk_trigger') AS warning_clues,
       count(*) FILTER (WHERE w.list = 'admin_tip') AS admin_tips,
       sum(w.hits)::bigint AS hits,
       count(DISTINCT w.operator_id) AS operators,
       count(*) FILTER (WHERE w.status = 'open') AS open,
       count(*) FILTER (WHERE w.status = 'acknowledged') AS acknowledged,
       count(*) FILTER (WHERE w.status = 'corrected') AS corrected,
       count(*) FILTER (WHERE w.status = 'escalated') AS escalated,
       count(*) FILTER (WHERE w.status = 'closed') AS closed
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW credit_sandbox.warnings_daily IS
    'Every warning clue and tip, any status, counted per legal day of its first hit, region and rule.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.day IS
    'Legal day (credit_sandbox.time_zone) of the warnings'' first hit (warnings.occurred_at).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.region IS 'The operators'' region; NULL = unregistered or no region given.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.warnings IS 'Warning clues and tips first hit that day (warning_clues + admin_tips).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.warning_clues IS 'Of them, warning clues (risk_trigger).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.admin_tips IS 'Of them, administrative tips (admin_tip).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.hits IS 'Hits counted on them, the later days'' included.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.operators IS 'Operators they are about.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.open IS 'Of them, status open now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.acknowledged IS 'Of them, status acknowledged now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.corrected IS 'Of them, status corrected now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.escalated IS 'Of them, status escalated now (tips past due, turned into clues).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.closed IS 'Of them, status closed now.';

-- One row per draw.  The seed is shown: it was published before the draw
-- and anyone checks the draw with it (verify_draw is the analysts' too).
-- Conflicts of interest are not shown: who is related to whom is personal,
-- and the tasks already show they were respected.
CREATE VIEW credit_sandbox.inspection_draw_summary WITH (security_barrier) AS
SELECT d.draw_id, d.drawn_at, d.drawn_by, d.seed, d.ratios, d.inspectors_per_task,
       cardinality(d.inspector_pool) AS inspectors,
       (SELECT count(*) FROM credit_sandbox.inspection_pool p WHERE p.draw_id = d.draw_id) AS pool_operators,
       (SELECT coalesce(jsonb_object_agg(c.class, c.n), '{}')
          FROM (SELECT p.class, count(*) AS n FROM credit_sandbox.inspection_pool p
                 WHERE p.draw_id = d.draw_id AND p.class IS NOT NULL GROUP BY p.class) c) AS pool_by_class,
       (SELECT count(*) FROM credit_sandbox.inspection_tasks t
         WHERE t.draw_id = d.draw_id AND t.reason = 'random') AS random_tasks,
       (SELECT count(*) FROM credit_sandbox.inspection_tasks t
         WHERE t.draw_id = d.draw_id AND t.reason = 'triggered') AS triggered_tasks
  FROM credit_sandbox.inspection_draws d;
COMMENT ON VIEW credit_sandbox.inspection_draw_summary IS
    'Each dual-random draw: its published inputs, the pool per class and the tasks it gave (conflicts of interest left out).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.draw_id IS 'The draw (inspection_draws.draw_id).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.drawn_at IS 'When it was made.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.drawn_by IS 'Login that made it.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.seed IS
    'The seed, published before the draw: verify_draw(draw_id) or any sha256 tool recomputes the draw from it.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.ratios IS 'Share of each class drawn; a class left out is not drawn.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.inspectors_per_task IS 'Inspectors assigned to each task.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.inspectors IS 'Active inspectors at the draw (its inspector pool).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.pool_operators IS
    'Operators it chose from: off the no-disturbance list, or with an open warning clue.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.pool_by_class IS
    'Of them, how many in each class at the draw, e.g. {"A": 40, "B": 7}; unregistered ones are in no class.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.random_tasks IS 'Tasks drawn at random in their class.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.triggered_tasks IS 'Tasks for an open warning clue, not drawn at random.';

-- One row per task, with the operator, its class at the draw and the
-- inspectors by name.  0.7 records no visit or outcome: a task is what the
-- draw assigned.
CREATE VIEW credit_sandbox.inspection_task_details WITH (security_barrier) AS
SELECT t.draw_id, d.drawn_at, t.operator_id, o.name AS operator_name, o.region, p.class, t.reason,
       t.inspectors,
       ARRAY(SELECT i.name FROM unnest(t.inspectors) WITH ORDINALITY AS x(inspector_id, n)
               LEFT JOIN credit_sandbox.inspectors i ON i.inspector_id = x.inspector_id
              ORDER BY x.n) AS inspector_names
  FROM credit_sandbox.inspection_tasks t
  JOIN credit_sandbox.inspection_draws d ON d.draw_id = t.draw_id
  LEFT JOIN credit_sandbox.inspection_pool p ON p.draw_id = t.draw_id AND p.operator_id = t.operator_id
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = t.operator_id;
COMMENT ON VIEW credit_sandbox.inspection_task_details IS
    'Each inspection task of each draw: the operator, its class at the draw, random or triggered, and its inspectors.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.drawn_at IS 'When the draw was made.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.operator_id IS 'The operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.class IS 'Its class at the draw; NULL = unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.reason IS 'random (drawn in its class) or triggered (an open warning clue).';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.inspectors IS 'The inspectors assigned, in drawn order.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.inspector_names IS
    'Their names, in the same order (NULL for an inspector since deleted).';

-- One row per stay in the sandbox, current or ended, with why it began and
-- why it ended.  A stay begins at clock time under the operator's lock, after
-- now() of the transaction that admits it: its duration is not negative.
CREATE VIEW credit_sandbox.sandbox_stays WITH (security_barrier) AS
SELECT m.membership_id, m.operator_id, o.name AS operator_name, o.region,
       m.admitted_at, credit_sandbox.legal_day(m.admitted_at) AS admitted_on, m.admitted_by, m.admit_reason,
       m.exited_at, credit_sandbox.legal_day(m.exited_at) AS exited_on, m.exit_code, m.exit_reason,
       m.exit_warning_id, m.exit_hit_at, m.exited_at IS NULL AS ongoing,
       coalesce(m.exited_at, greatest(m.admitted_at, now())) - m.admitted_at AS duration
  FROM credit_sandbox.sandbox_memberships m
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = m.operator_id;
COMMENT ON VIEW credit_sandbox.sandbox_stays IS
    'Every stay in the credit sandbox, current or ended: when and why it began and ended.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.membership_id IS 'The stay (sandbox_memberships.membership_id).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.operator_id IS 'The member.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.operator_name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_at IS 'When the stay began.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_on IS 'Its legal day (credit_sandbox.time_zone).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_by IS 'Login that admitted it (admit or renew_sandbox).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admit_reason IS 'Why: class A and its score.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exited_at IS 'When the stay ended; NULL = ongoing.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exited_on IS 'Its legal day; NULL = ongoing.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_code IS 'CLASS (graded below A) or the code of the warning clue that ended it.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_reason IS 'Why it ended: the class, or the clue''s code and title.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_warning_id IS 'The warning clue that ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_hit_at IS 'Data time of the row whose hit ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.ongoing IS 'Whether the stay goes on now.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.duration IS
    'How long it lasted, or has lasted until now() (0 in the transaction that began it).';

-- Tips past due_at and neither corrected, closed nor escalated: what
-- escalate_overdue() escalates on its next run.
CREATE VIEW credit_sandbox.overdue_tips WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.due_at,
       now() - w.due_at AS overdue_by,
       floor(date_part('epoch', now() - w.due_at) / 86400)::integer AS days_overdue,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.list = 'admin_tip' AND w.status IN ('open', 'acknowledged') AND w.due_at < now();
COMMENT ON VIEW credit_sandbox.overdue_tips IS
    'Tips past their correction deadline and not corrected, closed or escalated: what escalate_overdue() escalates next.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.warning_id IS 'The tip (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.code IS 'The rule hit.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.status IS 'open or acknowledged.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.due_at IS 'End of its correction period (occurred_at + correction period).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.overdue_by IS 'How long past due_at it is now.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.days_overdue IS 'Whole days past due_at (24-hour periods, 0 in the first).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.in_sandbox IS 'Whether the operator is in the sandbox now.';

-- ===== comments
-- Every table, view, column, function and sequence says what it is for.

COMMENT ON SCHEMA credit_sandbox IS
    'credit_sandbox: red lines checked on every row the platforms insert, warnings and tips, credit classes, the credit sandbox and dual-random inspections.';
COMMENT ON FUNCTION credit_sandbox.legal_day(timestamptz) IS
    'The date of a moment in the regulator''s time zone (credit_sandbox.time_zone): the day rules judge a row by.';
COMMENT ON TABLE credit_sandbox.operators IS
    'Online operators (sellers). licence_valid_until NULL = no valid licence; permits named as in regulated_categories.permit.';
COMMENT ON COLUMN credit_sandbox.operators.operator_id IS
    'The operator''s id, as the platforms give it in every event row (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.operators.name IS 'Trading name.';
COMMENT ON COLUMN credit_sandbox.operators.region IS 'Region (district) the operator is registered in.';
COMMENT ON COLUMN credit_sandbox.operators.registered_on IS
    'Legal day of registration; a sale dated before it is unregistered (RL01). The regulator''s, not the platform''s.';
COMMENT ON COLUMN credit_sandbox.operators.licence_valid_until IS
    'Last legal day (inclusive) the business licence is valid; NULL = no valid licence (RL01, TP01). The regulator''s.';
COMMENT ON COLUMN credit_sandbox.operators.permits IS
    'Permits held, named as in regulated_categories.permit (RL01). The regulator''s.';
COMMENT ON TABLE credit_sandbox.operator_lists IS
    'Abnormal-operations and serious illegal-and-dishonest list entries; in force from listed_on inclusive to removed_on exclusive.';
COMMENT ON COLUMN credit_sandbox.operator_lists.list_entry_id IS 'Generated key of the entry.';
COMMENT ON COLUMN credit_sandbox.operator_lists.operator_id IS 'The listed operator (need not be registered).';
COMMENT ON COLUMN credit_sandbox.operator_lists.list IS
    'abnormal (abnormal-operations list: class C or worse) or dishonest (serious illegal-and-dishonest list: class D); both hit RL02.';
COMMENT ON COLUMN credit_sandbox.operator_lists.listed_on IS 'First legal day the entry is in force (inclusive).';
COMMENT ON COLUMN credit_sandbox.operator_lists.removed_on IS
    'Legal day the entry is lifted (exclusive); NULL = still listed.';
COMMENT ON SEQUENCE credit_sandbox.operator_lists_list_entry_id_seq IS 'Generates operator_lists.list_entry_id.';
COMMENT ON TABLE credit_sandbox.transactions IS
    'Sales the platforms insert, checked against RL01-RL06, RL09 and TP01 as they arrive.';
COMMENT ON COLUMN credit_sandbox.transactions.txn_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.transactions.operator_id IS 'The selling operator (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.transactions.occurred_at IS
    'When the sale happened (finite); windows are on it and its legal day dates it.';
COMMENT ON COLUMN credit_sandbox.transactions.buyer_id IS 'The buyer, as the platform identifies it.';
COMMENT ON COLUMN credit_sandbox.transactions.ship_to IS
    'Delivery address, hashed by the platform (at most 512 bytes); NULL = none, skipped by RL04.';
COMMENT ON COLUMN credit_sandbox.transactions.item_id IS 'The item sold (at most 512 bytes): the key of RL03, RL05, RL06 and RL09.';
COMMENT ON COLUMN credit_sandbox.transactions.item_title IS
    'Listing title as shown to buyers: searched for prohibited (RL03) and absolute (RL06) terms.';
COMMENT ON COLUMN credit_sandbox.transactions.category IS
    'Item category, as named in the reference lists (regulated, prohibited, reference prices).';
COMMENT ON COLUMN credit_sandbox.transactions.quantity IS 'Units sold (> 0).';
COMMENT ON COLUMN credit_sandbox.transactions.unit_price IS 'Price paid per unit (finite, >= 0; RL05, RL09).';
COMMENT ON COLUMN credit_sandbox.transactions.list_price IS
    'Declared "original" price shown beside a discount (finite, >= 0); NULL = no discount claim (RL05).';
COMMENT ON SEQUENCE credit_sandbox.transactions_txn_id_seq IS 'Generates transactions.txn_id.';
COMMENT ON TABLE credit_sandbox.returns IS 'Return requests the platforms insert, checked against RL07.';
COMMENT ON COLUMN credit_sandbox.returns.return_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.returns.txn_id IS 'The sale returned, if known (not enforced: it may be stored elsewhere).';
COMMENT ON COLUMN credit_sandbox.returns.operator_id IS 'The selling operator (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.returns.category IS
    'Item category; one of return_exempt_categories never counts for RL07.';
COMMENT ON COLUMN credit_sandbox.returns.delivered_at IS
    'When the goods were delivered (finite); NULL = unknown, never counts for RL07.';
COMMENT ON COLUMN credit_sandbox.returns.requested_at IS
    'When the return was requested (finite): within the return period of delivered_at it is lawful (RL07).';
COMMENT ON COLUMN credit_sandbox.returns.outcome IS 'refunded, refused (RL07 looks at these) or pending.';
COMMENT ON SEQUENCE credit_sandbox.returns_return_id_seq IS 'Generates returns.return_id.';
COMMENT ON TABLE credit_sandbox.complaints IS 'Consumer complaints the platforms insert, checked against RL08.';
COMMENT ON COLUMN credit_sandbox.complaints.complaint_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.complaints.operator_id IS 'The operator complained about (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.complaints.received_at IS
    'When the complaint was received (finite): RL08 counts complaints in windows ending here.';
COMMENT ON COLUMN credit_sandbox.complaints.channel IS 'How it arrived (hotline, web, ...); informative only.';
COMMENT ON COLUMN credit_sandbox.complaints.category IS 'What it is about; informative only.';
COMMENT ON SEQUENCE credit_sandbox.complaints_complaint_id_seq IS 'Generates complaints.complaint_id.';
COMMENT ON TABLE credit_sandbox.regulated_categories IS
    'Categories that need a permit: a sale in one by an operator without the permit hits RL01.';
COMMENT ON COLUMN credit_sandbox.regulated_categories.category IS 'Category, as in transactions.category.';
COMMENT ON COLUMN credit_sandbox.regulated_categories.permit IS 'The permit it needs, as in operators.permits.';
COMMENT ON TABLE credit_sandbox.prohibited_categories IS 'Categories no one may sell: a sale in one hits RL03.';
COMMENT ON COLUMN credit_sandbox.prohibited_categories.category IS 'Category, as in transactions.category.';
COMMENT ON TABLE credit_sandbox.prohibited_terms IS
    'Terms of prohibited goods: an item_title containing one (case-insensitive) hits RL03.';
COMMENT ON COLUMN credit_sandbox.prohibited_terms.term IS 'The term, matched anywhere in the title (UTF-8, case-insensitive).';
COMMENT ON TABLE credit_sandbox.absolute_terms IS
    'Advertising superlatives (best in the world, 最佳, ...): an item_title containing one hits RL06.';
COMMENT ON COLUMN credit_sandbox.absolute_terms.term IS 'The term, matched anywhere in the title (UTF-8, case-insensitive).';
COMMENT ON TABLE credit_sandbox.return_exempt_categories IS
    'Categories exempt from returns without reason (custom-made, fresh, digital, ...): their refusals never hit RL07.';
COMMENT ON COLUMN credit_sandbox.return_exempt_categories.category IS 'Category, as in returns.category.';
COMMENT ON TABLE credit_sandbox.reference_prices IS
    'Reference prices for RL09, of an item or of a category (exactly one set); the item''s wins, then the latest valid_from.';
COMMENT ON COLUMN credit_sandbox.reference_prices.reference_price_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.reference_prices.item_id IS 'The item priced, as in transactions.item_id; NULL for a category''s price.';
COMMENT ON COLUMN credit_sandbox.reference_prices.category IS 'The category priced; NULL for an item''s price.';
COMMENT ON COLUMN credit_sandbox.reference_prices.price IS
    'Reference unit price, in the currency of transactions.unit_price (finite, > 0).';
COMMENT ON COLUMN credit_sandbox.reference_prices.valid_from IS 'First legal day it applies (inclusive); NULL = always before.';
COMMENT ON COLUMN credit_sandbox.reference_prices.valid_to IS 'Last legal day it applies (inclusive); NULL = open.';
COMMENT ON SEQUENCE credit_sandbox.reference_prices_reference_price_id_seq IS
    'Generates reference_prices.reference_price_id.';
COMMENT ON TABLE credit_sandbox.rules IS
    'The nine red lines and the TP01 tip. Parameters are validated when written; a change bumps version and applies to the next inserted row.';
COMMENT ON COLUMN credit_sandbox.rules.code IS 'RL01-RL09 (red lines) or TP01 (tip).';
COMMENT ON COLUMN credit_sandbox.rules.title IS 'Short name of the red line, shown in open_warnings.';
COMMENT ON COLUMN credit_sandbox.rules.list IS
    'What a hit writes: risk_trigger (a warning clue) or admin_tip (an administrative tip).';
COMMENT ON COLUMN credit_sandbox.rules.params IS
    'Parameters, e.g. RL04 {"window": "24 hours", "threshold": 8}; intervals as interval text, validated when written.';
COMMENT ON COLUMN credit_sandbox.rules.tolerable IS
    'A sandbox member''s first hit in 365 days is a tip with a 7-day correction period instead of a clue.';
COMMENT ON COLUMN credit_sandbox.rules.enabled IS 'false = not checked.';
COMMENT ON COLUMN credit_sandbox.rules.version IS
    'Bumped by a change of list, params, tolerable or enabled; warnings record it (rule_history keeps each).';
COMMENT ON COLUMN credit_sandbox.rules.changed_at IS 'When the current version was written.';
COMMENT ON COLUMN credit_sandbox.rules.changed_by IS 'Login (session user) that wrote the current version.';
COMMENT ON FUNCTION credit_sandbox.rules_validate() IS
    'Trigger on rules: refuses bad parameters with a clear error, bumps version on a change.';
COMMENT ON TABLE credit_sandbox.rule_history IS
    'Every version of every rule, written by a trigger on rules: what a warning''s rule_version meant.';
COMMENT ON COLUMN credit_sandbox.rule_history.code IS 'The rule, as in rules.code.';
COMMENT ON COLUMN credit_sandbox.rule_history.version IS 'Its version, as in warnings.rule_version.';
COMMENT ON COLUMN credit_sandbox.rule_history.list IS 'risk_trigger or admin_tip, in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.params IS 'Parameters of that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.tolerable IS 'Tolerable in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.enabled IS 'Enabled in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.changed_at IS 'When the version was written.';
COMMENT ON COLUMN credit_sandbox.rule_history.changed_by IS 'Login that wrote it.';
COMMENT ON FUNCTION credit_sandbox.rules_record_version() IS
    'Trigger on rules: writes each new version to rule_history (as the owner: no role writes the history).';
COMMENT ON TABLE credit_sandbox.warnings IS
    'Warning clues (risk_trigger) and administrative tips (admin_tip), one open row per (operator_id, code, subject_key).';
COMMENT ON COLUMN credit_sandbox.warnings.warning_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.warnings.operator_id IS 'The operator it is about (registered or not).';
COMMENT ON COLUMN credit_sandbox.warnings.code IS 'The rule hit, as in rules.code (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.warnings.list IS 'risk_trigger (warning clue) or admin_tip (administrative tip).';
COMMENT ON COLUMN credit_sandbox.warnings.subject_key IS
    'What it is about: item_id (RL03, RL05, RL06, RL09), ship_to (RL04), else operator_id.';
COMMENT ON COLUMN credit_sandbox.warnings.source_table IS
    'Table of the first hit''s row: transactions, returns, complaints, or warnings (an escalated tip).';
COMMENT ON COLUMN credit_sandbox.warnings.source_id IS 'Key of that row in source_table.';
COMMENT ON COLUMN credit_sandbox.warnings.occurred_at IS 'Data time of the first hit''s row (its occurred_at, requested_at or received_at).';
COMMENT ON COLUMN credit_sandbox.warnings.raised_at IS 'Wall-clock time it was written (now() of that transaction).';
COMMENT ON COLUMN credit_sandbox.warnings.rule_version IS 'Version of the rule that judged the first hit (rule_history).';
COMMENT ON COLUMN credit_sandbox.warnings.evidence IS 'The observed values and the thresholds they were held against.';
COMMENT ON COLUMN credit_sandbox.warnings.hits IS 'Hits counted on it while open (the first included).';
COMMENT ON COLUMN credit_sandbox.warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.warnings.status IS
    'open -> acknowledged -> corrected | escalated -> closed; only an open one counts further hits.';
COMMENT ON COLUMN credit_sandbox.warnings.due_at IS
    'End of a tolerance tip''s correction period (occurred_at + 7 days); NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.warnings.status_changed_at IS 'When status last changed; NULL = never.';
COMMENT ON COLUMN credit_sandbox.warnings.status_changed_by IS 'Login that last changed status.';
COMMENT ON COLUMN credit_sandbox.warnings.status_note IS 'Note given with the latest status change that had one.';
COMMENT ON COLUMN credit_sandbox.warnings.escalated_to IS 'For an escalated tip: the warning clue escalate_overdue wrote for it.';
COMMENT ON SEQUENCE credit_sandbox.warnings_warning_id_seq IS 'Generates warnings.warning_id.';
COMMENT ON TABLE credit_sandbox.warning_hits IS
    'Every hit, the first of a warning and each one counted on it: which row hit, and when.';
COMMENT ON COLUMN credit_sandbox.warning_hits.warning_id IS 'The warning the hit was written to or counted on.';
COMMENT ON COLUMN credit_sandbox.warning_hits.source_table IS 'Table of the row that hit: transactions, returns, complaints or warnings.';
COMMENT ON COLUMN credit_sandbox.warning_hits.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.warning_hits.hit_at IS 'Data time of that row.';
COMMENT ON COLUMN credit_sandbox.warning_hits.operator_id IS
    'The warning''s operator: the distribution column of a sharded deployment.';
COMMENT ON TABLE credit_sandbox.grading_weights IS
    'Points taken off a score of 100 per unit of each grading indicator (editable).';
COMMENT ON COLUMN credit_sandbox.grading_weights.indicator IS 'The indicator, as in operator_grades.indicators.';
COMMENT ON COLUMN credit_sandbox.grading_weights.weight IS 'Points off per unit of the indicator.';
COMMENT ON COLUMN credit_sandbox.grading_weights.description IS 'What one unit of the indicator is.';
COMMENT ON TABLE credit_sandbox.grade_boundaries IS
    'Lowest score of classes A, B and C (A > B > C); a lower score is D (editable).';
COMMENT ON COLUMN credit_sandbox.grade_boundaries.class IS 'A, B or C.';
COMMENT ON COLUMN credit_sandbox.grade_boundaries.min_score IS 'Lowest score (out of 100) of the class.';
COMMENT ON FUNCTION credit_sandbox.grading_validate() IS
    'Trigger on grading_weights and grade_boundaries: refuses unknown indicators or classes and bad numbers.';
COMMENT ON FUNCTION credit_sandbox.grade_boundaries_ordered() IS
    'Trigger on grade_boundaries, per statement: A, B and C present, their scores strictly decreasing.';
COMMENT ON TABLE credit_sandbox.operator_grades IS
    'History of credit classes. indicators: {indicator: {value, weight, points}}; hard_rules: the rules that capped the class; score_class: the class by score alone.';
COMMENT ON COLUMN credit_sandbox.operator_grades.grade_id IS 'Generated key; an operator''s class is its latest row.';
COMMENT ON COLUMN credit_sandbox.operator_grades.operator_id IS 'The operator graded.';
COMMENT ON COLUMN credit_sandbox.operator_grades.graded_as_of IS
    'The moment judged: indicators count the 365 days before it, on its legal day.';
COMMENT ON COLUMN credit_sandbox.operator_grades.graded_at IS 'Wall-clock time the grade was written.';
COMMENT ON COLUMN credit_sandbox.operator_grades.score IS '100 minus the points of every indicator (2 decimals).';
COMMENT ON COLUMN credit_sandbox.operator_grades.score_class IS 'The class by score alone (grade_boundaries).';
COMMENT ON COLUMN credit_sandbox.operator_grades.class IS 'The class: score_class capped by the hard rules; A (low risk) to D (high).';
COMMENT ON COLUMN credit_sandbox.operator_grades.indicators IS '{indicator: {value, weight, points}}: why the score is what it is.';
COMMENT ON COLUMN credit_sandbox.operator_grades.hard_rules IS 'JSON array: the hard rules that capped the class.';
COMMENT ON COLUMN credit_sandbox.operator_grades.cause IS
    'What graded it: grade, regrade, first grading, or warning clue <code> (a clue caps class A at B).';
COMMENT ON SEQUENCE credit_sandbox.operator_grades_grade_id_seq IS 'Generates operator_grades.grade_id.';
COMMENT ON FUNCTION credit_sandbox.grade(text, timestamptz) IS
    'Grades one operator as of at, records it in operator_grades, returns A..D; a member graded below A leaves the sandbox.';
COMMENT ON FUNCTION credit_sandbox.regrade(timestamptz) IS
    'Grades every operator as of at in one pass; returns how many.';
COMMENT ON FUNCTION credit_sandbox.grade_ungraded(timestamptz) IS
    'Grades, in one pass, every operator never graded; returns how many.';
COMMENT ON VIEW credit_sandbox.operator_classes IS 'The latest class of each graded operator.';
COMMENT ON COLUMN credit_sandbox.operator_classes.operator_id IS 'The operator.';
COMMENT ON COLUMN credit_sandbox.operator_classes.class IS 'Its latest class, A (low risk) to D (high).';
COMMENT ON COLUMN credit_sandbox.operator_classes.score IS 'The score of that grading (out of 100).';
COMMENT ON COLUMN credit_sandbox.operator_classes.graded_as_of IS 'The moment that grading judged.';
COMMENT ON COLUMN credit_sandbox.operator_classes.grade_id IS 'That grading in operator_grades.';
COMMENT ON TABLE credit_sandbox.sandbox_memberships IS
    'Stays in the credit sandbox, one row each, kept after they end; current while exited_at is NULL.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.membership_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.operator_id IS 'The member; at most one current stay each.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admitted_at IS 'When the stay began (clock time under the operator''s lock).';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admitted_by IS 'Login that admitted it (admit or renew_sandbox).';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admit_reason IS 'Why: class A and its score, by admit or a renewal.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exited_at IS 'When the stay ended (clock time); NULL = current.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_reason IS 'Why it ended: the class and hard rules, or the clue''s code and title.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_code IS 'CLASS (graded below A) or the code of the warning clue that ended it.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_warning_id IS 'The warning clue that ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_hit_at IS 'Data time of the row whose hit ended it, if one did.';
COMMENT ON SEQUENCE credit_sandbox.sandbox_memberships_membership_id_seq IS 'Generates sandbox_memberships.membership_id.';
COMMENT ON FUNCTION credit_sandbox.lock_operator(text) IS
    'Takes the transaction-level lock that serialises the checks of one operator.';
COMMENT ON FUNCTION credit_sandbox.lock_all_operators() IS
    'Takes every operator''s lock, in the global order, until the transaction ends: for what works across operators.';
COMMENT ON FUNCTION credit_sandbox.in_sandbox(text) IS 'Whether the operator is in the sandbox now. Anyone may ask.';
COMMENT ON FUNCTION credit_sandbox.admit(text) IS
    'Grades the operator now and admits it to the sandbox if class A (else an error); false when already a member.';
COMMENT ON FUNCTION credit_sandbox.renew_sandbox(timestamptz) IS
    'Regrades everyone as of at, removes members below A, admits every class-A non-member; returns each change.';
COMMENT ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz) IS
    'The members at a moment, with the start of their stay: membership history for analysts.';
COMMENT ON FUNCTION credit_sandbox.close_warning(bigint, text) IS 'Any status but closed -> closed: the case is settled.';
COMMENT ON TABLE credit_sandbox.inspectors IS 'Inspectors a draw may assign to tasks.';
COMMENT ON COLUMN credit_sandbox.inspectors.inspector_id IS 'The inspector''s id: hashed with the seed to draw.';
COMMENT ON COLUMN credit_sandbox.inspectors.name IS 'Name.';
COMMENT ON COLUMN credit_sandbox.inspectors.region IS 'Region the inspector works in; informative only.';
COMMENT ON COLUMN credit_sandbox.inspectors.active IS 'false = left out of draws.';
COMMENT ON TABLE credit_sandbox.inspector_conflicts IS 'Inspectors never assigned to an operator (a conflict of interest).';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.inspector_id IS 'The inspector.';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.operator_id IS 'The operator it must not inspect.';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.reason IS 'Why; informative only.';
COMMENT ON TABLE credit_sandbox.inspection_draws IS
    'Dual-random draws, each with every input needed to recompute it (verify_draw).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.draw_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.seed IS 'The seed, published before the draw: every hash is sha256(seed || '':'' || ...).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.ratios IS 'Share of each class drawn, e.g. {"A": 0.03, "D": 0.80}; a class left out is not drawn.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.inspectors_per_task IS 'Inspectors assigned to each task (>= 1).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.drawn_at IS 'When the draw was made.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.drawn_by IS 'Login that made it.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.inspector_pool IS 'The active inspectors at the draw, sorted.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.conflicts IS 'The conflicts at the draw: [[inspector_id, operator_id], ...].';
COMMENT ON SEQUENCE credit_sandbox.inspection_draws_draw_id_seq IS 'Generates inspection_draws.draw_id.';
COMMENT ON TABLE credit_sandbox.inspection_pool IS
    'The operators a draw chose from (no-disturbance members excluded), with their class at the draw.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.operator_id IS 'An operator of its pool.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.class IS 'Its latest class at the draw; NULL = unregistered, never drawn at random.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.triggered IS 'It had an open warning clue: a triggered task unless drawn.';
COMMENT ON TABLE credit_sandbox.inspection_tasks IS 'What a draw gave: one task per operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.operator_id IS 'The operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.reason IS 'random (drawn in its class) or triggered (an open warning clue).';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.inspectors IS 'The inspectors assigned, conflicts skipped, in drawn order.';
COMMENT ON FUNCTION credit_sandbox.draw_tasks(bigint) IS
    'The tasks a recorded draw''s inputs give (the one definition draw_inspections and verify_draw share).';
COMMENT ON FUNCTION credit_sandbox.draw_inspections(text, jsonb, integer) IS
    'Draws inspection tasks from a published seed: per-class ratios of graded operators off the no-disturbance list, plus every open clue; returns the draw id.';
COMMENT ON FUNCTION credit_sandbox.verify_draw(bigint) IS
    'Recomputes a recorded draw from its recorded inputs: true when its tasks are exactly what they give.';
COMMENT ON VIEW credit_sandbox.no_disturbance IS
    'The no-disturbance list: sandbox members with no open or acknowledged warning or tip, left out of random inspections.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.operator_id IS 'The member.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.admitted_at IS 'When its current stay began.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.class IS 'Its latest class.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.score IS 'Its latest score (out of 100).';
COMMENT ON VIEW credit_sandbox.open_warnings IS
    'Open and acknowledged warning clues and tips, with the operator and the rule.';
COMMENT ON COLUMN credit_sandbox.open_warnings.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.open_warnings.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.open_warnings.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.open_warnings.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.open_warnings.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.open_warnings.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.open_warnings.list IS 'risk_trigger (warning clue) or admin_tip (tip).';
COMMENT ON COLUMN credit_sandbox.open_warnings.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.open_warnings.status IS 'open or acknowledged.';
COMMENT ON COLUMN credit_sandbox.open_warnings.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.open_warnings.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.raised_at IS 'Wall-clock time it was written.';
COMMENT ON COLUMN credit_sandbox.open_warnings.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.open_warnings.rule_version IS 'Version of the rule that judged the first hit.';
COMMENT ON COLUMN credit_sandbox.open_warnings.tolerable IS 'Whether the rule is tolerable now.';
COMMENT ON COLUMN credit_sandbox.open_warnings.evidence IS 'Observed values and thresholds.';
COMMENT ON COLUMN credit_sandbox.open_warnings.source_table IS 'Table of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.registered IS 'Whether the operator is in operators.';
COMMENT ON COLUMN credit_sandbox.open_warnings.in_sandbox IS 'Whether the operator is in the sandbox now.';
COMMENT ON VIEW credit_sandbox.operator_risk IS
    'Each registered operator''s risk: latest class and why, sandbox membership, open clues and tips.';
COMMENT ON COLUMN credit_sandbox.operator_risk.operator_id IS 'The operator.';
COMMENT ON COLUMN credit_sandbox.operator_risk.name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.operator_risk.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.operator_risk.class IS 'Its latest class, A (low risk) to D; NULL = never graded.';
COMMENT ON COLUMN credit_sandbox.operator_risk.score IS 'Its latest score (out of 100).';
COMMENT ON COLUMN credit_sandbox.operator_risk.graded_as_of IS 'The moment its latest grading judged.';
COMMENT ON COLUMN credit_sandbox.operator_risk.in_sandbox IS 'Whether it is in the sandbox now.';
COMMENT ON COLUMN credit_sandbox.operator_risk.open_warning_clues IS 'Its open or acknowledged warning clues.';
COMMENT ON COLUMN credit_sandbox.operator_risk.open_tips IS 'Its open or acknowledged tips.';
COMMENT ON COLUMN credit_sandbox.operator_risk.last_hit_at IS 'Data time of its latest hit, any warning.';
COMMENT ON COLUMN credit_sandbox.operator_risk.indicators IS 'The indicators of its latest grading: {indicator: {value, weight, points}}.';
COMMENT ON COLUMN credit_sandbox.operator_risk.hard_rules IS 'The hard rules that capped its latest class.';
COMMENT ON VIEW credit_sandbox.rule_hits_daily IS 'Hits per rule and list per legal day.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.day IS 'Legal day of the hits'' rows (credit_sandbox.time_zone).';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.code IS 'The rule.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.list IS 'risk_trigger or admin_tip.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.hits IS 'Hits that day.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.warnings IS 'Warnings they were counted on.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.operators IS 'Operators they were about.';
COMMENT ON VIEW credit_sandbox.summary IS 'The pilot''s headline figures, one row.';
COMMENT ON COLUMN credit_sandbox.summary.sandbox_operators IS 'Operators in the sandbox now.';
COMMENT ON COLUMN credit_sandbox.summary.no_disturbance_operators IS 'Of them, those on the no-disturbance list.';
COMMENT ON COLUMN credit_sandbox.summary.warning_clues IS 'Warning clues ever written, any status.';
COMMENT ON COLUMN credit_sandbox.summary.admin_tips IS 'Administrative tips ever written, any status.';
COMMENT ON COLUMN credit_sandbox.summary.classified_operators IS 'Operators graded at least once.';
COMMENT ON COLUMN credit_sandbox.summary.random_spot_checks IS 'Random inspection tasks over all draws.';
COMMENT ON COLUMN credit_sandbox.summary.triggered_inspections IS 'Triggered inspection tasks over all draws.';
COMMENT ON FUNCTION credit_sandbox.check_rows() IS
    'Red-line driver: FOR EACH ROW, or FOR EACH STATEMENT with REFERENCING NEW TABLE; argument: the event kind.';
COMMENT ON FUNCTION credit_sandbox.invalidate_cache() IS
    'Trigger on the tables behind the per-backend caches: every backend rebuilds them after a change.';
COMMENT ON FUNCTION credit_sandbox.set_driver(text) IS
    'Makes the check_rows triggers of the event tables statement-level (default) or row-level; returns the driver.';
COMMENT ON FUNCTION credit_sandbox.driver() IS 'The driver in use: row or statement. Anyone may ask.';
COMMENT ON FUNCTION credit_sandbox.replay(timestamptz, timestamptz, jsonb) IS
    'The hits the stored rows of [since, until) give, replayed in id order; rules: a proposed change, e.g. {"RL04": {"threshold": 5}, "RL06": {"enabled": false}} (rule_version NULL for changed rules). Writes nothing.';
COMMENT ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) IS
    'Stored rows of [since, until) whose logged hits differ from a replay under the current rules: problem ''missing'' or ''extra''.';
COMMENT ON FUNCTION credit_sandbox.replace_same_key() IS
    'Trigger: an inserted row replaces the row with the same key (arguments: the key columns), so a restore''s rows replace the defaults.';
COMMENT ON TABLE credit_sandbox.removed_rows IS
    'Default rows the DBA removed (key = the row''s primary key as JSON); a restore removes them again.';
COMMENT ON COLUMN credit_sandbox.removed_rows.table_name IS
    'Table of the removed row: rules, a reference list, grading_weights or grade_boundaries.';
COMMENT ON COLUMN credit_sandbox.removed_rows.key IS 'Its whole primary key as a JSON object, e.g. {"term": "ivory"}.';
COMMENT ON COLUMN credit_sandbox.removed_rows.removed_at IS 'When it was removed; NULL = before 0.4 (found missing by the update).';
COMMENT ON COLUMN credit_sandbox.removed_rows.removed_by IS 'Login (session user) that removed it; NULL = before 0.4.';
COMMENT ON FUNCTION credit_sandbox.primary_key_of(regclass, jsonb) IS
    'The primary key of a row (given as JSON) of table tab, as a JSON object.';
COMMENT ON FUNCTION credit_sandbox.record_removed_rows() IS
    'Trigger on the tables filled with defaults: records the keys that left the table in removed_rows, forgets those that came back.';
COMMENT ON FUNCTION credit_sandbox.remove_recorded_row() IS
    'Trigger on removed_rows: a recorded (or restored) record removes its row again.';
COMMENT ON FUNCTION credit_sandbox.platform_columns(regclass) IS
    'The columns of an event table the platforms insert: every column but the generated key.';

-- A partition's comments are its parent's: comments are not inherited.
DO $$
DECLARE
    parent regclass := 'credit_sandbox.transactions';
    p regclass;
BEGIN
    FOR p IN SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = parent ORDER BY 1 LOOP
        EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', p,
                                  'A hash partition of transactions (by operator_id): '
                                  || pg_catalog.obj_description(parent, 'pg_class'));
        EXECUTE (SELECT pg_catalog.string_agg(pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', p, a.attname,
                                                                pg_catalog.col_description(parent, a.attnum)), '; ')
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = parent AND a.attnum > 0 AND NOT a.attisdropped);
    END LOOP;
END $$;

-- ===== delivery: the feed (contract), as in credit_sandbox--0.7.sql
-- The warnings stored before the update have no entry: the feed starts with
-- the first warning written after it.

-- Every new warning or tip is an entry, written by the trigger below in the
-- transaction that writes the warning (a prepared one included).  An entry is
-- written without a position: ids are handed out at insert, but transactions
-- commit in any order, so an id order read by a consumer would skip a
-- transaction that commits late.  A reader gives positions ("seals") to the
-- entries that have committed, in entry order, under the row lock of
-- feed_seal, which only the feed's functions take; the next sealer starts
-- after that seal has committed, so every later position is higher than every
-- position any reader can have seen, and an entry that commits late is sealed
-- by the next read, above them.  Writers take no lock a reader waits for, and
-- a reader never waits for a writer: an open or prepared transaction's
-- entries stay unsealed, the others go on.
CREATE TABLE credit_sandbox.feed_entries (
    entry_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position      bigint,
    warning_id    bigint NOT NULL,
    operator_id   text NOT NULL,
    code          text NOT NULL,
    list          text NOT NULL,
    subject_key   text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    due_at        timestamptz,
    raised_at     timestamptz NOT NULL
);
COMMENT ON TABLE credit_sandbox.feed_entries IS
    'The feed: one entry per new warning clue or tip, written in its transaction; read with read_feed.';
COMMENT ON COLUMN credit_sandbox.feed_entries.entry_id IS 'Generated key, in insert (not commit) order.';
COMMENT ON COLUMN credit_sandbox.feed_entries.position IS
    'Order of delivery, given once the entry has committed (by read_feed); NULL until then.';
COMMENT ON COLUMN credit_sandbox.feed_entries.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.feed_entries.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.feed_entries.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.feed_entries.list IS 'risk_trigger (warning clue) or admin_tip (tip).';
COMMENT ON COLUMN credit_sandbox.feed_entries.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.feed_entries.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.feed_entries.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.feed_entries.raised_at IS 'Wall-clock time the warning was written.';
COMMENT ON SEQUENCE credit_sandbox.feed_entries_entry_id_seq IS 'Generates feed_entries.entry_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_entries', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_entries_entry_id_seq', '');
CREATE UNIQUE INDEX feed_entries_position ON credit_sandbox.feed_entries (position);
-- the entries still to seal: few, whatever the feed's length
CREATE INDEX feed_entries_unsealed ON credit_sandbox.feed_entries (entry_id) WHERE position IS NULL;

-- Positions are never handed out twice, not even by a seal that rolled back
-- (whose reader may have shown them to a consumer): a sequence, not a count.
CREATE SEQUENCE credit_sandbox.feed_position_seq AS bigint;
COMMENT ON SEQUENCE credit_sandbox.feed_position_seq IS 'Generates feed_entries.position.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_position_seq', '');

-- The sealers' lock: one row, locked FOR UPDATE by a seal and updated when it
-- sealed something.  Locking a row takes UPDATE privilege, which no role has
-- (an advisory lock any login could take and hold), and no autovacuum or
-- pg_dump lock conflicts with it.  A REPEATABLE READ reader whose snapshot
-- misses a later seal gets 40001 from the update, instead of sealing above
-- positions it cannot see.  Registered, but none of it is dumped: CREATE
-- EXTENSION makes the row a restore finds.
CREATE TABLE credit_sandbox.feed_seal (
    one_row       boolean PRIMARY KEY DEFAULT true CONSTRAINT feed_seal_one_row CHECK (one_row),
    seals         bigint NOT NULL DEFAULT 0,
    sealed_at     timestamptz
);
COMMENT ON TABLE credit_sandbox.feed_seal IS
    'One row, the lock under which read_feed gives the feed''s committed entries their positions.';
COMMENT ON COLUMN credit_sandbox.feed_seal.one_row IS 'Always true: the table has one row.';
COMMENT ON COLUMN credit_sandbox.feed_seal.seals IS 'Seals that gave positions (since the extension was created).';
COMMENT ON COLUMN credit_sandbox.feed_seal.sealed_at IS 'Start (now()) of the transaction of the latest of them; NULL = none yet.';
INSERT INTO credit_sandbox.feed_seal DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_seal', 'WHERE false');

CREATE TABLE credit_sandbox.feed_subscriptions (
    name          text PRIMARY KEY,
    acked_to      bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name NOT NULL DEFAULT SESSION_USER,
    acked_at      timestamptz
);
COMMENT ON TABLE credit_sandbox.feed_subscriptions IS
    'Named readers of the feed (create_subscription) and how far each has acknowledged (ack_feed).';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.name IS 'Its name, as given to read_feed and ack_feed.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.acked_to IS
    'Position up to which its entries are acknowledged; read_feed returns those above.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.created_at IS 'When it was created.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.created_by IS 'Login that created it.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.acked_at IS 'When it last acknowledged entries; NULL = never.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_subscriptions', '');

-- A statement trigger with its transition table: one INSERT per statement,
-- whatever the number of warnings (today the checks write one at a time).
-- ORIGIN, like the checks: a restore (replica mode) brings the entries back
-- from the dump instead of writing them again.
CREATE FUNCTION credit_sandbox.feed_record() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO credit_sandbox.feed_entries (warning_id, operator_id, code, list, subject_key, occurred_at,
                                             due_at, raised_at)
    SELECT n.warning_id, n.operator_id, n.code, n.list, n.subject_key, n.occurred_at, n.due_at, n.raised_at
      FROM new_warnings n ORDER BY n.warning_id;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION credit_sandbox.feed_record() IS
    'Trigger on warnings: writes an entry of the feed for each new warning clue or tip, in the same transaction.';
REVOKE ALL ON FUNCTION credit_sandbox.feed_record() FROM PUBLIC;
CREATE TRIGGER warnings_feed AFTER INSERT ON credit_sandbox.warnings
    REFERENCING NEW TABLE AS new_warnings
    FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.feed_record();

CREATE FUNCTION credit_sandbox.create_subscription(name text, from_start boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF create_subscription.name IS NULL OR from_start IS NULL THEN
        RAISE EXCEPTION 'a feed subscription needs a name and from_start' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- from now on: above the highest position given so far (entries that have
    -- committed but have no position yet come too)
    INSERT INTO credit_sandbox.feed_subscriptions AS s (name, acked_to)
    SELECT create_subscription.name,
           CASE WHEN from_start THEN 0 ELSE coalesce((SELECT pg_catalog.max(e.position)
                                                        FROM credit_sandbox.feed_entries e), 0) END
        ON CONFLICT ON CONSTRAINT feed_subscriptions_pkey DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" already exists', create_subscription.name
            USING ERRCODE = 'duplicate_object';
    END IF;
END $$;
COMMENT ON FUNCTION credit_sandbox.create_subscription(text, boolean) IS
    'Creates a named subscription to the feed, reading from its first entry (from_start) or from the entries that come next.';
REVOKE ALL ON FUNCTION credit_sandbox.create_subscription(text, boolean) FROM PUBLIC;

-- Returns the subscription's entries above its acknowledged position, in
-- position order, the same ones until ack_feed moves it.  First seals the
-- committed entries that have no position (up to max_entries, oldest first),
-- unless the transaction is read-only (a standby's, say: it returns what has
-- positions) or another reader is sealing now (it does not wait: the entries
-- that reader seals are above all those it can read).
CREATE FUNCTION credit_sandbox.read_feed(name text, max_entries int DEFAULT 100)
    RETURNS TABLE ("position" bigint, warning_id bigint, operator_id text, code text, list text, subject_key text,
                   occurred_at timestamptz, due_at timestamptz, raised_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked bigint;
    sealed bigint;
BEGIN
    IF max_entries IS NULL OR max_entries < 1 THEN
        RAISE EXCEPTION 'max_entries must be at least 1, not %', coalesce(max_entries::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.acked_to INTO acked FROM credit_sandbox.feed_subscriptions s WHERE s.name = read_feed.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', read_feed.name
            USING ERRCODE = 'undefined_object', HINT = 'Create it with create_subscription(name).';
    END IF;
    IF NOT pg_catalog.current_setting('transaction_read_only')::boolean THEN
        PERFORM FROM credit_sandbox.feed_seal l FOR UPDATE SKIP LOCKED;
        IF FOUND AND EXISTS (SELECT FROM credit_sandbox.feed_entries e WHERE e.position IS NULL) THEN
            -- a new statement, so (READ COMMITTED) a new snapshot: every seal
            -- before this one has committed and is seen
            WITH batch AS (SELECT e.entry_id FROM credit_sandbox.feed_entries e
                            WHERE e.position IS NULL ORDER BY e.entry_id LIMIT max_entries),
                 numbered AS (SELECT b.entry_id, pg_catalog.nextval('credit_sandbox.feed_position_seq') AS pos
                                FROM batch b)
            UPDATE credit_sandbox.feed_entries e SET position = n.pos
              FROM numbered n WHERE e.entry_id = n.entry_id;
            GET DIAGNOSTICS sealed = ROW_COUNT;
            IF sealed > 0 THEN
                UPDATE credit_sandbox.feed_seal l SET seals = l.seals + 1, sealed_at = pg_catalog.now();
            END IF;
        END IF;
    END IF;
    RETURN QUERY
        SELECT e.position, e.warning_id, e.operator_id, e.code, e.list, e.subject_key, e.occurred_at, e.due_at,
               e.raised_at
          FROM credit_sandbox.feed_entries e
         WHERE e.position > acked
         ORDER BY e.position
         LIMIT max_entries;
END $$;
COMMENT ON FUNCTION credit_sandbox.read_feed(text, int) IS
    'Up to max_entries entries of the feed the subscription has not acknowledged, ascending by position; the same again until ack_feed.';
REVOKE ALL ON FUNCTION credit_sandbox.read_feed(text, int) FROM PUBLIC;

-- Moves the subscription past its entries up to up_to, never back, and never
-- past the highest position given so far (which would skip entries sealed
-- later).  Returns how many entries that acknowledged.
CREATE FUNCTION credit_sandbox.ack_feed(name text, up_to bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked bigint;
    new_acked bigint;
    n bigint;
BEGIN
    SELECT s.acked_to INTO acked FROM credit_sandbox.feed_subscriptions s WHERE s.name = ack_feed.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', ack_feed.name
            USING ERRCODE = 'undefined_object', HINT = 'Create it with create_subscription(name).';
    END IF;
    SELECT pg_catalog.max(e.position), pg_catalog.count(*) INTO new_acked, n
      FROM credit_sandbox.feed_entries e WHERE e.position > acked AND e.position <= up_to;
    IF n > 0 THEN
        UPDATE credit_sandbox.feed_subscriptions s SET acked_to = new_acked, acked_at = pg_catalog.now()
         WHERE s.name = ack_feed.name;
    END IF;
    RETURN n;
END $$;
COMMENT ON FUNCTION credit_sandbox.ack_feed(text, bigint) IS
    'Acknowledges the subscription''s entries up to position up_to (read_feed returns them no more); returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.ack_feed(text, bigint) FROM PUBLIC;

-- ===== operators' own view and the audit trail
-- An operator (the merchant) reads its own warnings and tips, and acknowledges
-- and records corrections on its own tips, through a login the regulator maps
-- to its operator ids; it reads nothing else.  Every status change is kept,
-- append-only, in warning_status_history.
--
-- Who is the caller: the login, session_user, everywhere here, never
-- current_user.  acknowledge and record_correction are SECURITY DEFINER (they
-- write warnings), so inside them current_user is the extension's owner and
-- only session_user still names the caller; my_warnings uses the same test so
-- that it shows exactly the tips those functions accept.  SET ROLE cannot
-- change session_user: a login that is also a member of another login's role
-- still sees only what the regulator mapped to it.

CREATE TABLE credit_sandbox.operator_logins (
    login        name NOT NULL,
    operator_id  text NOT NULL,
    PRIMARY KEY (login, operator_id)
);
COMMENT ON TABLE credit_sandbox.operator_logins IS
    'Which operators each login of the operator role acts for (the regulator''s): my_warnings, acknowledge and record_correction.';
COMMENT ON COLUMN credit_sandbox.operator_logins.login IS 'The login (session_user), as in pg_roles.rolname; not checked to exist.';
COMMENT ON COLUMN credit_sandbox.operator_logins.operator_id IS 'An operator it acts for (need not be registered).';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_logins', '');

CREATE TABLE credit_sandbox.warning_status_history (
    history_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id   bigint NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    changed_by   name NOT NULL,
    changed_at   timestamptz NOT NULL,
    note         text
);
CREATE INDEX warning_status_history_warning ON credit_sandbox.warning_status_history (warning_id, history_id);
COMMENT ON TABLE credit_sandbox.warning_status_history IS
    'Every status change of a warning or tip, append-only: acknowledge, record_correction, close_warning and escalate_overdue each add a row.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.history_id IS 'Generated key: the order the changes were made in.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.warning_id IS 'The warning or tip (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.from_status IS
    'Its status before; NULL for a change made before 0.7 (the update to 0.7 kept each warning''s last one).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.to_status IS 'Its status after: acknowledged, corrected, escalated or closed.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.changed_by IS 'Login (session user) that made the change.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.changed_at IS 'When (now() of that transaction, as warnings.status_changed_at).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.note IS
    'The note given with the change; for an escalation, the warning clue written for the tip.';
COMMENT ON SEQUENCE credit_sandbox.warning_status_history_history_id_seq IS 'Generates warning_status_history.history_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warning_status_history', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warning_status_history_history_id_seq', '');

-- Append-only for everyone, the owner included: no grant allows a change, and
-- this trigger stops the owner (or a superuser) changing the record by mistake.
-- ENABLE ALWAYS, so session_replication_role = replica does not skip it.
CREATE FUNCTION credit_sandbox.refuse_history_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% on warning_status_history is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'The history of warning statuses is append-only: rows are only ever added.',
              HINT = 'A status change is made by acknowledge, record_correction, close_warning or escalate_overdue, which add a row.';
END $$;
COMMENT ON FUNCTION credit_sandbox.refuse_history_change() IS
    'Trigger on warning_status_history: refuses UPDATE, DELETE and TRUNCATE, for every role.';
REVOKE ALL ON FUNCTION credit_sandbox.refuse_history_change() FROM PUBLIC;
CREATE TRIGGER refuse_history_change BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_sandbox.warning_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.refuse_history_change();
ALTER TABLE credit_sandbox.warning_status_history ENABLE ALWAYS TRIGGER refuse_history_change;

-- Internal (granted to nobody), called by acknowledge and record_correction:
-- a login that may close warnings is the regulator's and may change any
-- warning; any other only the tips (admin_tip) of its own operators.  The
-- same error whether the warning does not exist, is another operator's or is
-- a warning clue, so that the error says nothing of other operators' rows.
CREATE FUNCTION credit_sandbox.check_own_tip(warning_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF has_function_privilege(SESSION_USER, 'credit_sandbox.close_warning(bigint, text)', 'EXECUTE') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM credit_sandbox.warnings w
                     JOIN credit_sandbox.operator_logins l ON l.operator_id = w.operator_id
                    WHERE w.warning_id = check_own_tip.warning_id AND w.list = 'admin_tip'
                      AND l.login = SESSION_USER) THEN
        RAISE EXCEPTION 'permission denied for warning %', check_own_tip.warning_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Login %s may acknowledge and record corrections only on the tips (admin_tip) of the operators operator_logins maps it to.',
                                  quote_ident(SESSION_USER)),
                  HINT = 'Your tips are the rows of credit_sandbox.my_warnings with list admin_tip; the regulator maps logins to operators.';
    END IF;
END $$;
COMMENT ON FUNCTION credit_sandbox.check_own_tip(bigint) IS
    'Internal: refuses (42501) a warning that is not a tip of the calling login''s operators, unless the login may close warnings (the regulator).';
REVOKE ALL ON FUNCTION credit_sandbox.check_own_tip(bigint) FROM PUBLIC;

-- The calling login's operators' warnings and tips, every status: the
-- columns of open_warnings.
CREATE VIEW credit_sandbox.my_warnings WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.list, w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.raised_at, w.due_at,
       w.rule_version, r.tolerable, w.evidence, w.source_table, w.source_id,
       (o.operator_id IS NOT NULL) AS registered,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = SESSION_USER);
COMMENT ON VIEW credit_sandbox.my_warnings IS
    'The warning clues and tips, every status, of the operators operator_logins maps the calling login (session_user) to.';
COMMENT ON COLUMN credit_sandbox.my_warnings.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.my_warnings.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.my_warnings.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.my_warnings.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.my_warnings.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.my_warnings.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.my_warnings.list IS 'risk_trigger (warning clue) or admin_tip (tip: acknowledge and record_correction take it).';
COMMENT ON COLUMN credit_sandbox.my_warnings.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.my_warnings.status IS 'open, acknowledged, corrected, escalated or closed.';
COMMENT ON COLUMN credit_sandbox.my_warnings.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.my_warnings.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.raised_at IS 'Wall-clock time it was written.';
COMMENT ON COLUMN credit_sandbox.my_warnings.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.my_warnings.rule_version IS 'Version of the rule that judged the first hit.';
COMMENT ON COLUMN credit_sandbox.my_warnings.tolerable IS 'Whether the rule is tolerable now.';
COMMENT ON COLUMN credit_sandbox.my_warnings.evidence IS 'Observed values and thresholds.';
COMMENT ON COLUMN credit_sandbox.my_warnings.source_table IS 'Table of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.registered IS 'Whether the operator is in operators.';
COMMENT ON COLUMN credit_sandbox.my_warnings.in_sandbox IS 'Whether the operator is in the sandbox now.';

-- The status history of the warnings my_warnings shows.
CREATE VIEW credit_sandbox.my_warning_history WITH (security_barrier) AS
SELECT h.history_id, h.warning_id, h.from_status, h.to_status, h.changed_by, h.changed_at, h.note
  FROM credit_sandbox.warning_status_history h
  JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = SESSION_USER);
COMMENT ON VIEW credit_sandbox.my_warning_history IS
    'The status history (warning_status_history) of the warnings and tips of the calling login''s operators.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.history_id IS 'The order the changes were made in.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.warning_id IS 'The warning or tip (my_warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.my_warning_history.from_status IS 'Its status before; NULL for a change made before 0.7.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.to_status IS 'Its status after.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.changed_by IS 'Login that made the change.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.changed_at IS 'When.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.note IS 'The note given; for an escalation, the warning clue written for the tip.';

-- Changes made before 0.7 kept only each warning's last status change: it
-- opens the history, its status before unknown (NULL).
INSERT INTO credit_sandbox.warning_status_history (warning_id, from_status, to_status, changed_by, changed_at, note)
SELECT w.warning_id, NULL, w.status, w.status_changed_by, w.status_changed_at, w.status_note
  FROM credit_sandbox.warnings w
 WHERE w.status_changed_at IS NOT NULL AND w.status_changed_by IS NOT NULL
 ORDER BY w.status_changed_at, w.warning_id;

-- Internal: the status changes it allows are the caller's to choose, so it is
-- granted to nobody; acknowledge, record_correction and close_warning use it.
-- Each change adds its row to warning_status_history.
CREATE OR REPLACE FUNCTION credit_sandbox.change_warning_status(warning_id bigint, from_status text[], to_status text,
                                                                note text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    w credit_sandbox.warnings;
    old_status text;
BEGIN
    SELECT * INTO w FROM credit_sandbox.warnings x WHERE x.warning_id = change_warning_status.warning_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % does not exist', change_warning_status.warning_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM credit_sandbox.lock_operator(w.operator_id);
    -- read again under the lock: the status another transaction left
    SELECT x.status INTO old_status FROM credit_sandbox.warnings x WHERE x.warning_id = w.warning_id FOR UPDATE;
    IF NOT old_status = ANY (from_status) THEN
        RAISE EXCEPTION 'warning % is %, not %', w.warning_id, old_status, array_to_string(from_status, ' or ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A warning goes open -> acknowledged -> corrected or escalated -> closed.';
    END IF;
    UPDATE credit_sandbox.warnings x
       SET status = to_status, status_changed_at = pg_catalog.now(), status_changed_by = SESSION_USER,
           status_note = coalesce(note, x.status_note)
     WHERE x.warning_id = w.warning_id;
    INSERT INTO credit_sandbox.warning_status_history (warning_id, from_status, to_status, changed_by, changed_at, note)
    VALUES (w.warning_id, old_status, to_status, SESSION_USER, pg_catalog.now(), note);
END $$;
COMMENT ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) IS
    'Internal: moves a warning from one of from_status to to_status, under its operator''s lock, and records the change in warning_status_history.';
REVOKE ALL ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) FROM PUBLIC;

-- The regulator's on any warning, an operator login's on its own tips
-- (check_own_tip).
CREATE OR REPLACE FUNCTION credit_sandbox.acknowledge(warning_id bigint, note text DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT credit_sandbox.check_own_tip(warning_id);
    SELECT credit_sandbox.change_warning_status(warning_id, '{open}', 'acknowledged', note)
$$;
COMMENT ON FUNCTION credit_sandbox.acknowledge(bigint, text) IS
    'open -> acknowledged: the warning is seen (it no longer counts hits; a new hit opens a new one). The regulator on any warning, an operator login on its own tips.';
REVOKE ALL ON FUNCTION credit_sandbox.acknowledge(bigint, text) FROM PUBLIC;
CREATE OR REPLACE FUNCTION credit_sandbox.record_correction(warning_id bigint, note text DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT credit_sandbox.check_own_tip(warning_id);
    SELECT credit_sandbox.change_warning_status(warning_id, '{open,acknowledged}', 'corrected', note)
$$;
COMMENT ON FUNCTION credit_sandbox.record_correction(bigint, text) IS
    'open or acknowledged -> corrected: the operator corrected it (a tip so marked is never escalated). The regulator on any warning, an operator login on its own tips.';
REVOKE ALL ON FUNCTION credit_sandbox.record_correction(bigint, text) FROM PUBLIC;

COMMENT ON FUNCTION credit_sandbox.escalate_overdue(timestamptz) IS
    'Escalates every tip past due_at and not corrected as of at (never later than now()): status escalated, recorded in warning_status_history, and a new warning clue on its key. Meant for a schedule (pg_cron).';

-- create_roles gains the operator role: a parameter added at the end, with a
-- default, so that every call of 0.5 still works.
DROP FUNCTION credit_sandbox.create_roles(name, name, name);
-- Creates the four group roles (NOLOGIN) that do not exist yet and grants
-- them what they need; the DBA then grants membership to login roles.  Give
-- other names to grant to roles of one's own.  Idempotent: run it again after
-- ALTER EXTENSION UPDATE, which may add views.  Returns the statements it ran.
-- Not at CREATE EXTENSION: roles are cluster-wide, and which roles a
-- cluster has is the DBA's decision.
CREATE FUNCTION credit_sandbox.create_roles(app name DEFAULT 'credit_sandbox_app',
                                            analyst name DEFAULT 'credit_sandbox_analyst',
                                            admin name DEFAULT 'credit_sandbox_admin',
                                            operator name DEFAULT 'credit_sandbox_operator') RETURNS SETOF text
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text;
BEGIN
    IF NOT (SELECT pg_has_role(e.extowner, 'USAGE') FROM pg_extension e WHERE e.extname = 'credit_sandbox') THEN
        RAISE EXCEPTION 'only the owner of extension credit_sandbox may create its roles'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOREACH s IN ARRAY ARRAY[app, analyst, admin, operator] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = s) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', s);
            RETURN NEXT format('CREATE ROLE %I NOLOGIN', s);
        END IF;
    END LOOP;
    FOREACH s IN ARRAY ARRAY[
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I, %I, %I', app, analyst, admin),
        -- the platforms: insert events, every column but the generated key,
        -- which they may only read back from their own insert (INSERT ...
        -- RETURNING, see src/key_readback.c); register an operator's id,
        -- name and region; nothing of the regulator's (licences, permits,
        -- registration dates, the lists).  Table-level grants of older
        -- versions are revoked first.
        format('REVOKE INSERT, SELECT ON credit_sandbox.transactions, credit_sandbox.returns,'
               ' credit_sandbox.complaints, credit_sandbox.operators, credit_sandbox.operator_lists FROM %I', app),
        format('REVOKE SELECT (list_entry_id) ON credit_sandbox.operator_lists FROM %I', app),
        format('GRANT INSERT (%s), SELECT (txn_id) ON credit_sandbox.transactions TO %I',
               credit_sandbox.platform_columns('credit_sandbox.transactions'), app),
        format('GRANT INSERT (%s), SELECT (return_id) ON credit_sandbox.returns TO %I',
               credit_sandbox.platform_columns('credit_sandbox.returns'), app),
        format('GRANT INSERT (%s), SELECT (complaint_id) ON credit_sandbox.complaints TO %I',
               credit_sandbox.platform_columns('credit_sandbox.complaints'), app),
        format('GRANT INSERT (operator_id, name, region) ON credit_sandbox.operators TO %I', app),
        -- analysts: every view, and the readers that need no base table
        format('GRANT SELECT ON %s TO %I',
               (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
                 WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('v', 'm')), analyst),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz),'
               ' credit_sandbox.verify_draw(bigint) TO %I, %I', analyst, admin),
        -- administrators: read everything; edit operators, lists, rules,
        -- grading and inspectors; never the events or what is derived
        format('GRANT SELECT ON ALL TABLES IN SCHEMA credit_sandbox TO %I', admin),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operators, credit_sandbox.operator_lists,'
               ' credit_sandbox.regulated_categories, credit_sandbox.prohibited_categories,'
               ' credit_sandbox.prohibited_terms, credit_sandbox.absolute_terms,'
               ' credit_sandbox.return_exempt_categories, credit_sandbox.reference_prices,'
               ' credit_sandbox.inspectors, credit_sandbox.inspector_conflicts TO %I', admin),
        format('GRANT UPDATE ON credit_sandbox.rules, credit_sandbox.grading_weights,'
               ' credit_sandbox.grade_boundaries TO %I', admin),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.grade(text, timestamptz), credit_sandbox.regrade(timestamptz),'
               ' credit_sandbox.grade_ungraded(timestamptz), credit_sandbox.admit(text),'
               ' credit_sandbox.renew_sandbox(timestamptz), credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text), credit_sandbox.close_warning(bigint, text),'
               ' credit_sandbox.escalate_overdue(timestamptz), credit_sandbox.draw_inspections(text, jsonb, int),'
               ' credit_sandbox.set_driver(text), credit_sandbox.replay(timestamptz, timestamptz, jsonb),'
               ' credit_sandbox.check_consistency(timestamptz, timestamptz) TO %I', admin),
        -- the audit trail, for administrators and analysts; the regulator
        -- maps operator logins to operators
        format('GRANT SELECT ON credit_sandbox.warning_status_history TO %I', analyst),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operator_logins TO %I', admin),
        -- operators: their own warnings and tips, and their answer to a tip;
        -- nothing else (functions check whose tip it is: check_own_tip)
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I', operator),
        format('GRANT SELECT ON credit_sandbox.my_warnings, credit_sandbox.my_warning_history TO %I', operator),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text) TO %I', operator),
        -- the feed is the regulator's: its subscriptions deliver every operator's warnings
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.create_subscription(text, boolean),'
               ' credit_sandbox.read_feed(text, int), credit_sandbox.ack_feed(text, bigint) TO %I', admin)] LOOP
        EXECUTE s;
        RETURN NEXT s;
    END LOOP;
END $$;
COMMENT ON FUNCTION credit_sandbox.create_roles(name, name, name, name) IS
    'Creates the application, analyst, administrator and operator group roles (NOLOGIN) that do not exist and grants them their privileges; returns the statements run. Idempotent.';
REVOKE ALL ON FUNCTION credit_sandbox.create_roles(name, name, name, name) FROM PUBLIC;
