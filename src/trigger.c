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

#include "compat.h"
#include "evaluate.h"
#include "operator_lock.h"
#include "placement.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(credit_sandbox_check_rows);

/*
 * Takes the locks of every operator in the statement in one global order,
 * so that two concurrent multi-operator statements cannot deadlock.  The
 * lock keys are kept once each: memory grows with the operators, not the
 * rows.  A tuple read back from a transition table that spilled to disk
 * lives in the current context, so the slot is cleared before the scratch
 * context is reset.
 */
static void
lock_statement_operators(EvalContext *ctx, Tuplestorestate *rows, TupleTableSlot *slot,
						 MemoryContext scratch)
{
	HASHCTL		ctl;
	HTAB	   *seen;
	HASH_SEQ_STATUS status;
	OperatorLockKey *key;
	OperatorLockKey *keys;
	int			nkeys = 0;

	ctl.keysize = sizeof(OperatorLockKey);
	ctl.entrysize = sizeof(OperatorLockKey);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("credit_sandbox operator locks", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	tuplestore_rescan(rows);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(scratch);
		bool		more = tuplestore_gettupleslot(rows, true, false, slot);
		OperatorLockKey lock_key = 0;

		if (more)
		{
			bool		isnull;
			text	   *operator_id = DatumGetTextPP(slot_getattr(slot, cs_operator_column(ctx), &isnull));

			lock_key = cs_operator_lock_key(VARDATA_ANY(operator_id), VARSIZE_ANY_EXHDR(operator_id));
			ExecClearTuple(slot);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(scratch);
		if (!more)
			break;
		(void) hash_search(seen, &lock_key, HASH_ENTER, NULL);
	}

	keys = palloc(sizeof(OperatorLockKey) * Max(hash_get_num_entries(seen), 1));
	hash_seq_init(&status, seen);
	while ((key = hash_seq_search(&status)) != NULL)
		keys[nkeys++] = *key;
	cs_lock_operators(keys, nkeys);
	pfree(keys);
	hash_destroy(seen);
}

/* The lock of a row's operator, for a statement of one row. */
static void
lock_row_operator(EvalContext *ctx, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;

	cs_lock_operator(TextDatumGetCString(heap_getattr(tuple, cs_operator_column(ctx), desc, &isnull)));
}

static void
check_transition_table(EvalContext *ctx, Tuplestorestate *rows, TupleDesc desc)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "credit_sandbox scan",
												  ALLOCSET_DEFAULT_SIZES);

	/* one row: its operator's lock is taken as the row is read */
	bool		one_row = tuplestore_tuple_count(rows) == 1;

	if (!one_row)
		lock_statement_operators(ctx, rows, slot, scratch);

	tuplestore_rescan(rows);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(scratch);
		bool		more = tuplestore_gettupleslot(rows, true, false, slot);

		if (more)
		{
			bool		should_free;
			HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);

			if (one_row)
				lock_row_operator(ctx, tuple, desc);
			cs_evaluate_add(ctx, tuple);
			ExecClearTuple(slot);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(scratch);
		if (!more || cs_evaluate_pending(ctx) >= CS_BATCH_ROWS)
			cs_evaluate_flush(ctx);
		if (!more)
			break;
	}
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(scratch);
}

static Oid
function_owner(Oid function)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", function);
	owner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * credit_sandbox.check_rows(kind): AFTER INSERT, FOR EACH ROW or FOR EACH
 * STATEMENT with REFERENCING NEW TABLE.
 *
 * All it does (the facts it reads, warnings, hits, sandbox exits, grades,
 * NOTIFY) runs as the function's owner, the extension's owner, who owns
 * every table involved, and with pg_catalog alone as search path: the
 * inserting role needs INSERT on the event table and nothing else, and
 * neither its privileges nor its search_path reach the checks (nor the
 * plans they keep for the backend).  This is what SECURITY DEFINER with SET
 * search_path would do, switched here without going through the function
 * manager (the user as PostgreSQL's RI triggers switch it, the search path
 * as compat.h pins it on each major).  An error restores both with the
 * transaction.
 */
static Datum
check_rows_placed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger = trigdata->tg_trigger;
	TupleDesc	desc;
	EvalContext *ctx;
	Oid			caller;
	int			caller_context;
	int			search_path_level;

	GetUserIdAndSecContext(&caller, &caller_context);
	SetUserIdAndSecContext(function_owner(fcinfo->flinfo->fn_oid),
						   caller_context | SECURITY_LOCAL_USERID_CHANGE);
	search_path_level = cs_pin_search_path();

	desc = RelationGetDescr(trigdata->tg_relation);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");

	/*
	 * A statement that also changed what the caches hold (a CTE that
	 * registers an operator, edits a rule or a list) registered their
	 * invalidation in a BEFORE STATEMENT trigger, before its rows were
	 * written; the next command counter increment processes it.  Take it
	 * now, before any cache is looked at.
	 */
	CommandCounterIncrement();
	ctx = cs_evaluate_begin(cs_event_kind(trigger->tgargs[0]), trigdata->tg_relation,
							TRIGGER_FIRED_FOR_ROW(trigdata->tg_event));
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		lock_row_operator(ctx, trigdata->tg_trigtuple, desc);
		cs_evaluate_add(ctx, trigdata->tg_trigtuple);
		cs_evaluate_flush(ctx);
	}
	else
		check_transition_table(ctx, trigdata->tg_newtable, desc);
	cs_evaluate_end(ctx);
	SPI_finish();

	cs_unpin_search_path(search_path_level);
	SetUserIdAndSecContext(caller, caller_context);
	return PointerGetDatum(NULL);
}

Datum
credit_sandbox_check_rows(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;

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
	return cs_call_placed(trigdata->tg_relation, check_rows_placed, fcinfo);
}
