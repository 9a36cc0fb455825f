/*-------------------------------------------------------------------------
 *
 * replay.c
 *	  Replay: stored rows of a time range judged again by the evaluator, with
 *	  the current rules or a proposed change of them, writing nothing.
 *
 * Rows are taken table by table in id order (the order they arrived in;
 * each table's red lines read only that table's history) and judged against
 * the stored rows with a smaller id, exactly as the triggers judged them
 * when they were inserted one by one.  The hits come back as rows;
 * check_consistency() compares them with the hit log.  Not replayed: the
 * sandbox's tolerance, which depends on who was a member when a row came
 * (memberships are kept by wall-clock time, rows by data time), so a hit's
 * list is the rule's own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "evaluate.h"
#include "spi_util.h"

#include "access/tupdesc.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_replay);

typedef struct ReplayOutput
{
	Tuplestorestate *store;
	TupleDesc	desc;
	HTAB	   *keys_seen;		/* operator, code, subject: first hit or not */
	MemoryContext context;		/* lives as long as the result */
} ReplayOutput;

static void
collect_hit(const Hit *hit, void *arg)
{
	ReplayOutput *out = arg;
	char	   *key = psprintf("%zu:%s%s:%s", strlen(hit->operator_id), hit->operator_id,
							   hit->rule->code, hit->subject_key);
	bool		seen = hash_search(out->keys_seen, &key, HASH_FIND, NULL) != NULL;
	Datum		values[10];
	bool		nulls[10] = {0};

	if (!seen)
	{
		key = MemoryContextStrdup(out->context, key);
		(void) hash_search(out->keys_seen, &key, HASH_ENTER, NULL);
	}
	values[0] = CStringGetTextDatum(hit->source_table);
	values[1] = Int64GetDatum(hit->source_id);
	values[2] = CStringGetTextDatum(hit->operator_id);
	values[3] = CStringGetTextDatum(hit->rule->code);
	values[4] = CStringGetTextDatum(hit->rule->is_tip ? "admin_tip" : "risk_trigger");
	values[5] = CStringGetTextDatum(hit->subject_key);
	values[6] = TimestampTzGetDatum(hit->at);
	values[7] = Int32GetDatum(hit->rule->version);
	nulls[7] = hit->rule->version == 0;
	values[8] = BoolGetDatum(!seen);
	values[9] = hit->evidence;
	tuplestore_putvalues(out->store, out->desc, values, nulls);
}

/* Replays the rows of one event table with times in [since, until). */
static void
replay_table(EventKind kind, const RuleCatalog *cat, TimestampTz since, TimestampTz until,
			 ReplayOutput *out)
{
	const EventTable *table = &cs_event_tables[kind];
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2] = {TimestampTzGetDatum(since), TimestampTzGetDatum(until)};
	SPIPlanPtr	plan;
	Portal		portal;
	EvalContext *ctx = NULL;

	plan = SPI_prepare_cursor(psprintf("SELECT * FROM %s WHERE %s >= $1 AND %s < $2 ORDER BY %s",
									   cs_table(table->name), quote_identifier(table->time_column),
									   quote_identifier(table->time_column),
									   quote_identifier(table->id_column)),
							  2, types, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		elog(ERROR, "credit_sandbox: SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, values, NULL, true);
	for (;;)
	{
		SPITupleTable *rows;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, CS_BATCH_ROWS);
		rows = SPI_tuptable;
		nrows = SPI_processed;
		if (ctx == NULL)
			ctx = cs_replay_begin(kind, CreateTupleDescCopy(rows->tupdesc), cat, collect_hit, out);
		for (uint64 i = 0; i < nrows; i++)
			cs_evaluate_add(ctx, rows->vals[i]);
		SPI_freetuptable(rows);
		cs_evaluate_flush(ctx);
		if (nrows < CS_BATCH_ROWS)
			break;
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/*
 * credit_sandbox.replay(since, until, rules): the hits the stored rows of
 * [since, until) give under the current rules, changed by the proposed
 * ones when given.
 */
Datum
credit_sandbox_replay(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz since = PG_ARGISNULL(0) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz until = PG_ARGISNULL(1) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(1);
	const RuleCatalog *cat;
	ReplayOutput out;

	InitMaterializedSRF(fcinfo, 0);
	out.store = rsinfo->setResult;
	out.desc = rsinfo->setDesc;
	out.context = CurrentMemoryContext;
	out.keys_seen = cs_string_hash_create("credit_sandbox replay keys", 1024, sizeof(char *),
										  out.context);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	cat = cs_catalog();
	if (!PG_ARGISNULL(2))
		cat = cs_catalog_proposed(cat, PG_GETARG_JSONB_P(2));
	for (int kind = 0; kind < NUM_EVENT_KINDS; kind++)
		replay_table((EventKind) kind, cat, since, until, &out);
	SPI_finish();
	return (Datum) 0;
}
