/*-------------------------------------------------------------------------
 *
 * placement.c
 *	  Where the extension's tables are for the rows a trigger judges or
 *	  changes.
 *
 * On one node that is the tables themselves.  On Citus (after
 * credit_sandbox.distribute()) the triggers fire on shards: a row of
 * operator X lands in a shard of transactions on some worker, and every
 * table distributed by operator_id has the shard holding X's rows on that
 * same worker (they are co-located), while every reference table has a
 * shard on every node.  A check reads and writes those local shards
 * directly, by name: no distributed query in the hot path, no connection
 * to another node, nothing a coordinator's transaction holds elsewhere to
 * wait for.  The shards co-located with a shard are its placement; the
 * queries and kept plans of a check are those of the placement current
 * while it runs, which the trigger entry points enter and leave.
 *
 * The extension's functions of one operator (grading, admission, its lock)
 * run the same way, called through the coordinator: in the placement of
 * the operator's shards, on the worker that holds them
 * (cs_call_at_operator).
 *
 * A relation is a shard if Citus's metadata (pg_dist_shard) names it, by
 * the shard id that ends its name, and if its table is one of the
 * extension's.  The answer is kept per relation: a shard moved away is
 * dropped here and its placement is never asked for again, and one moved
 * here is a new relation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "placement.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace_d.h"
#include "catalog/pg_proc_d.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/varlena.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(credit_sandbox_placed_table);
PG_FUNCTION_INFO_V1(credit_sandbox_logical_table);

/* a shard group's shards on this node, or the tables themselves */
typedef struct Placement
{
	bool		shard;			/* false: the tables themselves */
	uint32		lock_space;		/* the shard group's own operator lock buckets */
	int64		id_offset;		/* added to the node's sequences: its group id << 48 */
	HTAB	   *names;			/* table name -> qualified shard name */
	HTAB	   *plans;			/* call site -> kept plan */
} Placement;

typedef struct PlacedName
{
	char		relname[NAMEDATALEN];	/* key */
	char	   *shard;
} PlacedName;

typedef struct KeptPlan
{
	const void *site;			/* key */
	SPIPlanPtr	plan;
} KeptPlan;

typedef struct PlacementOfRelation
{
	Oid			relid;			/* key */
	char		relname[NAMEDATALEN];	/* to tell a reused OID */
	Oid			logical_relid;	/* the table the relation is, or is a shard of */
	Placement  *placement;
} PlacementOfRelation;

static MemoryContext placement_context = NULL;
static HTAB *placements = NULL;
static Placement whole_tables = {false};
static Placement *current = &whole_tables;

static HTAB *
plan_table(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(const void *);
	ctl.entrysize = sizeof(KeptPlan);
	ctl.hcxt = placement_context;
	return hash_create("credit_sandbox kept plans", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static HTAB *
name_table(void)
{
	HASHCTL		ctl;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(PlacedName);
	ctl.hcxt = placement_context;
	return hash_create("credit_sandbox shard names", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
placement_context_init(void)
{
	HASHCTL		ctl;

	if (placement_context != NULL)
		return;
	placement_context = AllocSetContextCreate(TopMemoryContext, "credit_sandbox placements",
											  ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(PlacementOfRelation);
	ctl.hcxt = placement_context;
	placements = hash_create("credit_sandbox placements", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	whole_tables.plans = plan_table();
}

/* The shard id that ends a shard's name (table_102008), or 0. */
static int64
shard_id_of_name(const char *relname)
{
	const char *digits = strrchr(relname, '_');
	int64		id = 0;

	if (digits == NULL || digits[1] == '\0')
		return 0;
	for (digits++; *digits; digits++)
	{
		if (*digits < '0' || *digits > '9' || id > (PG_INT64_MAX - 9) / 10)
			return 0;
		id = id * 10 + (*digits - '0');
	}
	return id;
}

/* Records that relid, a relation named relname, is (a shard of) logical_relid in placement. */
static void
enter_relation(Oid relid, const char *relname, Oid logical_relid, Placement *placement)
{
	PlacementOfRelation *entry = hash_search(placements, &relid, HASH_ENTER, NULL);

	strlcpy(entry->relname, relname, NAMEDATALEN);
	entry->logical_relid = logical_relid;
	entry->placement = placement;
}

/*
 * The shards co-located with shard_id (the same hash range of every table
 * in its co-location group) and the reference tables' shards, all of the
 * extension's schema; NULL if the relation is no shard of the extension.
 * Every co-located shard on this node gets the same placement, so the
 * triggers of a shard group's tables share its kept plans.  The schema is
 * tested here, not by a join with pg_class: Citus filters each row of
 * pg_class a query reads on a worker, to hide the shards from
 * applications.
 */
static Placement *
resolve_shard(Relation rel, int64 shard_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			nsp = get_namespace_oid(CS_SCHEMA, false);
	Datum		values[2] = {Int64GetDatum(shard_id), ObjectIdGetDatum(RelationGetRelid(rel))};
	Placement  *placement = NULL;
	bool		own = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (plan == NULL)
	{
		Oid			types[2] = {INT8OID, OIDOID};

		plan = SPI_prepare("WITH anchor AS ("
						   "  SELECT s.shardminvalue, p.colocationid"
						   "    FROM pg_catalog.pg_dist_shard s"
						   "    JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = s.logicalrelid"
						   "   WHERE s.shardid = $1"
						   "     AND pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) = $2)"
						   " SELECT p.logicalrelid, pg_catalog.shard_name(p.logicalrelid, s.shardid),"
						   "        pg_catalog.to_regclass(pg_catalog.shard_name(p.logicalrelid, s.shardid))::oid,"
						   "        p.repmodel = 't', a.shardminvalue,"
						   "        (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)::int8"
						   "   FROM anchor a, pg_catalog.pg_dist_partition p"
						   "   JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid = p.logicalrelid"
						   "  WHERE p.repmodel = 't' OR (p.colocationid = a.colocationid"
						   "        AND s.shardminvalue IS NOT DISTINCT FROM a.shardminvalue)",
						   2, types);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "credit_sandbox: could not prepare the query of placements");
	}
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not read the placement of shard " INT64_FORMAT, shard_id);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			logical_relid = DatumGetObjectId(SPI_getbinval(row, desc, 1, &isnull));
		bool		here;
		Oid			shard_relid = DatumGetObjectId(SPI_getbinval(row, desc, 3, &here));
		bool		reference = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
		char	   *logical_name;
		MemoryContext old;
		PlacedName *name;

		if (get_rel_namespace(logical_relid) != nsp)
			continue;
		here = !here;
		logical_name = get_rel_name(logical_relid);
		old = MemoryContextSwitchTo(placement_context);
		if (placement == NULL)
		{
			char	   *range = SPI_getvalue(row, desc, 5);

			placement = palloc0(sizeof(Placement));
			placement->shard = true;
			placement->lock_space = range ? hash_bytes((const unsigned char *) range, strlen(range)) : 0;
			placement->id_offset = DatumGetInt64(SPI_getbinval(row, desc, 6, &isnull)) << CS_NODE_ID_SHIFT;
			placement->names = name_table();
			placement->plans = plan_table();
		}
		name = hash_search(placement->names, logical_name, HASH_ENTER, NULL);
		name->shard = SPI_getvalue(row, desc, 2);
		MemoryContextSwitchTo(old);
		if (here && (!reference || shard_relid == RelationGetRelid(rel)))
		{
			enter_relation(shard_relid, get_rel_name(shard_relid), logical_relid, placement);
			own |= shard_relid == RelationGetRelid(rel);
		}
	}
	SPI_finish();
	return own ? placement : NULL;
}

/* Whether Citus's metadata is in this database. */
bool
cs_citus_node(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/* What rel, a relation a trigger fired on, is, and the placement of its rows. */
static PlacementOfRelation *
relation_placement(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	PlacementOfRelation *entry;

	placement_context_init();
	entry = hash_search(placements, &relid, HASH_FIND, NULL);
	if (entry != NULL && strcmp(entry->relname, RelationGetRelationName(rel)) == 0)
		return entry;
	if (cs_citus_node())
	{
		int64		shard_id = shard_id_of_name(RelationGetRelationName(rel));

		if (shard_id > 0 && resolve_shard(rel, shard_id) != NULL)
			return hash_search(placements, &relid, HASH_FIND, NULL);
	}
	enter_relation(relid, RelationGetRelationName(rel), relid, &whole_tables);
	return hash_search(placements, &relid, HASH_FIND, NULL);
}

static Placement *
placement_of(Relation rel)
{
	return relation_placement(rel)->placement;
}

/*
 * Runs body, a trigger function's work, with the placement of rel (the
 * trigger's relation) current.
 */
Datum
cs_call_placed(Relation rel, PGFunction body, FunctionCallInfo fcinfo)
{
	Placement  *placement = placement_of(rel);
	Placement  *previous = current;
	Datum		result;

	current = placement;
	PG_TRY();
	{
		result = body(fcinfo);
	}
	PG_FINALLY();
	{
		current = previous;
	}
	PG_END_TRY();
	return result;
}

/*
 * The shard of transactions that holds operator_id's rows, if it is on this
 * node; InvalidOid on one node and before distribute() (*distributed false),
 * where the rows are on another node (*distributed true: a coordinator), or
 * for a NULL operator_id (only *distributed told).
 */
static Oid
operator_shard(const char *operator_id, bool *distributed)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {operator_id ? CStringGetTextDatum(operator_id) : (Datum) 0};
	Oid			shard = InvalidOid;
	bool		isnull;

	*distributed = false;
	if (!cs_citus_node())
		return InvalidOid;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (SPI_execute_with_args("SELECT CASE WHEN $1 IS NOT NULL THEN"
							  "  pg_catalog.to_regclass(pg_catalog.shard_name(p.logicalrelid,"
							  "    pg_catalog.get_shard_id_for_distribution_column(p.logicalrelid, $1)))::oid END"
							  "  FROM pg_catalog.pg_dist_partition p"
							  " WHERE p.logicalrelid = '" CS_SCHEMA ".transactions'::pg_catalog.regclass",
							  1, types, values, operator_id ? NULL : "n", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not read where operator \"%s\" is", operator_id ? operator_id : "");
	if (SPI_processed > 0)
	{
		*distributed = true;
		shard = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			shard = InvalidOid;
	}
	SPI_finish();
	return shard;
}

/* Whether the extension's tables are distributed (credit_sandbox.distribute() ran). */
bool
cs_tables_distributed(void)
{
	bool		distributed;

	(void) operator_shard(NULL, &distributed);
	return distributed;
}

/*
 * Runs body, the C function of fcinfo (a function of the extension whose
 * first argument is an operator id), where that operator's rows are: here,
 * in their placement (one node: the tables; a Citus worker: the shards of
 * the operator's shard group and its lock space, as for the operator's
 * checks), or, on a node without them (a Citus coordinator), on the worker
 * that has them, in this transaction: the same function, called there by a
 * query Citus routes to the operator's shard of operators (the count gives
 * one row whether or not the operator is registered).  So what a function
 * reads and writes for an operator, under its lock, is on the node where
 * the operator's checks take that same lock: a grade written from the
 * coordinator cannot pass a check half-way through on a worker.
 *
 * A function that writes or locks must run in a transaction block on the
 * worker, ending with the caller's: in an autocommit statement Citus runs
 * a read-only query outside a block, which would commit each call as it
 * returns and let go of the operator's lock (admit's grade and its new stay
 * would be two transactions).  Citus opens the block for a query with row
 * locks run from a function while citus.function_opens_transaction_block
 * is on (its default), so the query locks the operator's row FOR KEY SHARE
 * (which also keeps the row from being deleted meanwhile).  With that
 * setting off only BEGIN ... COMMIT would open it: refused then.  A read
 * (in_sandbox, STABLE) locks nothing, and so serves in a read-only
 * transaction.
 */
Datum
cs_call_at_operator(PGFunction body, FunctionCallInfo fcinfo)
{
	char	   *operator_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		distributed;
	Oid			shard = operator_shard(operator_id, &distributed);
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	Oid		   *types;
	int			nargs;
	Oid			result_type = get_func_signature(fn_oid, &types, &nargs);
	StringInfoData query;
	Datum	   *values;
	Datum		result = (Datum) 0;
	bool		isnull = true;
	bool		lock = func_volatile(fn_oid) == PROVOLATILE_VOLATILE;
	const char *opens_block;
	bool		on;

	if (!distributed)
		return body(fcinfo);
	if (OidIsValid(shard))
	{
		Relation	rel = relation_open(shard, AccessShareLock);

		result = cs_call_placed(rel, body, fcinfo);
		relation_close(rel, NoLock);
		return result;
	}

	opens_block = GetConfigOption("citus.function_opens_transaction_block", true, false);
	if (lock && !IsTransactionBlock() && opens_block != NULL && parse_bool(opens_block, &on) && !on)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s through a Citus coordinator needs citus.function_opens_transaction_block on",
						get_func_name(fn_oid)),
				 errdetail("Without it its work on the operator's worker would commit before this statement ends."),
				 errhint("Set citus.function_opens_transaction_block to on, or call it inside BEGIN ... COMMIT.")));

	initStringInfo(&query);
	appendStringInfo(&query, "SELECT %s(", quote_qualified_identifier(CS_SCHEMA, get_func_name(fn_oid)));
	values = palloc(sizeof(Datum) * nargs);
	for (int i = 0; i < nargs; i++)
	{
		appendStringInfo(&query, "%s$%d", i ? ", " : "", i + 1);
		values[i] = fcinfo->args[i].value;
	}
	appendStringInfo(&query, ") FROM (SELECT pg_catalog.count(*) FROM (SELECT FROM %s o"
					 " WHERE o.operator_id = $1%s) locked) routed",
					 quote_qualified_identifier(CS_SCHEMA, "operators"), lock ? " FOR KEY SHARE" : "");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (SPI_execute_with_args(query.data, nargs, types, values, NULL, false, 0) != SPI_OK_SELECT
		|| SPI_processed != 1)
		elog(ERROR, "credit_sandbox: could not run %s on the node of operator \"%s\"",
			 get_func_name(fn_oid), operator_id);
	if (result_type != VOIDOID)
	{
		int16		typlen;
		bool		typbyval;

		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		get_typlenbyval(result_type, &typlen, &typbyval);
		if (!isnull)
			result = SPI_datumTransfer(result, typbyval, typlen);
	}
	SPI_finish();
	fcinfo->isnull = isnull && result_type != VOIDOID;
	return result;
}

bool
cs_placement_is_shard(void)
{
	return current->shard;
}

/* Qualified, quoted name of an extension table in the current placement. */
char *
cs_placed_table(const char *relname)
{
	if (current->shard)
	{
		PlacedName *name = hash_search(current->names, relname, HASH_FIND, NULL);

		if (name != NULL)
			return pstrdup(name->shard);
	}
	return quote_qualified_identifier(CS_SCHEMA, relname);
}

/*
 * The next value of one of the extension's sequences, as an SQL
 * expression.  On a Citus node, where the extension's sequences are the
 * node's own (each node ran CREATE EXTENSION) and count from 1 like every
 * other node's, the node's group id above 48 bits keeps the ids unique
 * across the cluster, as Citus does for the sequences it makes itself.
 */
char *
cs_placed_nextval(const char *sequence)
{
	char	   *next = psprintf("pg_catalog.nextval(%s)",
								quote_literal_cstr(quote_qualified_identifier(CS_SCHEMA, sequence)));

	if (current->shard && current->id_offset != 0)
		return psprintf("(%s + " INT64_FORMAT ")", next, current->id_offset);
	return next;
}

/* The shard group's own lock space (0 for the tables themselves). */
uint32
cs_placement_lock_space(void)
{
	return current->shard ? current->lock_space : 0;
}

/*
 * The current placement's kept plan of a call site (any address unique to
 * it), NULL until the caller stores one there.
 */
SPIPlanPtr *
cs_plan_slot(const void *site)
{
	KeptPlan   *kept;
	bool		found;

	placement_context_init();
	kept = hash_search(current->plans, &site, HASH_ENTER, &found);
	if (!found)
		kept->plan = NULL;
	return &kept->plan;
}

/* The table rel is, or is a shard of. */
Oid
cs_logical_relid(Relation rel)
{
	return relation_placement(rel)->logical_relid;
}

/*
 * credit_sandbox.placed_table(relation, tab): the table tab of the
 * extension where the rows written through relation (a trigger's TG_RELID)
 * live: on a Citus node the shard of tab co-located with relation, or
 * tab's shard on this node for a reference table; else tab itself.  What
 * the extension's PL/pgSQL triggers write to.
 */
Datum
credit_sandbox_placed_table(PG_FUNCTION_ARGS)
{
	Relation	rel = relation_open(PG_GETARG_OID(0), AccessShareLock);
	Placement  *previous = current;
	char	   *name;

	current = placement_of(rel);
	name = cs_placed_table(NameStr(*PG_GETARG_NAME(1)));
	current = previous;
	relation_close(rel, AccessShareLock);
	PG_RETURN_OID(RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(cstring_to_text(name))), NoLock, false));
}

/* credit_sandbox.logical_table(relation): the table relation is, or is a shard of. */
Datum
credit_sandbox_logical_table(PG_FUNCTION_ARGS)
{
	Relation	rel = relation_open(PG_GETARG_OID(0), AccessShareLock);
	Oid			logical = cs_logical_relid(rel);

	relation_close(rel, AccessShareLock);
	PG_RETURN_OID(logical);
}
