/*-------------------------------------------------------------------------
 *
 * facts.h
 *	  What the evaluator needs to know about a batch of rows, fetched with a
 *	  few set-based queries per batch instead of several queries per row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_FACTS_H
#define CS_FACTS_H

#include "credit_sandbox.h"

typedef struct ListEntry
{
	const char *list;
	DateADT		listed_on;
	bool		removed_null;
	DateADT		removed_on;
} ListEntry;

typedef struct OperatorFacts
{
	bool		known;			/* a row in operators */
	bool		registered_on_null;
	DateADT		registered_on;
	bool		licence_null;
	DateADT		licence_valid_until;
	int			npermits;
	char	  **permits;
	bool		in_sandbox;		/* kept current while the batch leaves it */
	int			nlists;
	ListEntry  *lists;
} OperatorFacts;

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

typedef struct PriceEntry
{
	Numeric		price;
	bool		from_null;
	DateADT		valid_from;
	bool		to_null;
	DateADT		valid_to;
} PriceEntry;

typedef struct PriceList
{
	int			n;
	PriceEntry *entries;
} PriceList;

typedef struct Facts Facts;

/* The keys with a long history a statement keeps between its batches (history.c). */
typedef struct HistoryCarry HistoryCarry;

/*
 * Requests return handles that are filled by facts_load(); a request for a
 * key asked for before widens its span and returns the same handle.
 */
extern Facts *facts_create(bool one_operator, Oid judged, HistoryCarry *carry);
extern OperatorFacts *facts_operator(Facts *facts, const char *operator_id);
extern History *facts_orders_to_address(Facts *facts, const char *operator_id, const char *ship_to,
										TimestampTz from, TimestampTz to);
extern History *facts_item_prices(Facts *facts, const char *operator_id, const char *item_id,
								  TimestampTz from, TimestampTz to);
extern PriceList *facts_item_reference(Facts *facts, const char *item_id);
extern PriceList *facts_category_reference(Facts *facts, const char *category);
extern void facts_load(Facts *facts);
extern void facts_register_callbacks(void);

/* history.c */
typedef enum HistoryKind
{
	HISTORY_ORDERS,				/* orders to an address, in (from, to] */
	HISTORY_PRICES,				/* earlier prices of an item, in [from, to) */
} HistoryKind;

extern HistoryCarry *history_carry_create(void);
extern void history_load(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys,
						 History **handles, HistoryCarry *carry);

/* A row's window on a key's history, and the answer history_answer() gives. */
typedef struct HistoryQuestion
{
	int64		id;				/* the row asking */
	TimestampTz from;			/* orders: (from, to]; prices: [from, to) */
	TimestampTz to;
	int64		count;			/* orders in the window stored before the row, itself included */
	Numeric		lowest;			/* the lowest earlier price, or NULL */
} HistoryQuestion;

extern void history_answer(HistoryKind kind, const History *h, HistoryQuestion **questions, int nquestions,
						   bool by_id);
extern void history_register_callbacks(void);

#endif							/* CS_FACTS_H */
