/*-------------------------------------------------------------------------
 *
 * facts.c
 *	  The facts a batch of rows is judged on: operators' master data, list
 *	  entries and sandbox membership; the stored rows in the windows the
 *	  rows look back on (orders, prices, refusals, complaints); reference
 *	  prices.
 *
 * The evaluator first asks for everything its rows need, then cs_facts_load()
 * fetches each kind of fact for the whole batch at once: one query (unnest
 * of the keys, a LATERAL index scan per key) or a cache, and the windows of
 * history through history.c, so a COPY of thousands of rows costs a few
 * queries, and a single-row INSERT the same few.  OFFSET 0 keeps each
 * LATERAL subquery from being flattened into a join that the planner may
 * run as a hash join over the whole table.  Windows are bounded by
 * the rows' own times, so the work per row does not grow with history.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "facts.h"
#include "placement.h"
#include "settings.h"
#include "spi_util.h"
#include "watched.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_in_sandbox);

/*
 * The keys asked for of one kind, in the order first asked, and their
 * handles.  A few keys are searched in turn; the index is built once there
 * are more (a single-row INSERT then makes no hash table).
 */
#define KEYSET_LINEAR_MAX 8

typedef struct KeySet
{
	const char *name;
	HTAB	   *index;			/* key string -> position, or NULL while few */
	int			n;
	int			capacity;
	const char **first;			/* operator_id, item_id or category */
	const char **second;		/* ship_to or item_id, or NULL */
	void	  **handles;
} KeySet;

typedef struct KeyEntry
{
	char	   *key;
	int			position;
} KeyEntry;

struct Facts
{
	bool		one_operator;	/* the row driver: queries keyed by one operator */
	Oid			judged;			/* the relation whose rows are judged, or invalid */
	HistoryCarry *carry;		/* long histories kept for the statement */
	KeySet		operators;
	KeySet		windows[NUM_HISTORY_KINDS];	/* (operator, key) or operator */
	KeySet		item_refs;
	KeySet		category_refs;
};

static void
keyset_init(KeySet *set, const char *name)
{
	set->name = name;
	set->index = NULL;
	set->n = 0;
	set->capacity = 16;
	set->first = palloc(sizeof(char *) * set->capacity);
	set->second = palloc(sizeof(char *) * set->capacity);
	set->handles = palloc(sizeof(void *) * set->capacity);
}

/* length-prefixed, so that no two pairs share a key string */
static char *
keyset_key(const char *first, const char *second)
{
	return second ? psprintf("%zu:%s%s", strlen(first), first, second) : pstrdup(first);
}

static int
keyset_find_linear(const KeySet *set, const char *first, const char *second)
{
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->first[i], first) == 0 &&
			(second == NULL || strcmp(set->second[i], second) == 0))
			return i;
	return -1;
}

static void
keyset_index_entry(KeySet *set, int position)
{
	char	   *key = keyset_key(set->first[position], set->second[position]);
	KeyEntry   *entry = hash_search(set->index, &key, HASH_ENTER, NULL);

	entry->position = position;
}

/* The handle of (first, second), made zeroed on first request. */
static void *
keyset_get(KeySet *set, const char *first, const char *second, Size handle_size, bool *found)
{
	int			position;

	if (set->index == NULL)
		position = keyset_find_linear(set, first, second);
	else
	{
		char	   *key = keyset_key(first, second);
		KeyEntry   *entry = hash_search(set->index, &key, HASH_FIND, NULL);

		position = entry ? entry->position : -1;
		pfree(key);
	}
	*found = position >= 0;
	if (*found)
		return set->handles[position];

	if (set->n == set->capacity)
	{
		set->capacity *= 2;
		set->first = repalloc(set->first, sizeof(char *) * set->capacity);
		set->second = repalloc(set->second, sizeof(char *) * set->capacity);
		set->handles = repalloc(set->handles, sizeof(void *) * set->capacity);
	}
	position = set->n++;
	set->first[position] = first;
	set->second[position] = second;
	set->handles[position] = palloc0(handle_size);
	if (set->index == NULL && set->n > KEYSET_LINEAR_MAX)
	{
		set->index = cs_string_hash_create(set->name, 64, sizeof(KeyEntry), CurrentMemoryContext);
		for (int i = 0; i < set->n; i++)
			keyset_index_entry(set, i);
	}
	else if (set->index != NULL)
		keyset_index_entry(set, position);
	return set->handles[position];
}

/*
 * With one_operator (the row driver) the windows are read for one key, and
 * the operators' master data is never read all at once.
 */
Facts *
cs_facts_create(bool one_operator, Oid judged, HistoryCarry *carry)
{
	Facts	   *facts = palloc(sizeof(Facts));

	facts->one_operator = one_operator;
	facts->judged = judged;
	facts->carry = carry;
	keyset_init(&facts->operators, "credit_sandbox operators");
	keyset_init(&facts->windows[HISTORY_ORDERS], "credit_sandbox orders to address");
	keyset_init(&facts->windows[HISTORY_PRICES], "credit_sandbox item prices");
	keyset_init(&facts->windows[HISTORY_REFUSALS], "credit_sandbox refusals");
	keyset_init(&facts->windows[HISTORY_COMPLAINTS], "credit_sandbox complaints");
	keyset_init(&facts->item_refs, "credit_sandbox item reference prices");
	keyset_init(&facts->category_refs, "credit_sandbox category reference prices");
	return facts;
}

OperatorFacts *
cs_facts_operator(Facts *facts, const char *operator_id)
{
	bool		found;

	return keyset_get(&facts->operators, operator_id, NULL, sizeof(OperatorFacts), &found);
}

static History *
history_request(KeySet *set, const char *operator_id, const char *key, TimestampTz from, TimestampTz to)
{
	bool		found;
	History    *h = keyset_get(set, operator_id, key, sizeof(History), &found);

	if (!found || from < h->from)
		h->from = from;
	if (!found || to > h->to)
		h->to = to;
	return h;
}

History *
cs_facts_orders_to_address(Facts *facts, const char *operator_id, const char *ship_to,
						   TimestampTz from, TimestampTz to)
{
	return history_request(&facts->windows[HISTORY_ORDERS], operator_id, ship_to, from, to);
}

History *
cs_facts_item_prices(Facts *facts, const char *operator_id, const char *item_id,
					 TimestampTz from, TimestampTz to)
{
	return history_request(&facts->windows[HISTORY_PRICES], operator_id, item_id, from, to);
}

/* The refusals that count: requested within return_period of their delivery. */
History *
cs_facts_refusals(Facts *facts, const char *operator_id, TimestampTz from, TimestampTz to,
				  const Interval *return_period)
{
	History    *h = history_request(&facts->windows[HISTORY_REFUSALS], operator_id, NULL, from, to);

	h->return_period = return_period;
	return h;
}

History *
cs_facts_complaints(Facts *facts, const char *operator_id, TimestampTz from, TimestampTz to)
{
	return history_request(&facts->windows[HISTORY_COMPLAINTS], operator_id, NULL, from, to);
}

PriceList *
cs_facts_item_reference(Facts *facts, const char *item_id)
{
	bool		found;

	return keyset_get(&facts->item_refs, item_id, NULL, sizeof(PriceList), &found);
}

PriceList *
cs_facts_category_reference(Facts *facts, const char *category)
{
	bool		found;

	return keyset_get(&facts->category_refs, category, NULL, sizeof(PriceList), &found);
}

/* ---------------------------------------------------------------- loading */

/* Elements of a one-dimensional array column, NULL elements flagged. */
static int
array_column(HeapTuple row, TupleDesc desc, int column, Oid elemtype, Datum **elems, bool **nulls)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, column, &isnull);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (isnull)
		return 0;
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(DatumGetArrayTypeP(d), elemtype, typlen, typbyval, typalign, elems, nulls, &n);
	return n;
}

/*
 * The query for the operators' facts: over keys, a FROM item giving
 * (op, i), with each operator named as key (one operator: $1 itself).
 */
static SPIPlanPtr
operators_plan(const char *keys, const char *key, Oid type)
{
	char	   *lists = cs_table("operator_lists");

	return cs_prepare(psprintf("SELECT k.i, o.operator_id IS NOT NULL, o.registered_on, o.licence_valid_until, o.permits,"
							   "       ARRAY(SELECT l.list FROM %s l WHERE l.operator_id = %s ORDER BY l.list_entry_id),"
							   "       ARRAY(SELECT l.listed_on FROM %s l WHERE l.operator_id = %s ORDER BY l.list_entry_id),"
							   "       ARRAY(SELECT l.removed_on FROM %s l WHERE l.operator_id = %s ORDER BY l.list_entry_id)"
							   "  FROM %s"
							   "  LEFT JOIN LATERAL (SELECT * FROM %s x WHERE x.operator_id = %s OFFSET 0) o ON true",
							   lists, key, lists, key, lists, key, keys, cs_table("operators"), key),
					  1, &type);
}

static void
load_operators(const char **ids, OperatorFacts **targets, int n)
{
	static char many_plan_site;
	SPIPlanPtr *many_plan = cs_plan_slot(&many_plan_site);
	static char one_plan_site;
	SPIPlanPtr *one_plan = cs_plan_slot(&one_plan_site);
	Datum		values[1];

	if (*many_plan == NULL)
	{
		*many_plan = operators_plan("unnest($1) WITH ORDINALITY AS k(op, i)", "k.op", TEXTARRAYOID);
		*one_plan = operators_plan("(SELECT 1::bigint AS i) k", "$1", TEXTOID);
	}
	values[0] = n == 1 ? CStringGetTextDatum(ids[0]) : cs_text_array(ids, n);
	cs_execute(n == 1 ? *one_plan : *many_plan, values, NULL);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		OperatorFacts *f = targets[DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)) - 1];
		Datum	   *elems;
		bool	   *elem_nulls;
		Datum	   *listed;
		Datum	   *removed;
		bool	   *removed_nulls;

		f->known = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
		f->registered_on = DatumGetDateADT(SPI_getbinval(row, desc, 3, &f->registered_on_null));
		f->licence_valid_until = DatumGetDateADT(SPI_getbinval(row, desc, 4, &f->licence_null));
		f->npermits = array_column(row, desc, 5, TEXTOID, &elems, &elem_nulls);
		f->permits = palloc(sizeof(char *) * Max(f->npermits, 1));
		for (int i = 0; i < f->npermits; i++)
			f->permits[i] = elem_nulls[i] ? NULL : TextDatumGetCString(elems[i]);
		f->nlists = array_column(row, desc, 6, TEXTOID, &elems, &elem_nulls);
		array_column(row, desc, 7, DATEOID, &listed, &elem_nulls);
		array_column(row, desc, 8, DATEOID, &removed, &removed_nulls);
		f->lists = palloc(sizeof(ListEntry) * Max(f->nlists, 1));
		for (int i = 0; i < f->nlists; i++)
		{
			f->lists[i].list = TextDatumGetCString(elems[i]);
			f->lists[i].listed_on = DatumGetDateADT(listed[i]);
			f->lists[i].removed_null = removed_nulls[i];
			f->lists[i].removed_on = removed_nulls[i] ? 0 : DatumGetDateADT(removed[i]);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---------------------------------------------------------------- operator cache */

/*
 * Operators' master data and list entries change far less often than rows
 * arrive, so each backend keeps those it has met; once it has met many
 * (in one batch, or one at a time as a connection of single-row inserts
 * does) it reads all of them at once, while there are at most
 * OPERATOR_CACHE_LIMIT (a connection that inserts a few rows does not pay
 * for reading them all).  The row driver never reads them all, nor does a
 * Citus shard, whose operators are a part.  The sandbox's current members
 * are kept apart, as a set read in one query: an exit, far more frequent
 * than an edit of an operator, then costs only that.  A statement trigger on each table sends a relcache invalidation;
 * the callback only marks the cache stale and the next batch reads it
 * again.  The batch re-reads invalidations after taking its operators'
 * locks, so a change committed by whoever held a lock is seen.
 */
#define OPERATOR_CACHE_LIMIT 100000
#define READ_ALL_FROM_OPERATORS 256

typedef struct CachedOperator
{
	char	   *key;
	OperatorFacts facts;
} CachedOperator;

static const char *const operator_tables[] = {"operators", "operator_lists"};
static WatchedTables operator_watch = {operator_tables, lengthof(operator_tables)};
static MemoryContext operator_cache_context = NULL;
static HTAB *operator_cache = NULL;
static bool operator_cache_complete = false;	/* holds every operator */
static bool operator_cache_read_all_tried = false;

static const char *const member_tables[] = {"sandbox_memberships"};
static WatchedTables member_watch = {member_tables, lengthof(member_tables)};
static MemoryContext member_context = NULL;
static HTAB *member_sets = NULL;	/* placed memberships table -> PlacedMembers */

static void
copy_operator_facts(OperatorFacts *dst, const OperatorFacts *src, MemoryContext context)
{
	MemoryContext old = MemoryContextSwitchTo(context);

	*dst = *src;
	dst->permits = palloc(sizeof(char *) * Max(src->npermits, 1));
	for (int i = 0; i < src->npermits; i++)
		dst->permits[i] = src->permits[i] ? pstrdup(src->permits[i]) : NULL;
	dst->lists = palloc(sizeof(ListEntry) * Max(src->nlists, 1));
	for (int i = 0; i < src->nlists; i++)
	{
		dst->lists[i] = src->lists[i];
		dst->lists[i].list = pstrdup(src->lists[i].list);
	}
	MemoryContextSwitchTo(old);
}

static void
cache_operators(const char **ids, OperatorFacts **facts, int n)
{
	for (int i = 0; i < n; i++)
	{
		char	   *key = MemoryContextStrdup(operator_cache_context, ids[i]);
		CachedOperator *cached = hash_search(operator_cache, &key, HASH_ENTER, NULL);

		copy_operator_facts(&cached->facts, facts[i], operator_cache_context);
	}
}

/* Reads every operator, registered or only listed, if there are not too many. */
static bool
read_all_operators(void)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	int			n;
	const char **ids;
	OperatorFacts **facts;

	if (*plan == NULL)
		*plan = cs_prepare(psprintf("SELECT operator_id FROM %s UNION SELECT operator_id FROM %s LIMIT %d",
								   cs_table("operators"), cs_table("operator_lists"), OPERATOR_CACHE_LIMIT + 1),
						  0, NULL);
	cs_execute(*plan, NULL, NULL);
	n = (int) SPI_processed;
	if (n > OPERATOR_CACHE_LIMIT)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	ids = palloc(sizeof(char *) * Max(n, 1));
	facts = palloc(sizeof(OperatorFacts *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ids[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		facts[i] = palloc0(sizeof(OperatorFacts));
	}
	SPI_freetuptable(SPI_tuptable);
	if (n > 0)
		load_operators(ids, facts, n);
	cache_operators(ids, facts, n);
	return true;
}

/*
 * Empties a cache of string keys whose memory is *context (made on first
 * use) and marks it fresh; returns its new table.
 */
static HTAB *
cache_restart(MemoryContext *context, const char *name, long size, Size entrysize, WatchedTables *watch)
{
	if (*context == NULL)
	{
		*context = AllocSetContextCreate(CacheMemoryContext, "credit_sandbox cache", ALLOCSET_DEFAULT_SIZES);
		MemoryContextSetIdentifier(*context, name);
	}
	MemoryContextReset(*context);
	cs_watch_refresh(watch);
	return cs_string_hash_create(name, size, entrysize, *context);
}

static void
operator_cache_prepare(void)
{
	if (operator_watch.valid &&
		(operator_cache_complete || hash_get_num_entries(operator_cache) < OPERATOR_CACHE_LIMIT))
		return;
	operator_cache = cache_restart(&operator_cache_context, "credit_sandbox operators", 1024,
								   sizeof(CachedOperator), &operator_watch);
	operator_cache_complete = false;
	operator_cache_read_all_tried = false;
}

/*
 * The sandbox's current members where the batch's rows are: the whole set
 * on one node, the shard group's on a Citus shard (its memberships are
 * those of its operators only), each read in one query the first time a
 * batch there asks, and kept, all of them, until sandbox_memberships
 * changes.
 */
typedef struct PlacedMembers
{
	char	   *table;			/* the memberships table of the placement */
	HTAB	   *members;		/* operator_id -> present */
} PlacedMembers;

static HTAB *
placed_members(void)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	char	   *table = cs_table("sandbox_memberships");
	PlacedMembers *placed;

	if (!member_watch.valid)
		member_sets = cache_restart(&member_context, "credit_sandbox members", 8, sizeof(PlacedMembers),
									&member_watch);
	placed = hash_search(member_sets, &table, HASH_FIND, NULL);
	if (placed != NULL)
		return placed->members;
	if (*plan == NULL)
		*plan = cs_prepare(psprintf("SELECT operator_id FROM %s WHERE exited_at IS NULL", table), 0, NULL);
	cs_execute(*plan, NULL, NULL);
	table = MemoryContextStrdup(member_context, table);
	placed = hash_search(member_sets, &table, HASH_ENTER, NULL);
	placed->members = cs_string_hash_create("credit_sandbox members", Max(SPI_processed, 64), sizeof(char *),
											member_context);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *key = MemoryContextStrdup(member_context,
											  SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1));

		(void) hash_search(placed->members, &key, HASH_ENTER, NULL);
	}
	SPI_freetuptable(SPI_tuptable);
	return placed->members;
}

/* Whether the operator is a sandbox member now, read on the latest snapshot. */
bool
cs_operator_in_sandbox(const char *operator_id)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[1];
	bool		member;

	if (*plan == NULL)
	{
		Oid			types[1] = {TEXTOID};

		*plan = cs_prepare(psprintf("SELECT FROM %s m WHERE m.operator_id = $1 AND m.exited_at IS NULL",
								   cs_table("sandbox_memberships")),
						  1, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	cs_execute(*plan, values, NULL);
	member = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return member;
}

/* On the snapshot of the caller's statement, as a STABLE function reads. */
static Datum
in_sandbox_placed(PG_FUNCTION_ARGS)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[1] = {PG_GETARG_DATUM(0)};
	bool		member;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (*plan == NULL)
	{
		Oid			types[1] = {TEXTOID};

		*plan = cs_prepare(psprintf("SELECT FROM %s m WHERE m.operator_id = $1 AND m.exited_at IS NULL",
								   cs_table("sandbox_memberships")),
						  1, types);
	}
	if (SPI_execute_plan(*plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not read the sandbox memberships");
	member = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(member);
}

/*
 * in_sandbox(operator_id).  In C, on the operator's placement: on a Citus
 * worker it reads the local shard, so that it also serves in a query Citus
 * pushes down to the shards (WHERE in_sandbox(operator_id)), where a
 * function reading the distributed table would be a distributed query
 * nested in a shard's.
 */
Datum
credit_sandbox_in_sandbox(PG_FUNCTION_ARGS)
{
	return cs_call_at_operator(in_sandbox_placed, fcinfo);
}

/* Fills the batch's operator facts from the caches, reading what they lack. */
static void
load_operator_facts(KeySet *set, bool one_operator)
{
	const char **missing = palloc(sizeof(char *) * set->n);
	OperatorFacts **targets = palloc(sizeof(OperatorFacts *) * set->n);
	int			nmissing = 0;
	bool		shard = cs_placement_is_shard();
	bool		complete;
	HTAB	   *members;

	AcceptInvalidationMessages();
	operator_cache_prepare();
	members = placed_members();
	/*
	 * A bulk load, or a busy connection, meets most operators: reading them
	 * all is cheaper.  Not on a Citus shard: its operators are a part.
	 */
	if (!shard && !operator_cache_complete && !operator_cache_read_all_tried && !one_operator &&
		set->n + hash_get_num_entries(operator_cache) >= READ_ALL_FROM_OPERATORS)
	{
		operator_cache_read_all_tried = true;
		operator_cache_complete = read_all_operators();
	}
	complete = operator_cache_complete && !shard;
	for (int i = 0; i < set->n; i++)
	{
		const char *id = set->first[i];
		CachedOperator *cached = hash_search(operator_cache, &id, HASH_FIND, NULL);
		OperatorFacts *f = set->handles[i];

		if (cached)
			copy_operator_facts(f, &cached->facts, CurrentMemoryContext);
		else if (!complete)
		{
			missing[nmissing] = id;
			targets[nmissing++] = f;
		}
		else
		{
			/* neither registered nor listed */
			f->registered_on_null = true;
			f->licence_null = true;
		}
		f->in_sandbox = hash_search(members, &id, HASH_FIND, NULL) != NULL;
	}
	if (nmissing > 0)
	{
		load_operators(missing, targets, nmissing);
		cache_operators(missing, targets, nmissing);
	}
}

/* Adds the (price, valid_from, valid_to) at column first.. of row to list. */
static void
append_price(PriceList *list, HeapTuple row, TupleDesc desc, int first)
{
	bool		isnull;
	PriceEntry *e;

	list->entries = list->n == 0 ? palloc(sizeof(PriceEntry))
		: repalloc(list->entries, sizeof(PriceEntry) * (list->n + 1));
	e = &list->entries[list->n++];
	e->price = DatumGetNumeric(datumCopy(SPI_getbinval(row, desc, first, &isnull), false, -1));
	e->valid_from = DatumGetDateADT(SPI_getbinval(row, desc, first + 1, &e->from_null));
	e->valid_to = DatumGetDateADT(SPI_getbinval(row, desc, first + 2, &e->to_null));
}

/*
 * Reference prices are kept per backend while the table is small enough
 * (usually: they exist for price-controlled goods), read per batch otherwise.
 */
#define REFERENCE_CACHE_LIMIT 200000

typedef struct CachedPrices
{
	char	   *key;
	PriceList	list;
} CachedPrices;

static const char *const reference_tables[] = {"reference_prices"};
static WatchedTables reference_watch = {reference_tables, lengthof(reference_tables)};
static MemoryContext reference_cache_context = NULL;
static HTAB *reference_items = NULL;
static HTAB *reference_categories = NULL;
static bool reference_cache_complete = false;

static void
reference_cache_prepare(void)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	MemoryContext old;

	if (reference_watch.valid)
		return;
	if (*plan == NULL)
		*plan = cs_prepare(psprintf("SELECT item_id, category, price, valid_from, valid_to FROM %s LIMIT %d",
								   cs_table("reference_prices"), REFERENCE_CACHE_LIMIT + 1),
						  0, NULL);
	if (reference_cache_context == NULL)
		reference_cache_context = AllocSetContextCreate(CacheMemoryContext, "credit_sandbox reference prices",
														ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(reference_cache_context);
	cs_watch_refresh(&reference_watch);
	cs_execute(*plan, NULL, NULL);
	reference_cache_complete = SPI_processed <= REFERENCE_CACHE_LIMIT;
	old = MemoryContextSwitchTo(reference_cache_context);
	reference_items = cs_string_hash_create("credit_sandbox item prices", 256, sizeof(CachedPrices),
											reference_cache_context);
	reference_categories = cs_string_hash_create("credit_sandbox category prices", 64, sizeof(CachedPrices),
												 reference_cache_context);
	for (uint64 r = 0; reference_cache_complete && r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *item = SPI_getvalue(row, desc, 1);
		char	   *key = item ? item : SPI_getvalue(row, desc, 2);
		bool		found;
		CachedPrices *cached = hash_search(item ? reference_items : reference_categories, &key,
										   HASH_ENTER, &found);

		if (!found)
			cached->list.n = 0;
		append_price(&cached->list, row, desc, 3);
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
}

static void
lookup_cached_prices(KeySet *set, HTAB *cache)
{
	for (int i = 0; i < set->n; i++)
	{
		const char *key = set->first[i];
		CachedPrices *cached = hash_search(cache, &key, HASH_FIND, NULL);

		if (cached)
			*(PriceList *) set->handles[i] = cached->list;
	}
}

static void
load_reference_prices(Facts *facts)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[2];

	if (*plan == NULL)
	{
		Oid			types[2] = {TEXTARRAYOID, TEXTARRAYOID};
		char	   *prices = cs_table("reference_prices");

		*plan = cs_prepare(psprintf("SELECT true, k.i, p.price, p.valid_from, p.valid_to"
								   "  FROM unnest($1) WITH ORDINALITY AS k(item, i)"
								   " CROSS JOIN LATERAL (SELECT * FROM %s x WHERE x.item_id = k.item OFFSET 0) p"
								   " UNION ALL "
								   "SELECT false, k.i, p.price, p.valid_from, p.valid_to"
								   "  FROM unnest($2) WITH ORDINALITY AS k(category, i)"
								   " CROSS JOIN LATERAL (SELECT * FROM %s x WHERE x.category = k.category OFFSET 0) p",
								   prices, prices),
						  2, types);
	}
	values[0] = cs_text_array(facts->item_refs.first, facts->item_refs.n);
	values[1] = cs_text_array(facts->category_refs.first, facts->category_refs.n);
	cs_execute(*plan, values, NULL);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		KeySet	   *set = DatumGetBool(SPI_getbinval(row, desc, 1, &isnull)) ? &facts->item_refs : &facts->category_refs;

		append_price(set->handles[DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull)) - 1], row, desc, 3);
	}
	SPI_freetuptable(SPI_tuptable);
}

void
cs_facts_load(Facts *facts)
{
	if (facts->operators.n > 0)
		load_operator_facts(&facts->operators, facts->one_operator);
	for (int kind = 0; kind < NUM_HISTORY_KINDS; kind++)
	{
		KeySet	   *set = &facts->windows[kind];

		if (set->n > 0)
			cs_history_load((HistoryKind) kind, facts->judged, set->n, set->first, set->second,
							(History **) set->handles, facts->carry);
	}
	if (facts->item_refs.n > 0 || facts->category_refs.n > 0)
	{
		reference_cache_prepare();
		if (reference_cache_complete)
		{
			lookup_cached_prices(&facts->item_refs, reference_items);
			lookup_cached_prices(&facts->category_refs, reference_categories);
		}
		else
			load_reference_prices(facts);
	}
}

void
cs_facts_init(void)
{
	cs_watch_tables(&operator_watch);
	cs_watch_tables(&member_watch);
	cs_watch_tables(&reference_watch);
}
