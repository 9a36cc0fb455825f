\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.4'" to load this file. \quit

-- credit_sandbox 0.1 -> 0.4: production readiness.  A new install runs
-- credit_sandbox--0.1.sql and then this script.

-- ===== privileges
-- Three kinds of user (README, "Privileges"): the platforms' applications
-- insert rows, analysts read the views, administrators edit the rules and
-- lists and run grading, renewal, escalation and draws.  No role may write
-- what the extension derives (warnings, hits, grades, memberships, draws,
-- rule history): only its functions do, as the extension's owner.

-- Who did it is the login (session_user).  Inside the SECURITY DEFINER
-- functions below current_user is the extension's owner, and a member who
-- SET ROLE to a shared group role must still be recorded by name.
ALTER TABLE credit_sandbox.rules ALTER COLUMN changed_by SET DEFAULT SESSION_USER;
ALTER TABLE credit_sandbox.sandbox_memberships ALTER COLUMN admitted_by SET DEFAULT SESSION_USER;
ALTER TABLE credit_sandbox.inspection_draws ALTER COLUMN drawn_by SET DEFAULT SESSION_USER;

-- Internal: the status changes it allows are the caller's to choose, so it is
-- granted to nobody; acknowledge, record_correction and close_warning use it.
CREATE OR REPLACE FUNCTION credit_sandbox.change_warning_status(warning_id bigint, from_status text[], to_status text,
                                                                note text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    w credit_sandbox.warnings;
BEGIN
    SELECT * INTO w FROM credit_sandbox.warnings x WHERE x.warning_id = change_warning_status.warning_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % does not exist', change_warning_status.warning_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM credit_sandbox.lock_operator(w.operator_id);
    UPDATE credit_sandbox.warnings x
       SET status = to_status, status_changed_at = pg_catalog.now(), status_changed_by = SESSION_USER,
           status_note = coalesce(note, x.status_note)
     WHERE x.warning_id = w.warning_id AND x.status = ANY (from_status);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % is %, not %', w.warning_id,
              (SELECT x.status FROM credit_sandbox.warnings x WHERE x.warning_id = w.warning_id),
              array_to_string(from_status, ' or ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A warning goes open -> acknowledged -> corrected or escalated -> closed.';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION credit_sandbox.admit(operator_id text) RETURNS boolean
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    g credit_sandbox.operator_grades;
BEGIN
    IF NOT EXISTS (SELECT FROM credit_sandbox.operators o WHERE o.operator_id = admit.operator_id) THEN
        RAISE EXCEPTION 'operator "%" does not exist', admit.operator_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Insert the operator into credit_sandbox.operators first.';
    END IF;
    PERFORM credit_sandbox.lock_operator(admit.operator_id);
    PERFORM credit_sandbox.grade(admit.operator_id);
    SELECT * INTO g FROM credit_sandbox.operator_grades x
     WHERE x.operator_id = admit.operator_id ORDER BY x.grade_id DESC LIMIT 1;
    IF g.class <> 'A' THEN
        RAISE EXCEPTION 'operator "%" is class %, and only class A enters the sandbox', admit.operator_id, g.class
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Score %s; hard rules: %s.', g.score,
                                  coalesce((SELECT string_agg(r, '; ') FROM jsonb_array_elements_text(g.hard_rules) r), 'none')),
                  HINT = 'See credit_sandbox.operator_grades for the indicators behind the class.';
    END IF;
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
    VALUES (admit.operator_id, format('admitted by %s: class A, score %s', SESSION_USER, g.score))
    ON CONFLICT (operator_id) WHERE exited_at IS NULL DO NOTHING;
    RETURN FOUND;
END $$;

-- Run as the extension's owner (SECURITY DEFINER), as the checks' trigger
-- check_rows already does: the functions that write what no role may write
-- (grades, memberships, warnings, draws, rule history, the event tables'
-- triggers), and the readers an analyst may call without table grants.
-- Each pins its search_path (the sql and plpgsql ones already did), so that
-- no caller's schema can put its operators or functions into the owner's
-- queries.  A later CREATE OR REPLACE of one of them must say SECURITY
-- DEFINER again (test/privileges.sql notices if it does not).
ALTER FUNCTION credit_sandbox.grade(text, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.regrade(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.grade_ungraded(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.escalate_overdue(timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION credit_sandbox.admit(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.renew_sandbox(timestamptz) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.acknowledge(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.record_correction(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.close_warning(bigint, text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.draw_inspections(text, jsonb, int) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.set_driver(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.rules_record_version() SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.in_sandbox(text) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.sandbox_members_at(timestamptz) SECURITY DEFINER;
ALTER FUNCTION credit_sandbox.verify_draw(bigint) SECURITY DEFINER;
