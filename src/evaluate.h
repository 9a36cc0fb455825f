/*-------------------------------------------------------------------------
 *
 * evaluate.h
 *	  The evaluator: inserted (or replayed) rows in, their red-line hits
 *	  out, in batches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_EVALUATE_H
#define CS_EVALUATE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/relcache.h"

#include "catalog.h"
#include "outcome.h"

typedef enum EventKind
{
	EVENT_TRANSACTION,
	EVENT_RETURN,
	EVENT_COMPLAINT
} EventKind;

#define NUM_EVENT_KINDS (EVENT_COMPLAINT + 1)

/* An event table, its generated id and the time its windows are on. */
typedef struct EventTable
{
	const char *name;
	const char *id_column;
	const char *time_column;
} EventTable;

extern const EventTable cs_event_tables[NUM_EVENT_KINDS];

/*
 * Rows are judged in batches: enough to share the fact queries among many
 * rows, few enough to keep memory bounded whatever the statement's size.
 */
#define CS_BATCH_ROWS 8192

typedef struct EvalContext EvalContext;
typedef void (*HitCollector) (const Hit *hit, void *arg);

extern EventKind cs_event_kind(const char *name);
extern EvalContext *cs_evaluate_begin(EventKind kind, Relation judged, bool one_operator);
extern EvalContext *cs_replay_begin(EventKind kind, TupleDesc desc, const RuleCatalog *cat,
									HitCollector collect, void *collect_arg);
extern void cs_evaluate_add(EvalContext *ctx, HeapTuple tuple);
extern int	cs_evaluate_pending(EvalContext *ctx);
extern void cs_evaluate_flush(EvalContext *ctx);
extern void cs_evaluate_end(EvalContext *ctx);
extern int	cs_operator_column(EvalContext *ctx);

#endif							/* CS_EVALUATE_H */
