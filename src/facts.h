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

#include "history.h"

#include "utils/date.h"
#include "utils/numeric.h"

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

/*
 * Requests return handles that are filled by cs_facts_load(); a request for a
 * key asked for before widens its span and returns the same handle.
 */
extern Facts *cs_facts_create(bool one_operator, Oid judged, HistoryCarry *carry);
extern OperatorFacts *cs_facts_operator(Facts *facts, const char *operator_id);
extern History *cs_facts_orders_to_address(Facts *facts, const char *operator_id, const char *ship_to,
										   TimestampTz from, TimestampTz to);
extern History *cs_facts_item_prices(Facts *facts, const char *operator_id, const char *item_id,
									 TimestampTz from, TimestampTz to);
extern History *cs_facts_refusals(Facts *facts, const char *operator_id, TimestampTz from, TimestampTz to,
								  const Interval *return_period);
extern History *cs_facts_complaints(Facts *facts, const char *operator_id, TimestampTz from, TimestampTz to);
extern PriceList *cs_facts_item_reference(Facts *facts, const char *item_id);
extern PriceList *cs_facts_category_reference(Facts *facts, const char *category);
extern void cs_facts_load(Facts *facts);
extern bool cs_operator_in_sandbox(const char *operator_id);
extern void cs_facts_init(void);

#endif							/* CS_FACTS_H */
