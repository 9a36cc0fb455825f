/*-------------------------------------------------------------------------
 *
 * outcome.h
 *	  From a hit to a warning: the ledger a statement keeps of the warnings
 *	  it touched, sandbox tolerance and exit, the NOTIFY at commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_OUTCOME_H
#define CS_OUTCOME_H

#include "postgres.h"

#include "catalog.h"

/* A red line hit by a row, as the evaluator (or the escalation) found it. */
typedef struct Hit
{
	const Rule *rule;
	const char *operator_id;
	const char *subject_key;
	bool		in_sandbox;
	const char *source_table;	/* the row that hit: table and id */
	int64		source_id;
	TimestampTz at;
	Datum		evidence;		/* jsonb */
	bool		escalation;		/* an overdue tip: always a warning clue */
} Hit;

typedef struct Ledger Ledger;

extern void cs_outcome_init(void);
extern Ledger *cs_ledger_create(bool one_operator);
extern void cs_ledger_batch_done(Ledger *ledger);
extern void cs_ledger_write(Ledger *ledger);
extern int64 cs_record_hit(Ledger *ledger, const Hit *hit, bool *is_clue);

#endif							/* CS_OUTCOME_H */
