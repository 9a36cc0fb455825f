/*-------------------------------------------------------------------------
 *
 * history.h
 *	  The windows the red lines look back on (RL04, RL05, RL07, RL08): the
 *	  stored rows of a key in a time span, loaded for a batch at once, and
 *	  each row's answer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_HISTORY_H
#define CS_HISTORY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/numeric.h"

/*
 * A stored row of one key's history: an order to an address, a sale of an
 * item, a refusal of a return, a complaint.
 */
typedef struct HistoryRow
{
	TimestampTz at;
	int64		id;
	bool		this_xact;		/* inserted by the current (sub)transaction */
	Numeric		price;
} HistoryRow;

typedef struct History
{
	int			n;
	HistoryRow *rows;			/* sorted by time */
	/* the span asked for: [from, to) for prices, else (from, to] */
	TimestampTz from;
	TimestampTz to;
	/* refusals: only those requested within this of their delivery count */
	const Interval *return_period;
} History;

/* The keys with a long history a statement keeps between its batches. */
typedef struct HistoryCarry HistoryCarry;

typedef enum HistoryKind
{
	HISTORY_ORDERS,				/* RL04: orders to an address, in (from, to] */
	HISTORY_PRICES,				/* RL05: earlier prices of an item, in [from, to) */
	HISTORY_REFUSALS,			/* RL07: an operator's refused returns, in (from, to] */
	HISTORY_COMPLAINTS,			/* RL08: complaints about an operator, in (from, to] */
	NUM_HISTORY_KINDS
} HistoryKind;

extern void cs_history_init(void);
extern HistoryCarry *cs_history_carry_create(void);
extern void cs_history_load(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys,
							History **handles, HistoryCarry *carry);

/* A row's window on a key's history, and the answer cs_history_answer() gives. */
typedef struct HistoryQuestion
{
	int64		id;				/* the row asking */
	TimestampTz from;			/* prices: [from, to); else (from, to] */
	TimestampTz to;
	TimestampTz baseline_from;	/* complaints: the baseline, (baseline_from, from] */
	int64		count;			/* rows in the window stored before the row, itself included */
	int64		baseline_count; /* complaints: the same in the baseline */
	Numeric		lowest;			/* prices: the lowest earlier price, or NULL */
} HistoryQuestion;

extern void cs_history_answer(HistoryKind kind, const History *h, HistoryQuestion **questions, int nquestions,
							  bool by_id);

#endif							/* CS_HISTORY_H */
