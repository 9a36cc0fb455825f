/*-------------------------------------------------------------------------
 *
 * placement.h
 *	  Where the extension's tables are for the rows a trigger judges or
 *	  changes: the tables themselves, or, on a Citus node, the shards
 *	  co-located with the shard the trigger fired on.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_PLACEMENT_H
#define CS_PLACEMENT_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/relcache.h"

#define CS_SCHEMA "credit_sandbox"

/* a Citus node's ids: its group id above this bit */
#define CS_NODE_ID_SHIFT 48

extern Datum cs_call_placed(Relation rel, PGFunction body, FunctionCallInfo fcinfo);

extern Datum cs_call_at_operator(PGFunction body, FunctionCallInfo fcinfo);

extern bool cs_citus_node(void);
extern bool cs_tables_distributed(void);
extern bool cs_placement_is_shard(void);
extern char *cs_placed_table(const char *relname);
extern char *cs_placed_nextval(const char *sequence);
extern uint32 cs_placement_lock_space(void);
extern SPIPlanPtr *cs_plan_slot(const void *site);

extern Oid	cs_logical_relid(Relation rel);

#endif							/* CS_PLACEMENT_H */
