/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Every window a red line looks back on, loaded the same way: the stored
 *	  rows of (operator, key) pairs in a time span, for a whole batch at
 *	  once.  Orders to an address (RL04) and earlier prices of an item
 *	  (RL05) are transactions; the qualifying refusals of an operator
 *	  (RL07) are returns; the complaints about an operator (RL08) and their
 *	  baseline are complaints.
 *
 * These windows are most of a check's work, one per row.  When the rows
 * judged are in credit_sandbox.transactions itself, or on a Citus worker in
 * a shard of it, and that is a plain table, the windows on it (RL04, RL05)
 * are read straight from its (operator_id, key, occurred_at) btree index,
 * one rescan per key: no executor start-up, no parameter arrays, no result
 * tuples to form and take apart.  The other windows, a partitioned table or
 * a missing index take the SPI queries, which return the same rows.  Both
 * read on the latest snapshot after a command counter increment, as SPI
 * does.  Either may return more than a row's own window (a key's span
 * covers every row of the batch that asks for it): cs_history_answer()
 * bounds each row's window, and counts only the rows stored before it, for
 * all the batch's rows of a key in one sweep, so a statement of a million
 * orders to one address costs n log n, not n squared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "history.h"
#include "settings.h"
#include "spi_util.h"
#include "watched.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* What a stored row carries besides its time and id. */
typedef enum HistoryValue
{
	VALUE_NONE,
	VALUE_PRICE,				/* unit_price: the lowest is asked for */
	VALUE_DELIVERED,			/* delivered_at: a refusal counts if within the return period */
} HistoryValue;

typedef struct HistorySpec
{
	const char *table;
	const char *id_column;
	const char *time_column;
	const char *key_column;		/* ship_to, item_id, or NULL: the operator's own rows */
	HistoryValue value;
	const char *condition;		/* the rows of the table that count, or NULL */
	bool		from_inclusive; /* prices [from, to); else (from, to] */
	bool		baseline;		/* complaints: counted in the baseline too */
	char		plan_sites[2];	/* keys of its kept plans: PLAN_MANY, PLAN_ONE */
} HistorySpec;

/* a batch: unnest of the keys, LATERAL scan each; one key: a plain index scan */
#define PLAN_MANY 0
#define PLAN_ONE 1

/* a %s in a condition is the table of return-exempt categories */
static HistorySpec specs[NUM_HISTORY_KINDS] = {
	[HISTORY_ORDERS] = {"transactions", "txn_id", "occurred_at", "ship_to", VALUE_NONE},
	[HISTORY_PRICES] = {"transactions", "txn_id", "occurred_at", "item_id", VALUE_PRICE, NULL, true},
	[HISTORY_REFUSALS] = {"returns", "return_id", "requested_at", NULL, VALUE_DELIVERED,
		"x.outcome = 'refused' AND x.delivered_at IS NOT NULL"
	" AND NOT EXISTS (SELECT FROM %s e WHERE e.category = x.category)"},
	[HISTORY_COMPLAINTS] = {"complaints", "complaint_id", "received_at", NULL, VALUE_NONE, NULL, false, true},
};

static const char *const value_columns[] = {
	[VALUE_NONE] = "NULL::numeric",
	[VALUE_PRICE] = "x.unit_price",
	[VALUE_DELIVERED] = "x.delivered_at",
};

/*
 * What the direct path needs of a relation whose rows are judged: the
 * index of each window on it, and where the id and the price are (a Citus
 * shard, made after a column was dropped, numbers its columns apart).  Kept
 * per relation until transactions changes.
 */
typedef struct DirectPath
{
	Oid			relid;			/* hash key */
	Oid			index[NUM_HISTORY_KINDS];	/* (operator_id, key, occurred_at) btree, or invalid */
	AttrNumber	id_attnum;
	AttrNumber	price_attnum;
} DirectPath;

static const char *const history_tables[] = {"transactions"};
static WatchedTables table_watch = {history_tables, lengthof(history_tables)};
static HTAB *direct_paths = NULL;

/* ---------------------------------------------------------------- SPI */

/*
 * The rows of a window: $1 the operators, $2 the keys (unused by a window
 * on the operator's own rows), ($3, $4] the span ([$3, $4) for prices), $5
 * the current transaction's id.  Rows: the key's position, time, id,
 * whether this transaction stored it, and the value.
 */
static void
prepare_plans(HistorySpec *spec, SPIPlanPtr *many_plan, SPIPlanPtr *one_plan)
{
	Oid			many_types[5] = {TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, XIDOID};
	Oid			one_types[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, XIDOID};
	char	   *table = cs_table(spec->table);
	const char *time = spec->time_column;
	const char *lower = spec->from_inclusive ? ">=" : ">";
	const char *upper = spec->from_inclusive ? "<" : "<=";
	char	   *many_key = spec->key_column ? psprintf(" AND x.%s = k.key", spec->key_column) : "";
	char	   *one_key = spec->key_column ? psprintf(" AND x.%s = $2", spec->key_column) : "";
	char	   *condition = spec->condition
		? psprintf(" AND %s", psprintf(spec->condition, cs_table("return_exempt_categories"))) : "";

	*many_plan = cs_prepare(psprintf("SELECT k.i, t.at, t.id, t.xmin = $5, t.value"
										  "  FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS k(op, key, lo, hi, i)"
										  " CROSS JOIN LATERAL ("
										  "   SELECT x.%s AS at, x.%s AS id, x.xmin, %s AS value FROM %s x"
										  "    WHERE x.operator_id = k.op%s%s"
										  "      AND x.%s %s k.lo AND x.%s %s k.hi OFFSET 0) t",
										  time, spec->id_column, value_columns[spec->value], table,
										  many_key, condition, time, lower, time, upper),
								 5, many_types);
	*one_plan = cs_prepare(psprintf("SELECT 1::bigint, x.%s, x.%s, x.xmin = $5, %s FROM %s x"
										 " WHERE x.operator_id = $1%s%s"
										 "   AND x.%s %s $3 AND x.%s %s $4",
										 time, spec->id_column, value_columns[spec->value], table,
										 one_key, condition, time, lower, time, upper),
								5, one_types);
}

static Datum
span_array(History **handles, int n, bool upper)
{
	TimestampTz *bounds = palloc(sizeof(TimestampTz) * Max(n, 1));

	for (int i = 0; i < n; i++)
		bounds[i] = upper ? handles[i]->to : handles[i]->from;
	return cs_timestamptz_array(bounds, n);
}

static void
load_by_query(HistorySpec *spec, SPIPlanPtr plan, int n, const char **operators, const char **keys, History **handles)
{
	Datum		values[5];

	if (n == 1)
	{
		values[0] = CStringGetTextDatum(operators[0]);
		values[1] = CStringGetTextDatum(keys[0]);
		values[2] = TimestampTzGetDatum(handles[0]->from);
		values[3] = TimestampTzGetDatum(handles[0]->to);
	}
	else
	{
		values[0] = cs_text_array(operators, n);
		values[1] = cs_text_array(keys, n);
		values[2] = span_array(handles, n, false);
		values[3] = span_array(handles, n, true);
	}
	values[4] = TransactionIdGetDatum(GetCurrentTransactionIdIfAny());
	cs_execute(plan, values, NULL);

	/* count per key, then fill: a refusal counts if requested within the return period */
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;

		handles[DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)) - 1]->n++;
	}
	for (int i = 0; i < n; i++)
	{
		handles[i]->rows = palloc(sizeof(HistoryRow) * Max(handles[i]->n, 1));
		handles[i]->n = 0;
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		History    *h = handles[DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)) - 1];
		HistoryRow *hr = &h->rows[h->n];
		Datum		value = SPI_getbinval(row, desc, 5, &isnull);

		hr->at = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &isnull));
		hr->id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		hr->this_xact = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
		hr->price = NULL;
		if (spec->value == VALUE_PRICE && !isnull)
			hr->price = DatumGetNumeric(datumCopy(value, false, -1));
		if (spec->value == VALUE_DELIVERED &&
			hr->at > cs_add_interval(DatumGetTimestampTz(value), h->return_period))
			continue;
		h->n++;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---------------------------------------------------------------- index */

/*
 * Whether index orders and compares columns as the SPI queries' operators
 * do: a valid, non-partial btree on plain columns (operator_id, key,
 * occurred_at, ...), default operator classes, the columns' collations.
 */
static bool
index_serves(Relation table, Relation index, const AttrNumber *columns)
{
	Form_pg_index form = index->rd_index;

	if (index->rd_rel->relam != BTREE_AM_OID || !form->indisvalid || !form->indisready ||
		form->indnkeyatts < 3 ||
		!heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		return false;
	for (int i = 0; i < 3; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(table), columns[i] - 1);
		Oid			opclass = GetDefaultOpClass(att->atttypid, BTREE_AM_OID);

		if (form->indkey.values[i] != columns[i] ||
			!OidIsValid(opclass) || index->rd_opfamily[i] != get_opclass_family(opclass) ||
			index->rd_indcollation[i] != att->attcollation ||
			(index->rd_indoption[i] & INDOPTION_DESC))
			return false;
	}
	return true;
}

static Oid
find_index(Relation table, const char *key_column)
{
	AttrNumber	columns[3];
	List	   *indexes = RelationGetIndexList(table);
	ListCell   *lc;
	Oid			found = InvalidOid;

	columns[0] = get_attnum(RelationGetRelid(table), "operator_id");
	columns[1] = get_attnum(RelationGetRelid(table), key_column);
	columns[2] = get_attnum(RelationGetRelid(table), "occurred_at");
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		serves = index_serves(table, index, columns);

		index_close(index, AccessShareLock);
		if (serves)
		{
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

/*
 * Whether the indexes kept for table are still among its own: one dropped
 * on a Citus shard alone leaves transactions unchanged.
 */
static bool
indexes_kept(Relation table, const DirectPath *direct)
{
	List	   *indexes = RelationGetIndexList(table);
	bool		kept = true;

	for (int k = 0; k < NUM_HISTORY_KINDS; k++)
		if (OidIsValid(direct->index[k]) && !list_member_oid(indexes, direct->index[k]))
			kept = false;
	list_free(indexes);
	return kept;
}

/*
 * The direct path of judged: the table transactions itself, or on a Citus
 * worker a shard of it, when it is a plain table.
 */
static DirectPath *
direct_path(Oid judged)
{
	DirectPath *direct;
	DirectPath	fresh;
	Relation	table;

	if (!table_watch.valid || direct_paths == NULL)
	{
		HASHCTL		ctl;

		if (direct_paths != NULL)
			hash_destroy(direct_paths);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(DirectPath);
		ctl.hcxt = CacheMemoryContext;
		direct_paths = hash_create("credit_sandbox direct paths", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		cs_watch_refresh(&table_watch);
	}
	if (!OidIsValid(judged))
		return NULL;
	direct = hash_search(direct_paths, &judged, HASH_FIND, NULL);
	table = table_open(judged, AccessShareLock);
	if (direct != NULL && indexes_kept(table, direct))
	{
		table_close(table, AccessShareLock);
		return direct;
	}
	fresh.relid = judged;
	for (int k = 0; k < (int) lengthof(specs); k++)
		fresh.index[k] = table->rd_rel->relkind == RELKIND_RELATION && strcmp(specs[k].table, "transactions") == 0 &&
			cs_logical_relid(table) == table_watch.oids[0]
			? find_index(table, specs[k].key_column) : InvalidOid;
	fresh.id_attnum = get_attnum(judged, "txn_id");
	fresh.price_attnum = get_attnum(judged, "unit_price");
	table_close(table, AccessShareLock);
	direct = hash_search(direct_paths, &judged, HASH_ENTER, NULL);
	*direct = fresh;
	return direct;
}

static void
key_init(ScanKey key, AttrNumber column, StrategyNumber strategy, RegProcedure proc,
		 Oid collation, Datum value)
{
	ScanKeyEntryInitialize(key, 0, column, strategy, InvalidOid, collation, proc, value);
}

static void
append_row(History *h, int *capacity, const HistoryRow *row)
{
	if (h->n == *capacity)
	{
		*capacity = Max(8, *capacity * 2);
		h->rows = h->rows ? repalloc(h->rows, sizeof(HistoryRow) * *capacity)
			: palloc(sizeof(HistoryRow) * *capacity);
	}
	h->rows[h->n++] = *row;
}

static void
load_by_index(HistorySpec *spec, DirectPath *direct, Oid index_oid, int n, const char **operators, const char **keys,
			  History **handles)
{
	Relation	table = table_open(direct->relid, AccessShareLock);
	Relation	index = index_open(index_oid, AccessShareLock);
	TransactionId xid = GetCurrentTransactionIdIfAny();
	Snapshot	snapshot;
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(table, NULL);
	ScanKeyData skeys[4];

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = cs_index_beginscan(table, index, snapshot, lengthof(skeys), 0);
	for (int i = 0; i < n; i++)
	{
		History    *h = handles[i];
		int			capacity = 0;

		key_init(&skeys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, index->rd_indcollation[0],
				 CStringGetTextDatum(operators[i]));
		key_init(&skeys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, index->rd_indcollation[1],
				 CStringGetTextDatum(keys[i]));
		if (spec->from_inclusive)
		{
			key_init(&skeys[2], 3, BTGreaterEqualStrategyNumber, F_TIMESTAMPTZ_GE, InvalidOid,
					 TimestampTzGetDatum(h->from));
			key_init(&skeys[3], 3, BTLessStrategyNumber, F_TIMESTAMPTZ_LT, InvalidOid,
					 TimestampTzGetDatum(h->to));
		}
		else
		{
			key_init(&skeys[2], 3, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT, InvalidOid,
					 TimestampTzGetDatum(h->from));
			key_init(&skeys[3], 3, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, InvalidOid,
					 TimestampTzGetDatum(h->to));
		}
		index_rescan(scan, skeys, lengthof(skeys), NULL, 0);
		h->n = 0;
		h->rows = NULL;
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			HistoryRow	row;
			bool		isnull;
			Datum		price;

			row.at = DatumGetTimestampTz(slot_getattr(slot, index->rd_index->indkey.values[2], &isnull));
			row.id = DatumGetInt64(slot_getattr(slot, direct->id_attnum, &isnull));
			row.this_xact = TransactionIdEquals(DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
																					  &isnull)),
												xid);
			price = spec->value == VALUE_PRICE ? slot_getattr(slot, direct->price_attnum, &isnull) : (Datum) 0;
			row.price = spec->value == VALUE_PRICE && !isnull ? DatumGetNumeric(datumCopy(price, false, -1)) : NULL;
			append_row(h, &capacity, &row);
		}
		if (h->rows == NULL)
			h->rows = palloc(sizeof(HistoryRow));
	}
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(table, AccessShareLock);
}

/* ---------------------------------------------------------------- both */

static int
history_row_cmp(const void *a, const void *b)
{
	const HistoryRow *x = a;
	const HistoryRow *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void
load_spans(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys, History **handles)
{
	HistorySpec *spec = &specs[kind];
	SPIPlanPtr *many_plan = cs_plan_slot(&spec->plan_sites[PLAN_MANY]);
	SPIPlanPtr *one_plan = cs_plan_slot(&spec->plan_sites[PLAN_ONE]);
	DirectPath *direct;

	if (*one_plan == NULL)
		prepare_plans(spec, many_plan, one_plan);
	direct = direct_path(judged);
	if (n == 0)
		return;
	if (direct != NULL && OidIsValid(direct->index[kind]))
		load_by_index(spec, direct, direct->index[kind], n, operators, keys, handles);
	else
		load_by_query(spec, n == 1 ? *one_plan : *many_plan, n, operators, keys, handles);
	for (int i = 0; i < n; i++)
		qsort(handles[i]->rows, handles[i]->n, sizeof(HistoryRow), history_row_cmp);
}

/* ---------------------------------------------------------------- carried keys */

/*
 * A key with a long history (every earlier order of a big statement to one
 * address) would be read again, whole, by each batch of the statement that
 * asks for it.  Its rows are kept for the statement instead, and a later
 * batch reads only the part of its span they do not cover.  While a
 * statement's checks run, the stored rows of its operators do not change:
 * its own rows are all written before its AFTER triggers fire, and another
 * transaction's rows of those operators cannot commit before their checks,
 * which wait for the operators' locks this statement holds.
 */
#define CARRY_MIN_ROWS 1024

typedef struct CarriedKey
{
	char	   *key;			/* kind, operator, key */
	MemoryContext context;		/* its rows and their prices */
	TimestampTz from;			/* the span its rows cover, as History's */
	TimestampTz to;
	int			start;			/* rows before start lie before the span */
	int			n;
	int			capacity;
	HistoryRow *rows;
} CarriedKey;

struct HistoryCarry
{
	MemoryContext context;
	HTAB	   *keys;
};

/* Keeps nothing until a key with a long history is met. */
HistoryCarry *
cs_history_carry_create(void)
{
	HistoryCarry *carry = palloc(sizeof(HistoryCarry));

	carry->context = CurrentMemoryContext;
	carry->keys = NULL;
	return carry;
}

static char *
carry_key(HistoryKind kind, const char *operator_id, const char *key)
{
	return psprintf("%d:%zu:%s%s", (int) kind, strlen(operator_id), operator_id, key);
}

/* Appends rows to a carried key, copying their prices into its context. */
static void
carry_append(CarriedKey *c, const HistoryRow *rows, int n)
{
	MemoryContext old = MemoryContextSwitchTo(c->context);

	if (c->n + n > c->capacity)
	{
		c->capacity = Max(c->n + n, c->capacity * 2);
		c->rows = c->rows ? repalloc(c->rows, sizeof(HistoryRow) * c->capacity)
			: palloc(sizeof(HistoryRow) * c->capacity);
	}
	for (int i = 0; i < n; i++)
	{
		c->rows[c->n] = rows[i];
		if (rows[i].price)
			c->rows[c->n].price = DatumGetNumeric(datumCopy(NumericGetDatum(rows[i].price), false, -1));
		c->n++;
	}
	MemoryContextSwitchTo(old);
}

/*
 * A batch's span on a carried key: the parts read below and above what it
 * covered (either may be NULL) join it, and what lies before the span's
 * start is dropped, to be read again should a later batch reach back to
 * it.  The rows are copied into a new context when there are rows to put
 * first or when most of them were dropped; else they stay where they are.
 */
static void
carry_update(CarriedKey *c, HistoryCarry *carry, HistoryKind kind, const History *below, const History *above,
			 TimestampTz from, TimestampTz to)
{
	int			first = c->start;

	/* prices: [from, ...); else (from, ...] */
	while (first < c->n && (c->rows[first].at < from || (!specs[kind].from_inclusive && c->rows[first].at == from)))
		first++;
	if ((below && below->n > 0) || first > c->n / 2)
	{
		CarriedKey	previous = *c;

		c->context = AllocSetContextCreate(carry->context, "credit_sandbox carried key", ALLOCSET_DEFAULT_SIZES);
		c->rows = NULL;
		c->n = c->capacity = 0;
		if (below)
			carry_append(c, below->rows, below->n);
		carry_append(c, previous.rows + first, previous.n - first);
		if (previous.context)
			MemoryContextDelete(previous.context);
		first = 0;
	}
	c->start = first;
	if (above)
		carry_append(c, above->rows, above->n);
	c->from = from;
	c->to = Max(c->to, to);
}

/*
 * Fills handles[i] with the stored rows of (operators[i], keys[i]) in the
 * span it asks for, sorted by time.  judged: the relation whose rows are
 * being judged, or InvalidOid.  carry: the keys kept for the statement, or
 * NULL.  A carried key's handle points into the carried rows, which may
 * reach past its span (each question is bounded by its own window).
 */
void
cs_history_load(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys,
				History **handles, HistoryCarry *carry)
{
	HistorySpec *spec = &specs[kind];
	CarriedKey **carried = palloc0(sizeof(CarriedKey *) * Max(n, 1));
	History   **parts = palloc(sizeof(History *) * 2 * Max(n, 1));
	const char **part_operators = palloc(sizeof(char *) * 2 * Max(n, 1));
	const char **part_keys = palloc(sizeof(char *) * 2 * Max(n, 1));
	History   **below = palloc0(sizeof(History *) * Max(n, 1));
	History   **above = palloc0(sizeof(History *) * Max(n, 1));
	int			nparts = 0;

	/* a window on the operator's own rows has no key */
	if (spec->key_column == NULL)
	{
		const char **none = palloc(sizeof(char *) * Max(n, 1));

		for (int i = 0; i < n; i++)
			none[i] = "";
		keys = none;
	}

	/* what to read: a key's whole span, or the parts its carried rows lack */
	for (int i = 0; i < n; i++)
	{
		char	   *key = carry && carry->keys ? carry_key(kind, operators[i], keys[i]) : NULL;
		CarriedKey *c = key ? hash_search(carry->keys, &key, HASH_FIND, NULL) : NULL;
		History    *h = handles[i];
		History   **part = &handles[i];

		if (c && h->to >= c->from && h->from <= c->to)
		{
			carried[i] = c;
			if (h->from < c->from)
			{
				below[i] = palloc0(sizeof(History));
				below[i]->from = h->from;
				below[i]->to = c->from;
				below[i]->return_period = h->return_period;
				parts[nparts] = below[i];
				part_operators[nparts] = operators[i];
				part_keys[nparts++] = keys[i];
			}
			if (h->to <= c->to)
				continue;
			above[i] = palloc0(sizeof(History));
			above[i]->from = c->to;
			above[i]->to = h->to;
			above[i]->return_period = h->return_period;
			part = &above[i];
		}
		parts[nparts] = *part;
		part_operators[nparts] = operators[i];
		part_keys[nparts++] = keys[i];
	}
	load_spans(kind, judged, nparts, part_operators, part_keys, parts);

	for (int i = 0; i < n && carry; i++)
	{
		History    *h = handles[i];
		CarriedKey *c = carried[i];

		if (c == NULL)
		{
			char	   *key;
			bool		found;

			if (h->n < CARRY_MIN_ROWS)
				continue;
			/* a long history met: kept for the statement's later batches */
			if (carry->keys == NULL)
				carry->keys = cs_string_hash_create("credit_sandbox carried keys", 64, sizeof(CarriedKey),
													carry->context);
			key = carry_key(kind, operators[i], keys[i]);
			c = hash_search(carry->keys, &key, HASH_ENTER, &found);
			if (found)
				MemoryContextDelete(c->context);
			else
				c->key = MemoryContextStrdup(carry->context, key);
			c->context = NULL;
			c->rows = NULL;
			c->start = c->n = 0;
			c->to = h->to;
			carry_update(c, carry, kind, h, NULL, h->from, h->to);
		}
		else
			carry_update(c, carry, kind, below[i], above[i], h->from, h->to);
		/* the batch reads the carried rows up to the end of its span */
		h->rows = c->rows + c->start;
		for (h->n = 0; c->start + h->n < c->n && h->rows[h->n].at <= h->to; h->n++)
			;
	}
}

/* ---------------------------------------------------------------- windows */

/*
 * The rows of a history that count for a question (stored before its row),
 * over positions in time order: a Fenwick tree of counts, a
 * segment tree of the lowest price for prices.  Positions are switched on
 * as the sweep passes their ids; NULL is no price.
 */
typedef struct WindowTree
{
	int			n;
	int64	   *counts;			/* Fenwick, 1-based */
	int			leaves;			/* segment tree: a power of two >= n */
	Numeric    *lowest;
} WindowTree;

static Numeric
lower_price(Numeric a, Numeric b)
{
	if (a == NULL || b == NULL)
		return a ? a : b;
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b))) <= 0 ? a : b;
}

static void
tree_add(WindowTree *tree, int position, Numeric price)
{
	for (int i = position + 1; i <= tree->n; i += i & -i)
		tree->counts[i]++;
	if (tree->lowest)
		for (int i = position + tree->leaves; i >= 1; i /= 2)
			tree->lowest[i] = lower_price(tree->lowest[i], price);
}

/* Rows switched on at positions [lo, hi), and the lowest price among them. */
static int64
tree_count(const WindowTree *tree, int lo, int hi)
{
	int64		count = 0;

	for (int i = hi; i > 0; i -= i & -i)
		count += tree->counts[i];
	for (int i = lo; i > 0; i -= i & -i)
		count -= tree->counts[i];
	return count;
}

static Numeric
tree_lowest(const WindowTree *tree, int lo, int hi)
{
	Numeric		lowest = NULL;

	for (lo += tree->leaves, hi += tree->leaves; lo < hi; lo /= 2, hi /= 2)
	{
		if (lo & 1)
			lowest = lower_price(lowest, tree->lowest[lo++]);
		if (hi & 1)
			lowest = lower_price(lowest, tree->lowest[--hi]);
	}
	return lowest;
}

/* First position at or after (strictly after, if after) a time. */
static int
seek(const History *h, TimestampTz t, bool after)
{
	int			lo = 0,
				hi = h->n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (h->rows[mid].at < t || (after && h->rows[mid].at == t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
compare_ids(int64 a, int64 b)
{
	return (a > b) - (a < b);
}

static int
question_by_id(const void *a, const void *b)
{
	return compare_ids((*(HistoryQuestion *const *) a)->id, (*(HistoryQuestion *const *) b)->id);
}

static int
row_by_id(const void *a, const void *b, void *arg)
{
	const History *h = arg;

	return compare_ids(h->rows[*(const int *) a].id, h->rows[*(const int *) b].id);
}

/*
 * Answers the questions of a batch's rows about one key's history: for
 * prices, the lowest price in [from, to); else how many rows lie in (from,
 * to], the row itself included, and for complaints how many in the
 * baseline (baseline_from, from] before it.  A stored row counts for the row
 * asking if it came before it: a row another transaction committed counts
 * (the operator's lock admits the check only after that commit), a row of
 * this transaction if its id is smaller.  A replay (by_id) orders every
 * stored row by id.  The questions are taken in id order, and each row of
 * the history is switched on once the sweep passes it.
 */
void
cs_history_answer(HistoryKind kind, const History *h, HistoryQuestion **questions, int nquestions, bool by_id)
{
	const HistorySpec *spec = &specs[kind];
	bool		counts = spec->value != VALUE_PRICE;
	WindowTree	tree = {0};
	int		   *later;
	int			nlater = 0;
	int			next = 0;
	int64		first_id;
	int64		last_id;

	if (nquestions == 0)
		return;
	later = palloc(sizeof(int) * Max(h->n, 1));
	qsort(questions, nquestions, sizeof(HistoryQuestion *), question_by_id);
	first_id = questions[0]->id;
	last_id = questions[nquestions - 1]->id;

	/*
	 * Rows every question counts are on from the start, and the trees are
	 * built over them in one pass (a long history, such as every earlier
	 * row of a big statement to one address, costs its length once); rows
	 * between the first and the last question's id are switched on by the
	 * sweep; later ones count for none.
	 */
	tree.n = h->n;
	tree.counts = palloc0(sizeof(int64) * (h->n + 1));
	if (!counts)
	{
		for (tree.leaves = 1; tree.leaves < Max(h->n, 1); tree.leaves *= 2)
			;
		tree.lowest = palloc0(sizeof(Numeric) * 2 * tree.leaves);
	}
	for (int i = 0; i < h->n; i++)
	{
		const HistoryRow *row = &h->rows[i];

		if ((!row->this_xact && !by_id) || row->id < first_id)
		{
			tree.counts[i + 1] = 1;
			if (tree.lowest)
				tree.lowest[tree.leaves + i] = row->price;
		}
		else if (row->id <= last_id)
			later[nlater++] = i;
	}
	for (int i = 1; i <= h->n; i++)
		if (i + (i & -i) <= h->n)
			tree.counts[i + (i & -i)] += tree.counts[i];
	for (int i = tree.leaves - 1; i >= 1 && tree.lowest; i--)
		tree.lowest[i] = lower_price(tree.lowest[2 * i], tree.lowest[2 * i + 1]);
	qsort_arg(later, nlater, sizeof(int), row_by_id, (void *) h);

	for (int q = 0; q < nquestions; q++)
	{
		HistoryQuestion *question = questions[q];

		/* counts include the row itself, prices only those before it */
		while (next < nlater && (h->rows[later[next]].id < question->id ||
								 (counts && h->rows[later[next]].id == question->id)))
		{
			tree_add(&tree, later[next], h->rows[later[next]].price);
			next++;
		}
		if (counts)
		{
			int			from = seek(h, question->from, true);

			question->count = tree_count(&tree, from, seek(h, question->to, true));
			if (spec->baseline)
				question->baseline_count = tree_count(&tree, seek(h, question->baseline_from, true), from);
		}
		else
			question->lowest = tree_lowest(&tree, seek(h, question->from, false), seek(h, question->to, false));
	}
	pfree(later);
	pfree(tree.counts);
	if (tree.lowest)
		pfree(tree.lowest);
}

void
cs_history_init(void)
{
	cs_watch_tables(&table_watch);
}
