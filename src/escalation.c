/*-------------------------------------------------------------------------
 *
 * escalation.c
 *	  Escalation of overdue tips: a sandbox tip past its correction
 *	  deadline and not corrected becomes 'escalated', and a warning clue is
 *	  written for the same key through the same outcome path as any hit
 *	  (NOTIFY, class cap, sandbox exit).  Each escalation is a status change
 *	  like any other: a row of warning_status_history.  Meant to run on a
 *	  schedule; never as of a moment still to come, which would escalate tips
 *	  whose correction period has not ended.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "evidence.h"
#include "facts.h"
#include "operator_lock.h"
#include "outcome.h"
#include "settings.h"
#include "spi_util.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_escalate_overdue);

/*
 * Marks the tip escalated if it still is overdue and open now that its
 * operator's lock is held, and returns the status it had (for the history);
 * NULL when someone corrected it meanwhile.  Here and below the tip is
 * named with its operator: on Citus that is the shard it is in.  The login
 * is a parameter, not SESSION_USER in the statement: on Citus that is the
 * user of the coordinator's connection to the worker.
 */
static char *
mark_escalated(int64 tip_id, const char *operator_id, TimestampTz at)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[4];

	if (*plan == NULL)
	{
		Oid			types[4] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
		char	   *warnings = cs_table("warnings");

		/* the self-join reads the row as it was before the update */
		*plan = cs_prepare(psprintf("UPDATE %s w SET status = 'escalated', status_changed_at = pg_catalog.now(),"
								   "       status_changed_by = $4"
								   "  FROM %s old"
								   " WHERE w.operator_id = $3 AND w.warning_id = $1"
								   "   AND w.status IN ('open', 'acknowledged') AND w.due_at < $2"
								   "   AND old.operator_id = w.operator_id AND old.warning_id = w.warning_id"
								   " RETURNING old.status",
								   warnings, warnings),
						  4, types);
	}
	values[0] = Int64GetDatum(tip_id);
	values[1] = TimestampTzGetDatum(at);
	values[2] = CStringGetTextDatum(operator_id);
	values[3] = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
	cs_execute(*plan, values, NULL);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Links the tip to the warning clue written for it, and records the change
 * in warning_status_history, the clue named in the note.  Two statements:
 * on Citus, warnings is distributed and the history a reference table,
 * which one statement cannot write both of.
 */
static void
link_escalation(int64 tip_id, const char *operator_id, int64 clue_id, const char *from_status)
{
	static char link_plan_site;
	SPIPlanPtr *link_plan = cs_plan_slot(&link_plan_site);
	static char history_plan_site;
	SPIPlanPtr *history_plan = cs_plan_slot(&history_plan_site);
	Datum		values[4] = {Int64GetDatum(tip_id), Int64GetDatum(clue_id), CStringGetTextDatum(operator_id),
	CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false))};

	if (*link_plan == NULL)
	{
		Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};

		*link_plan = cs_prepare(psprintf("UPDATE %s SET escalated_to = $2 WHERE operator_id = $3 AND warning_id = $1",
										cs_table("warnings")),
							   3, types);
		*history_plan = cs_prepare(psprintf("INSERT INTO %s (warning_id, from_status, to_status, changed_by,"
										   "    changed_at, note)"
										   " VALUES ($1, $3, 'escalated', $4, pg_catalog.now(),"
										   "         pg_catalog.format('overdue: warning clue %%s written for it', $2))",
										   cs_table("warning_status_history")),
								  4, types);
	}
	cs_execute(*link_plan, values, NULL);
	values[2] = CStringGetTextDatum(from_status);
	cs_execute(*history_plan, values, NULL);
}

Datum
credit_sandbox_escalate_overdue(PG_FUNCTION_ARGS)
{
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);
	static char overdue_plan_site;
	SPIPlanPtr *overdue_plan = cs_plan_slot(&overdue_plan_site);
	SPITupleTable *overdue;
	uint64		noverdue;
	int64		escalated = 0;
	const RuleCatalog *cat;
	Ledger	   *ledger;
	Datum		values[1];
	OperatorLockKey *keys;

	/* now() is the transaction's start: a tip is overdue only once that is past due_at */
	if (at > GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("escalate_overdue cannot escalate as of %s: that is later than now()",
						timestamptz_to_str(at)),
				 errdetail("A tip is escalated once its correction period has ended; as of a moment still to come, "
						   "tips not yet due would be escalated and their operators removed from the sandbox."),
				 errhint("Call escalate_overdue() without an argument (as of now()), or with a moment that has passed.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	cat = cs_catalog();
	ledger = cs_ledger_create(false);
	if (*overdue_plan == NULL)
	{
		Oid			types[1] = {TIMESTAMPTZOID};

		*overdue_plan = cs_prepare(psprintf("SELECT warning_id, operator_id, code, subject_key, due_at, hits"
										   "  FROM %s WHERE list = 'admin_tip' AND due_at < $1"
										   "   AND status IN ('open', 'acknowledged')"
										   " ORDER BY due_at, warning_id",
										   cs_table("warnings")),
								  1, types);
	}
	values[0] = TimestampTzGetDatum(at);
	cs_execute(*overdue_plan, values, NULL);
	overdue = SPI_tuptable;
	noverdue = SPI_processed;

	/* every tip's operator locked first, in the global order (no deadlock with inserts) */
	keys = palloc(sizeof(OperatorLockKey) * Max(noverdue, 1));
	for (uint64 i = 0; i < noverdue; i++)
	{
		char	   *operator_id = SPI_getvalue(overdue->vals[i], overdue->tupdesc, 2);

		keys[i] = cs_operator_lock_key(operator_id, strlen(operator_id));
	}
	cs_lock_operators(keys, (int) noverdue);

	for (uint64 i = 0; i < noverdue; i++)
	{
		HeapTuple	row = overdue->vals[i];
		TupleDesc	desc = overdue->tupdesc;
		bool		isnull;
		int64		tip_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		char	   *operator_id = SPI_getvalue(row, desc, 2);
		char	   *code = SPI_getvalue(row, desc, 3);
		TimestampTz due_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 5, &isnull));
		const Rule *rule = NULL;
		Hit			hit = {0};
		Evidence	ev;
		char	   *from_status;

		for (int r = 0; r < NUM_RULES; r++)
			if (strcmp(cs_rule_codes[r], code) == 0 && cat->rules[r].code[0] != '\0')
				rule = &cat->rules[r];
		if (rule == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("tip %lld cannot be escalated: rule %s does not exist", (long long) tip_id, code)));

		from_status = mark_escalated(tip_id, operator_id, at);
		if (from_status == NULL)
			continue;

		cs_evidence_begin(&ev);
		cs_evidence_int(&ev, "escalated_from", tip_id);
		cs_evidence_int(&ev, "tip_hits", (int64) strtoll(SPI_getvalue(row, desc, 6), NULL, 10));
		cs_evidence_timestamptz(&ev, "due_at", due_at);

		hit.rule = rule;
		hit.operator_id = operator_id;
		hit.subject_key = SPI_getvalue(row, desc, 4);
		hit.in_sandbox = cs_operator_in_sandbox(operator_id);
		hit.source_table = "warnings";
		hit.source_id = tip_id;
		hit.at = due_at;
		hit.evidence = cs_evidence_finish(&ev);
		hit.escalation = true;
		{
			bool		is_clue;

			link_escalation(tip_id, operator_id, cs_record_hit(ledger, &hit, &is_clue), from_status);
		}
		escalated++;
	}
	cs_ledger_write(ledger);
	SPI_finish();
	PG_RETURN_INT64(escalated);
}
