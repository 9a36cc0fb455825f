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
 * On Citus each shard group is replayed on its node (replay_placed) and
 * the hits gathered on the coordinator in the order one node gives them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "evaluate.h"
#include "placement.h"
#include "spi_util.h"

#include "access/relation.h"
#include "access/tupdesc.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_replay);
PG_FUNCTION_INFO_V1(credit_sandbox_replay_placed);

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
 * The replay's hits as rows of the current call's result: the rows of
 * [since, until) (the arguments from first_arg on; NULL since or until
 * means no bound) under the current rules, changed by the proposed ones
 * when given.
 */
static void
replay_here(FunctionCallInfo fcinfo, int first_arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz since = PG_ARGISNULL(first_arg) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(first_arg);
	TimestampTz until = PG_ARGISNULL(first_arg + 1) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(first_arg + 1);
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
	if (!PG_ARGISNULL(first_arg + 2))
		cat = cs_catalog_proposed(cat, PG_GETARG_JSONB_P(first_arg + 2));
	for (int kind = 0; kind < NUM_EVENT_KINDS; kind++)
		replay_table((EventKind) kind, cat, since, until, &out);
	SPI_finish();
}

/* Whether the event tables are distributed: a Citus node after distribute(). */
static bool
tables_distributed(void)
{
	bool		distributed;

	if (!cs_citus_node() || cs_placement_is_shard())
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (SPI_execute("SELECT FROM pg_catalog.pg_dist_partition"
					" WHERE logicalrelid = 'credit_sandbox.transactions'::pg_catalog.regclass", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not read pg_dist_partition");
	distributed = SPI_processed > 0;
	SPI_finish();
	return distributed;
}

/*
 * On Citus, each shard group replayed where it is (replay_placed on its
 * node: the red lines read one operator's rows, all in one shard group),
 * the hits gathered in one node's order: table by table, by source id, a
 * row's hits in the order it gave them.  The shards are read over
 * connections of their own (run_command_on_shards), so rows this
 * transaction has not committed are not replayed.
 */
static void
replay_shards(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, TEXTARRAYOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', PG_ARGISNULL(2) ? 'n' : ' ', ' '};
	const char *tables[NUM_EVENT_KINDS];
	Tuplestorestate *store;
	TupleDesc	desc;

	for (int kind = 0; kind < NUM_EVENT_KINDS; kind++)
		tables[kind] = cs_event_tables[kind].name;
	values[0] = PG_ARGISNULL(0) ? TimestampTzGetDatum(DT_NOBEGIN) : PG_GETARG_DATUM(0);
	values[1] = PG_ARGISNULL(1) ? TimestampTzGetDatum(DT_NOEND) : PG_GETARG_DATUM(1);
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	values[3] = cs_text_array(tables, NUM_EVENT_KINDS);

	InitMaterializedSRF(fcinfo, 0);
	store = rsinfo->setResult;
	desc = rsinfo->setDesc;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	/* times as JSON gives them (ISO 8601, with their offset): the same on every node whatever its settings */
	if (SPI_execute_with_args("SELECT s.shardid, s.success, s.result,"
							  "       h.source_table, h.source_id, h.operator_id, h.code, h.list, h.subject_key,"
							  "       h.occurred_at, h.rule_version, h.first_hit, h.evidence"
							  "  FROM pg_catalog.run_command_on_shards('credit_sandbox.transactions',"
							  "         pg_catalog.format('SELECT coalesce(pg_catalog.jsonb_agg(r), ''[]'')"
							  " FROM credit_sandbox.replay_placed(''%%s'', %L, %L, %L) r',"
							  "                           pg_catalog.to_jsonb($1) #>> '{}', pg_catalog.to_jsonb($2) #>> '{}', $3)) s"
							  "  LEFT JOIN LATERAL pg_catalog.jsonb_array_elements(CASE WHEN s.success THEN s.result::jsonb END)"
							  "       WITH ORDINALITY AS e(hit, n) ON true"
							  "  LEFT JOIN LATERAL pg_catalog.jsonb_to_record(e.hit)"
							  "       AS h(source_table text, source_id bigint, operator_id text, code text, list text,"
							  "            subject_key text, occurred_at timestamptz, rule_version integer,"
							  "            first_hit boolean, evidence jsonb) ON true"
							  " ORDER BY pg_catalog.array_position($4, h.source_table), h.source_id, s.shardid, e.n",
							  4, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not replay the shards");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	rowdesc = SPI_tuptable->tupdesc;
		Datum		hit[10];
		bool		hit_nulls[10];
		bool		isnull;

		if (!DatumGetBool(SPI_getbinval(row, rowdesc, 2, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("replay of shard %s failed: %s", SPI_getvalue(row, rowdesc, 1),
							SPI_getvalue(row, rowdesc, 3))));
		for (int c = 0; c < 10; c++)
			hit[c] = SPI_getbinval(row, rowdesc, c + 4, &hit_nulls[c]);
		if (hit_nulls[0])
			continue;			/* a shard group without hits */
		tuplestore_putvalues(store, desc, hit, hit_nulls);
	}
	SPI_finish();
}

/*
 * credit_sandbox.replay(since, until, rules): the hits the stored rows of
 * [since, until) give under the current rules, changed by the proposed
 * ones when given.
 */
Datum
credit_sandbox_replay(PG_FUNCTION_ARGS)
{
	if (tables_distributed())
		replay_shards(fcinfo);
	else
		replay_here(fcinfo, 0);
	return (Datum) 0;
}

static Datum
replay_placed_body(PG_FUNCTION_ARGS)
{
	replay_here(fcinfo, 1);
	return (Datum) 0;
}

/*
 * credit_sandbox.replay_placed(shard, since, until, rules): replay() of
 * the shard group of shard, a Citus shard of the extension on this node.
 */
Datum
credit_sandbox_replay_placed(PG_FUNCTION_ARGS)
{
	Relation	rel = relation_open(PG_GETARG_OID(0), AccessShareLock);
	Datum		result;

	if (!cs_citus_node() || RelationGetRelid(rel) == cs_logical_relid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a Citus shard of a table of credit_sandbox", RelationGetRelationName(rel)),
				 errhint("Call credit_sandbox.replay(): on Citus it replays every shard group.")));
	result = cs_call_placed(rel, replay_placed_body, fcinfo);
	relation_close(rel, AccessShareLock);
	return result;
}
