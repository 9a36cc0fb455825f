/*-------------------------------------------------------------------------
 *
 * history.h
 *	  The windows the red lines look back on: the stored rows of a key in
 *	  a time span, loaded for a batch at once, and each row's answer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_HISTORY_H
#define CS_HISTORY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/numeric.h"

/* A stored row of one key's history: an order to an address, a sale of an item. */
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
	/* the span asked for: (from, to] for orders, [from, to) for prices */
	TimestampTz from;
	TimestampTz to;
} History;

/* The keys with a long history a statement keeps between its batches. */
typedef struct HistoryCarry HistoryCarry;

typedef enum HistoryKind
{
	HISTORY_ORDERS,				/* orders to an address, in (from, to] */
	HISTORY_PRICES,				/* earlier prices of an item, in [from, to) */
} HistoryKind;

extern void cs_history_init(void);
extern HistoryCarry *cs_history_carry_create(void);
extern void cs_history_load(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys,
							History **handles, HistoryCarry *carry);

/* A row's window on a key's history, and the answer cs_history_answer() gives. */
typedef struct HistoryQuestion
{
	int64		id;				/* the row asking */
	TimestampTz from;			/* orders: (from, to]; prices: [from, to) */
	TimestampTz to;
	int64		count;			/* orders in the window stored before the row, itself included */
	Numeric		lowest;			/* the lowest earlier price, or NULL */
} HistoryQuestion;

extern void cs_history_answer(HistoryKind kind, const History *h, HistoryQuestion **questions, int nquestions,
							  bool by_id);

#endif							/* CS_HISTORY_H */
