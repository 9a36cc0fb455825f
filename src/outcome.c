/*-------------------------------------------------------------------------
 *
 * outcome.c
 *	  From a hit to a warning: dedup into the open warning of its key, sandbox
 *	  tolerance (a first tolerable hit becomes an administrative tip with a
 *	  correction deadline), the sandbox exit on a warning clue, and the
 *	  NOTIFY that reaches listening systems when the row commits.
 *
 * All writes for one operator happen under that operator's lock, taken by
 * the evaluator before it reads anything, so the open-warning lookup and
 * the insert that may follow cannot race.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "credit_sandbox.h"

#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_lock_operator);

/*
 * Advisory locks in their own space ('CSBX' as the first key), so they
 * cannot collide with an application's advisory locks on plain numbers.
 * Two operators sharing a hash only wait for each other.
 */
#define CS_LOCK_SPACE 0x43534258

#define NOTIFY_CHANNEL "credit_sandbox"
/* the longest payload NOTIFY accepts, as defined in commands/async.c */
#define NOTIFY_PAYLOAD_LIMIT (BLCKSZ - NAMEDATALEN - 128)

uint32
cs_operator_lock_key(const char *operator_id)
{
	return hash_bytes((const unsigned char *) operator_id, strlen(operator_id));
}

void
cs_lock_operator_key(uint32 key)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, CS_LOCK_SPACE, key, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
cs_lock_operator(const char *operator_id)
{
	cs_lock_operator_key(cs_operator_lock_key(operator_id));
}

Datum
credit_sandbox_lock_operator(PG_FUNCTION_ARGS)
{
	cs_lock_operator(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

bool
cs_operator_in_sandbox(const char *operator_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[1];
	bool		member;

	if (plan == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan = cs_prepare(psprintf("SELECT FROM %s m WHERE m.operator_id = $1 AND m.exited_at IS NULL",
								   cs_table("sandbox_memberships")),
						  1, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	cs_execute(plan, values, NULL);
	member = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return member;
}

/* One more hit on the open warning of the key; false when none is open. */
static bool
add_to_open_warning(const Hit *hit, int64 *warning_id, bool *is_tip)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];
	bool		found;

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, INT8OID};

		plan = cs_prepare(psprintf("WITH w AS ("
								   "  UPDATE %s w SET hits = w.hits + 1,"
								   "         last_hit_at = GREATEST(w.last_hit_at, $4)"
								   "   WHERE w.operator_id = $1 AND w.code = $2 AND w.subject_key = $3"
								   "     AND w.status = 'open'"
								   "  RETURNING w.warning_id, w.list = 'admin_tip' AS is_tip)"
								   " INSERT INTO %s (warning_id, source_table, source_id, hit_at)"
								   " SELECT w.warning_id, $5, $6, $4 FROM w"
								   " RETURNING warning_id, (SELECT w.is_tip FROM w)",
								   cs_table("warnings"), cs_table("warning_hits")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = CStringGetTextDatum(hit->subject_key);
	values[3] = TimestampTzGetDatum(hit->at);
	values[4] = CStringGetTextDatum(hit->source_table);
	values[5] = Int64GetDatum(hit->source_id);
	cs_execute(plan, values, NULL);
	found = SPI_processed > 0;
	if (found)
	{
		bool		isnull;

		*warning_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*is_tip = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/*
 * Sandbox tolerance: a member's hit on a tolerable red line with no warning
 * or tip of that code whose last hit lies within the tolerance window.
 */
static bool
tolerated(const Hit *hit)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[3];
	bool		earlier;

	if (!hit->in_sandbox || !hit->rule->tolerable || hit->rule->is_tip || hit->escalation)
		return false;
	if (plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};

		plan = cs_prepare(psprintf("SELECT FROM %s w WHERE w.operator_id = $1 AND w.code = $2"
								   "   AND w.last_hit_at > $3 LIMIT 1",
								   cs_table("warnings")),
						  3, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = TimestampTzGetDatum(cs_sub_interval(hit->at, cs_tolerance_window));
	cs_execute(plan, values, NULL);
	earlier = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return !earlier;
}

static int64
insert_warning(const Hit *hit, const char *list, bool has_due, TimestampTz due_at)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', has_due ? ' ' : 'n'};
	bool		isnull;
	int64		warning_id;

	if (plan == NULL)
	{
		Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
		TIMESTAMPTZOID, INT4OID, JSONBOID, TIMESTAMPTZOID};

		plan = cs_prepare(psprintf("WITH w AS ("
								   "  INSERT INTO %s (operator_id, code, list, subject_key, source_table,"
								   "      source_id, occurred_at, last_hit_at, rule_version, evidence, due_at)"
								   "  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) RETURNING warning_id)"
								   " INSERT INTO %s (warning_id, source_table, source_id, hit_at)"
								   " SELECT w.warning_id, $5, $6, $7 FROM w RETURNING warning_id",
								   cs_table("warnings"), cs_table("warning_hits")),
						  10, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = CStringGetTextDatum(list);
	values[3] = CStringGetTextDatum(hit->subject_key);
	values[4] = CStringGetTextDatum(hit->source_table);
	values[5] = Int64GetDatum(hit->source_id);
	values[6] = TimestampTzGetDatum(hit->at);
	values[7] = Int32GetDatum(hit->rule->version);
	values[8] = hit->evidence;
	values[9] = TimestampTzGetDatum(due_at);
	cs_execute(plan, values, nulls);
	warning_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return warning_id;
}

/* A warning clue ends the operator's stay in the sandbox. */
static void
leave_sandbox(const Hit *hit, int64 warning_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[5];

	if (plan == NULL)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID};

		plan = cs_prepare(psprintf("UPDATE %s m SET exited_at = pg_catalog.now(), exit_reason = $2,"
								   "       exit_code = $3, exit_warning_id = $4, exit_hit_at = $5"
								   " WHERE m.operator_id = $1 AND m.exited_at IS NULL",
								   cs_table("sandbox_memberships")),
						  5, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(psprintf("%s: %s", hit->rule->code, hit->rule->title));
	values[2] = CStringGetTextDatum(hit->rule->code);
	values[3] = Int64GetDatum(warning_id);
	values[4] = TimestampTzGetDatum(hit->at);
	cs_execute(plan, values, NULL);
}

/*
 * NOTIFY credit_sandbox with the new warning as JSON; PostgreSQL delivers
 * it only if the transaction commits.  Keys that would push the payload
 * past the protocol limit are dropped rather than failing the insert.
 */
static void
notify_new_warning(const Hit *hit, int64 warning_id, const char *list, bool has_due, TimestampTz due_at)
{
	StringInfoData buf;

	for (int with_keys = 1; with_keys >= 0; with_keys--)
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"warning_id\":" INT64_FORMAT, warning_id);
		appendStringInfo(&buf, ",\"code\":\"%s\",\"list\":\"%s\"", hit->rule->code, list);
		if (with_keys)
		{
			appendStringInfoString(&buf, ",\"operator_id\":");
			escape_json(&buf, hit->operator_id);
			appendStringInfoString(&buf, ",\"subject_key\":");
			escape_json(&buf, hit->subject_key);
		}
		appendStringInfo(&buf, ",\"source_table\":\"%s\",\"source_id\":" INT64_FORMAT,
						 hit->source_table, hit->source_id);
		appendStringInfoString(&buf, ",\"occurred_at\":");
		escape_json(&buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(hit->at), TIMESTAMPTZOID, NULL));
		appendStringInfoString(&buf, ",\"due_at\":");
		if (has_due)
			escape_json(&buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(due_at), TIMESTAMPTZOID, NULL));
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoChar(&buf, '}');
		if (buf.len < NOTIFY_PAYLOAD_LIMIT)
			break;
	}
	Async_Notify(NOTIFY_CHANNEL, buf.data);
}

/*
 * Records one hit: more hits on the open warning of its key, or a new
 * warning clue or tip.  A new warning clue caps the operator's class at B;
 * any warning clue takes the operator out of the sandbox (tips never do).
 * Returns the warning's id, and whether it is a warning clue.
 */
int64
cs_record_hit(const Hit *hit, bool *is_clue)
{
	int64		warning_id;
	bool		is_tip;

	if (!add_to_open_warning(hit, &warning_id, &is_tip))
	{
		bool		has_due = false;
		TimestampTz due_at = 0;

		is_tip = hit->rule->is_tip && !hit->escalation;
		if (tolerated(hit))
		{
			is_tip = true;
			has_due = true;
			due_at = cs_add_interval(hit->at, cs_correction_period);
		}
		warning_id = insert_warning(hit, is_tip ? "admin_tip" : "risk_trigger", has_due, due_at);
		notify_new_warning(hit, warning_id, is_tip ? "admin_tip" : "risk_trigger", has_due, due_at);
		if (!is_tip)
			cs_grade_after_warning_clue(hit->operator_id, hit->rule->code, hit->at);
	}
	if (!is_tip && hit->in_sandbox)
		leave_sandbox(hit, warning_id);
	*is_clue = !is_tip;
	return warning_id;
}
