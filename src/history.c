/*-------------------------------------------------------------------------
 *
 * history.c
 *	  The stored transactions of (operator, key) pairs in a time window:
 *	  orders to an address (RL04) and earlier prices of an item (RL05).
 *
 * These windows are most of a check's work, one per row.  When the rows
 * judged are in credit_sandbox.transactions itself and it is a plain table,
 * they are read straight from its (operator_id, key, occurred_at) btree
 * index, one rescan per key: no executor start-up, no parameter arrays, no
 * result tuples to form and take apart.  A partitioned table, a Citus shard
 * (the trigger's relation is not the table itself) or a missing index takes
 * the SPI queries, which return the same rows.  Both read on the latest
 * snapshot after a command counter increment, as SPI does.  Either may
 * return more than a row's own window (a key's span covers every row of
 * the batch that asks for it): the evaluator bounds each window itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "facts.h"

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
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

typedef struct HistorySpec
{
	const char *key_column;		/* ship_to, item_id */
	bool		with_price;
	bool		from_inclusive; /* orders (from, to]; prices [from, to) */
	SPIPlanPtr	many_plan;		/* a batch: unnest of the keys, LATERAL scan each */
	SPIPlanPtr	one_plan;		/* one key: a plain index scan */
	Oid			index;			/* (operator_id, key, occurred_at) btree of a plain table, or invalid */
} HistorySpec;

static HistorySpec specs[] = {
	[HISTORY_ORDERS] = {"ship_to", false, false},
	[HISTORY_PRICES] = {"item_id", true, true},
};

/* what the direct path needs of transactions; re-read when its relcache entry changes */
static const char *const history_tables[] = {"transactions"};
static WatchedTables table_watch = {history_tables, lengthof(history_tables)};
static AttrNumber id_attnum;
static AttrNumber price_attnum;

/* ---------------------------------------------------------------- SPI */

static void
prepare_plans(HistorySpec *spec)
{
	Oid			many_types[5] = {TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, XIDOID};
	Oid			one_types[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, XIDOID};
	char	   *table = cs_table("transactions");
	const char *price = spec->with_price ? "t.unit_price" : "NULL::numeric";
	const char *lower = spec->from_inclusive ? ">=" : ">";
	const char *upper = spec->from_inclusive ? "<" : "<=";

	spec->many_plan = cs_prepare(psprintf("SELECT k.i, t.occurred_at, t.txn_id, t.xmin = $5, %s"
										  "  FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS k(op, key, lo, hi, i)"
										  " CROSS JOIN LATERAL ("
										  "   SELECT x.occurred_at, x.txn_id, x.xmin, x.unit_price FROM %s x"
										  "    WHERE x.operator_id = k.op AND x.%s = k.key"
										  "      AND x.occurred_at %s k.lo AND x.occurred_at %s k.hi OFFSET 0) t",
										  price, table, spec->key_column, lower, upper),
								 5, many_types);
	spec->one_plan = cs_prepare(psprintf("SELECT 1::bigint, t.occurred_at, t.txn_id, t.xmin = $5, %s FROM %s t"
										 " WHERE t.operator_id = $1 AND t.%s = $2"
										 "   AND t.occurred_at %s $3 AND t.occurred_at %s $4",
										 price, table, spec->key_column, lower, upper),
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
load_by_query(HistorySpec *spec, int n, const char **operators, const char **keys, History **handles)
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
	values[4] = TransactionIdGetDatum(GetCurrentTransactionId());
	cs_execute(n == 1 ? spec->one_plan : spec->many_plan, values, NULL);

	/* count per key, then fill */
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
		HistoryRow *hr = &h->rows[h->n++];
		Datum		price;

		hr->at = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &isnull));
		hr->id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		hr->this_xact = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
		price = SPI_getbinval(row, desc, 5, &isnull);
		hr->price = isnull ? NULL : DatumGetNumeric(datumCopy(price, false, -1));
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

static void
refresh_direct(void)
{
	Relation	table;

	cs_watch_refresh(&table_watch);
	table = table_open(table_watch.oids[0], AccessShareLock);
	for (int k = 0; k < (int) lengthof(specs); k++)
		specs[k].index = table->rd_rel->relkind == RELKIND_RELATION
			? find_index(table, specs[k].key_column) : InvalidOid;
	id_attnum = get_attnum(RelationGetRelid(table), "txn_id");
	price_attnum = get_attnum(RelationGetRelid(table), "unit_price");
	table_close(table, AccessShareLock);
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
load_by_index(HistorySpec *spec, int n, const char **operators, const char **keys, History **handles)
{
	Relation	table = table_open(table_watch.oids[0], AccessShareLock);
	Relation	index = index_open(spec->index, AccessShareLock);
	TransactionId xid = GetCurrentTransactionId();
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
			row.id = DatumGetInt64(slot_getattr(slot, id_attnum, &isnull));
			row.this_xact = TransactionIdEquals(DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
																					  &isnull)),
												xid);
			price = spec->with_price ? slot_getattr(slot, price_attnum, &isnull) : (Datum) 0;
			row.price = spec->with_price && !isnull ? DatumGetNumeric(datumCopy(price, false, -1)) : NULL;
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

/*
 * Fills handles[i] with the stored rows of (operators[i], keys[i]) in the
 * span it asks for, sorted by time.  judged: the relation whose rows are
 * being judged, or InvalidOid.
 */
void
history_load(HistoryKind kind, Oid judged, int n, const char **operators, const char **keys,
			 History **handles)
{
	HistorySpec *spec = &specs[kind];

	if (spec->one_plan == NULL)
		for (int k = 0; k < (int) lengthof(specs); k++)
			prepare_plans(&specs[k]);
	if (!table_watch.valid)
		refresh_direct();
	if (OidIsValid(spec->index) && judged == table_watch.oids[0])
		load_by_index(spec, n, operators, keys, handles);
	else
		load_by_query(spec, n, operators, keys, handles);
	for (int i = 0; i < n; i++)
		qsort(handles[i]->rows, handles[i]->n, sizeof(HistoryRow), history_row_cmp);
}

void
history_register_callbacks(void)
{
	cs_watch_tables(&table_watch);
}
