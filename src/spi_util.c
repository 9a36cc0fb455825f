/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  SPI helpers every module uses: kept plans, planned without sequential
 *	  scans and run on the latest snapshot; the extension's table names;
 *	  parameter arrays for the set-based queries; string-keyed hash tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "spi_util.h"

#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "optimizer/planner.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

static uint32
string_key_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
string_key_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

/* A hash table whose entries start with a pointer to their C-string key. */
HTAB *
cs_string_hash_create(const char *name, long size, Size entrysize, MemoryContext context)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = string_key_hash;
	ctl.match = string_key_match;
	ctl.hcxt = context;
	return hash_create(name, Max(size, 8), &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/*
 * Fully qualified, quoted name of one of the extension's tables, or of its
 * shard in the current placement.
 */
char *
cs_table(const char *relname)
{
	return cs_placed_table(relname);
}

/*
 * Prepares a plan once; the caller keeps it in its cs_plan_slot.  Generic
 * plans: the queries are index lookups whose shape does not depend on the
 * values, and a custom plan would be planned again on every execution (the
 * planner cannot cost an unnest of an array parameter, so it never finds the
 * generic plan cheaper).  But custom plans for the tables themselves on a
 * Citus node (a coordinator's grading, escalation, replay): Citus plans a
 * distributed query with its parameters' values, never generically.
 */
SPIPlanPtr
cs_prepare(const char *query, int nargs, Oid *argtypes)
{
	int			options = !cs_placement_is_shard() && cs_citus_node()
		? CURSOR_OPT_CUSTOM_PLAN : CURSOR_OPT_GENERIC_PLAN;
	SPIPlanPtr	plan = SPI_prepare_cursor(query, nargs, argtypes, options);

	if (plan == NULL)
		elog(ERROR, "credit_sandbox: SPI_prepare failed for \"%s\": %s",
			 query, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "credit_sandbox: SPI_keepplan failed");
	return plan;
}

/*
 * A kept plan is planned once, often while the tables are still empty, and
 * then runs for as long as the backend lives while they grow: a sequential
 * scan that was cheapest on an empty warnings table would read it whole for
 * every hit a million rows later.  So a kept plan is planned, and planned
 * again whenever the plan cache decides to (an invalidation, a changed
 * search path or role, ...), with sequential scans disabled wherever an
 * index serves, and without JIT, which the planner would otherwise switch
 * on for the cost that disabling adds.  The planner hook is where that
 * holds whatever made the plan cache plan: it applies the settings to the
 * generic plans (CURSOR_OPT_GENERIC_PLAN, as cs_prepare makes them)
 * planned while cs_execute runs, and costs one test otherwise.
 */
static planner_hook_type prev_planner_hook = NULL;
static bool executing_kept_plan = false;

static PlannedStmt *
plan_kept_query(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	bool		kept = executing_kept_plan && (cursorOptions & CURSOR_OPT_GENERIC_PLAN) != 0;
	int			nest_level = 0;
	PlannedStmt *result;

	if (kept)
	{
		nest_level = NewGUCNestLevel();
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (prev_planner_hook)
		result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (kept)
		AtEOXact_GUC(true, nest_level);
	return result;
}

/* Installs the planner hook above; called once, by _PG_init. */
void
cs_spi_init(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = plan_kept_query;
}

/*
 * Runs a kept plan on the latest snapshot.  The caller holds the operator's
 * lock, so what commits before it is seen whatever the isolation level:
 * under REPEATABLE READ the transaction snapshot would miss rows committed
 * after it was taken and the check would not be exact.
 */
void
cs_execute(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	/* SPI returns in its procedure context: keep allocating where the caller was */
	MemoryContext caller = CurrentMemoryContext;
	bool		outer = executing_kept_plan;
	int			rc;

	executing_kept_plan = true;
	PG_TRY();
	{
		rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(),
								  InvalidSnapshot, false, true, 0);
	}
	PG_FINALLY();
	{
		executing_kept_plan = outer;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	if (rc < 0)
		elog(ERROR, "credit_sandbox: SPI_execute_snapshot failed: %s",
			 SPI_result_code_string(rc));
}

/* Arrays of parameters for the set-based queries (unnest of a batch's keys). */
Datum
cs_text_array(const char **items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
cs_int8_array(const int64 *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum
cs_timestamptz_array(const TimestampTz *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = TimestampTzGetDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TIMESTAMPTZOID, sizeof(TimestampTz),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
