/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The drivers: AFTER INSERT triggers that feed inserted rows to the
 *	  evaluator.  The row driver judges one row per call; the statement
 *	  driver reads the statement's transition table and judges its rows in
 *	  batches, so COPY and INSERT ... SELECT share the queries for facts
 *	  among thousands of rows.  Both evaluate rows in insertion order
 *	  through the same evaluator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "credit_sandbox.h"

#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(credit_sandbox_check_rows);

static int
compare_keys(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

/*
 * Takes the locks of every operator in the statement in one global order,
 * so that two concurrent multi-operator statements cannot deadlock.
 */
static void
lock_statement_operators(EvalContext *ctx, Tuplestorestate *rows, TupleTableSlot *slot,
						 MemoryContext scratch)
{
	MemoryContext old = MemoryContextSwitchTo(scratch);
	int			nkeys = 0;
	int			capacity = 64;
	uint32	   *keys = palloc(sizeof(uint32) * capacity);

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		should_free;
		HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
		char	   *operator_id = cs_row_operator(ctx, tuple);

		if (nkeys == capacity)
		{
			capacity *= 2;
			keys = repalloc_huge(keys, sizeof(uint32) * capacity);
		}
		keys[nkeys++] = cs_operator_lock_key(operator_id);
		pfree(operator_id);
		if (should_free)
			heap_freetuple(tuple);
	}
	qsort(keys, nkeys, sizeof(uint32), compare_keys);
	for (int i = 0; i < nkeys; i++)
		if (i == 0 || keys[i] != keys[i - 1])
			cs_lock_operator_key(keys[i]);
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
}

/*
 * Rows are judged in batches: enough to share the fact queries among many
 * rows, few enough to keep memory bounded whatever the statement's size
 * (the transition table itself spills to disk).
 */
#define BATCH_ROWS 8192

static void
check_transition_table(EvalContext *ctx, Tuplestorestate *rows, TupleDesc desc)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "credit_sandbox scan",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;

	lock_statement_operators(ctx, rows, slot, scratch);

	tuplestore_rescan(rows);
	old = MemoryContextSwitchTo(scratch);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		should_free;

		cs_evaluate_add(ctx, ExecFetchSlotHeapTuple(slot, false, &should_free));
		MemoryContextReset(scratch);
		if (cs_evaluate_pending(ctx) >= BATCH_ROWS)
			cs_evaluate_flush(ctx);
	}
	cs_evaluate_flush(ctx);
	MemoryContextSwitchTo(old);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(scratch);
}

/*
 * credit_sandbox.check_rows(kind): AFTER INSERT, FOR EACH ROW or FOR EACH
 * STATEMENT with REFERENCING NEW TABLE.
 */
Datum
credit_sandbox_check_rows(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	TupleDesc	desc;
	EvalContext *ctx;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_rows: not called by trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_rows: must be fired AFTER INSERT")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_rows: expects one argument, the event kind")));
	if (TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) && trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_rows: a statement trigger needs REFERENCING NEW TABLE")));

	desc = RelationGetDescr(trigdata->tg_relation);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	ctx = cs_evaluate_begin(cs_event_kind(trigger->tgargs[0]), desc);
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		cs_evaluate_add(ctx, trigdata->tg_trigtuple);
		cs_evaluate_flush(ctx);
	}
	else
		check_transition_table(ctx, trigdata->tg_newtable, desc);
	SPI_finish();
	return PointerGetDatum(NULL);
}
