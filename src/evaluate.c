/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  The evaluator: inserted rows in, their red-line hits out.  Every driver
 *	  (row trigger, statement trigger) feeds rows through here, so each red
 *	  line exists once.
 *
 * Rows are added to a batch and judged when the batch is flushed: first the
 * facts all of them need are fetched together (facts.c), then each row is
 * judged in insertion order.  A row is judged against the rows stored
 * before it plus itself.  Rows of the same statement are all visible when
 * AFTER triggers fire, so windows leave out rows of the current
 * (sub)transaction with a larger id: a multi-row INSERT or COPY gives what
 * the same rows inserted one by one in id order give.  Queries run on the
 * latest snapshot while the operator's lock is held (see cs_execute), which
 * makes the result that of sequential evaluation in commit order under
 * every isolation level.  A replay (replay.c) feeds stored rows through the
 * same code, with every stored row ordered by id and the hits collected
 * instead of recorded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "evaluate.h"
#include "facts.h"
#include "matcher.h"
#include "settings.h"
#include "spi_util.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* ---------------------------------------------------------------- row access */

typedef struct EventColumns
{
	int			id;				/* txn_id, return_id, complaint_id */
	int			operator_id;
	int			at;				/* occurred_at, requested_at, received_at */
	/* transactions */
	int			ship_to;
	int			item_id;
	int			item_title;
	int			category;
	int			unit_price;
	int			list_price;
	/* returns */
	int			txn_id;
	int			delivered_at;
	int			outcome;
} EventColumns;

const EventTable cs_event_tables[NUM_EVENT_KINDS] = {
	{"transactions", "txn_id", "occurred_at"},
	{"returns", "return_id", "requested_at"},
	{"complaints", "complaint_id", "received_at"},
};

EventKind
cs_event_kind(const char *name)
{
	for (int i = 0; i < NUM_EVENT_KINDS; i++)
		if (strcmp(name, cs_event_tables[i].name) == 0)
			return (EventKind) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown credit_sandbox event kind \"%s\"", name),
			 errhint("The trigger argument is one of transactions, returns, complaints.")));
	pg_unreachable();
}

static int
column(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("credit_sandbox checks need column \"%s\"", name)));
	return attnum;
}

static void
resolve_columns(EventKind kind, TupleDesc desc, EventColumns *cols)
{
	memset(cols, 0, sizeof(*cols));
	cols->operator_id = column(desc, "operator_id");
	cols->id = column(desc, cs_event_tables[kind].id_column);
	cols->at = column(desc, cs_event_tables[kind].time_column);
	switch (kind)
	{
		case EVENT_TRANSACTION:
			cols->ship_to = column(desc, "ship_to");
			cols->item_id = column(desc, "item_id");
			cols->item_title = column(desc, "item_title");
			cols->category = column(desc, "category");
			cols->unit_price = column(desc, "unit_price");
			cols->list_price = column(desc, "list_price");
			break;
		case EVENT_RETURN:
			cols->txn_id = column(desc, "txn_id");
			cols->category = column(desc, "category");
			cols->delivered_at = column(desc, "delivered_at");
			cols->outcome = column(desc, "outcome");
			break;
		case EVENT_COMPLAINT:
			break;
	}
}

/* A transaction row, parsed, with handles on the facts it is judged on. */
typedef struct TxnRow
{
	int64		id;
	char	   *operator_id;
	TimestampTz at;
	DateADT		day;
	char	   *ship_to;
	char	   *item_id;
	char	   *title;
	char	   *category;
	Numeric		unit_price;
	Numeric		list_price;
	const char *permit;			/* required by the category, or NULL */
	OperatorFacts *op;
	History    *orders;			/* RL04: orders to ship_to */
	History    *prices;			/* RL05: earlier prices of the item */
	HistoryQuestion orders_window;	/* RL04: (t - window, t], answered per batch */
	HistoryQuestion prices_window;	/* RL05: [t - lookback, t) */
	PriceList  *item_reference;
	PriceList  *category_reference;
} TxnRow;

struct EvalContext
{
	EventKind	kind;
	TupleDesc	desc;
	EventColumns cols;
	const RuleCatalog *cat;
	MemoryContext batch_context;	/* the rows and facts of one batch */
	int			nrows;
	int			capacity;
	void	  **rows;			/* TxnRow, or a copy of the tuple */
	Facts	   *facts;
	HistoryCarry *carry;		/* long histories kept between batches */
	Ledger	   *ledger;
	MemoryContext context;		/* lives as long as the evaluator */
	bool		one_operator;	/* see cs_evaluate_begin */
	Oid			judged;			/* the relation the rows are in, or invalid */
	HitCollector collect;		/* replay: hits go here, nothing is written */
	void	   *collect_arg;
	MemoryContext row_context;	/* what judging one row allocates */
	bool	   *prohibited_found;	/* matcher results, reused row after row */
	bool	   *absolute_found;
};

static EvalContext *
evaluator_create(EventKind kind, TupleDesc desc, Oid judged, const RuleCatalog *cat, bool one_operator,
				 HitCollector collect, void *collect_arg)
{
	EvalContext *ctx = palloc(sizeof(EvalContext));

	ctx->kind = kind;
	ctx->desc = desc;
	resolve_columns(kind, desc, &ctx->cols);
	ctx->cat = cat;
	ctx->context = CurrentMemoryContext;
	ctx->one_operator = one_operator;
	ctx->judged = judged;
	ctx->collect = collect;
	ctx->collect_arg = collect_arg;
	ctx->batch_context = AllocSetContextCreate(CurrentMemoryContext, "credit_sandbox batch",
											   ALLOCSET_DEFAULT_SIZES);
	ctx->row_context = AllocSetContextCreate(CurrentMemoryContext, "credit_sandbox row",
											 ALLOCSET_DEFAULT_SIZES);
	ctx->prohibited_found = palloc(sizeof(bool) * (cs_matcher_nterms(ctx->cat->prohibited_terms) + 1));
	ctx->absolute_found = palloc(sizeof(bool) * (cs_matcher_nterms(ctx->cat->absolute_terms) + 1));
	ctx->nrows = 0;
	ctx->capacity = 0;
	ctx->rows = NULL;
	ctx->facts = NULL;
	ctx->carry = cs_history_carry_create();
	ctx->ledger = NULL;
	return ctx;
}

/*
 * The live evaluator, for rows just inserted into judged.  one_operator:
 * every batch is one row (the row driver), and every query names its
 * operator.
 */
EvalContext *
cs_evaluate_begin(EventKind kind, Relation judged, bool one_operator)
{
	return evaluator_create(kind, RelationGetDescr(judged), RelationGetRelid(judged), cs_catalog(),
							one_operator, NULL, NULL);
}

/*
 * An evaluator that judges stored rows against the rules of cat, ordering
 * all stored rows by id, and hands each hit to collect instead of
 * recording it.
 */
EvalContext *
cs_replay_begin(EventKind kind, TupleDesc desc, const RuleCatalog *cat,
				HitCollector collect, void *collect_arg)
{
	return evaluator_create(kind, desc, InvalidOid, cat, false, collect, collect_arg);
}

/* Writes what the evaluator kept in memory: once the statement's rows are judged. */
void
cs_evaluate_end(EvalContext *ctx)
{
	Assert(cs_evaluate_pending(ctx) == 0);
	if (ctx->ledger)
		cs_ledger_write(ctx->ledger);
}

static char *
get_text(HeapTuple tuple, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static Datum
get_datum(HeapTuple tuple, TupleDesc desc, int attnum, bool *isnull)
{
	return heap_getattr(tuple, attnum, desc, isnull);
}

/* The attribute number of operator_id in the rows being judged. */
int
cs_operator_column(EvalContext *ctx)
{
	return ctx->cols.operator_id;
}

/* ---------------------------------------------------------------- evidence */

static void
json_key(StringInfo buf, const char *key)
{
	appendStringInfoChar(buf, buf->len == 0 ? '{' : ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

static void
json_text(StringInfo buf, const char *key, const char *value)
{
	json_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static void
json_raw(StringInfo buf, const char *key, const char *json)
{
	json_key(buf, key);
	appendStringInfoString(buf, json ? json : "null");
}

static void
json_int(StringInfo buf, const char *key, int64 value)
{
	json_key(buf, key);
	appendStringInfo(buf, INT64_FORMAT, value);
}

static void
json_numeric(StringInfo buf, const char *key, Numeric value)
{
	json_raw(buf, key, value ? DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value))) : NULL);
}

static void
json_datetime(StringInfo buf, const char *key, Datum value, Oid type, bool isnull)
{
	json_key(buf, key);
	if (isnull)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, JsonEncodeDateTime(NULL, value, type, NULL));
}

static void
json_date(StringInfo buf, const char *key, DateADT value, bool isnull)
{
	json_datetime(buf, key, DateADTGetDatum(value), DATEOID, isnull);
}

static void
json_interval(StringInfo buf, const char *key, const Interval *span)
{
	json_text(buf, key, DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(span))));
}

/* The terms that matched, as written, in term order. */
static void
json_terms(StringInfo buf, const char *key, char **terms, const bool *found, int nterms)
{
	bool		first = true;

	json_key(buf, key);
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < nterms; i++)
	{
		if (!found[i])
			continue;
		if (!first)
			appendStringInfoChar(buf, ',');
		escape_json(buf, terms[i]);
		first = false;
	}
	appendStringInfoChar(buf, ']');
}

static Datum
json_finish(StringInfo buf)
{
	appendStringInfoChar(buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));
}

/* ---------------------------------------------------------------- queries */

/*
 * Qualifying refusals of the operator with requested_at in (t - window, t].
 * Whether each was requested within the return period of its delivery is
 * judged here, in the regulator's time zone (cs_add_interval), not by
 * timestamptz + interval in the query, which would use the session's.
 */
static int64
count_qualifying_refusals(const Rule *rule, const char *operator_id, TimestampTz at, int64 return_id,
						  bool by_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];
	int64		refusals = 0;

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, XIDOID, BOOLOID};

		plan = cs_prepare(psprintf(
								   "SELECT x.requested_at, x.delivered_at FROM %s x"
								   " WHERE x.operator_id = $1 AND x.outcome = 'refused'"
								   "   AND x.requested_at > $2 AND x.requested_at <= $3"
								   "   AND x.delivered_at IS NOT NULL"
								   "   AND NOT EXISTS (SELECT FROM %s e WHERE e.category = x.category)"
								   "   AND (x.return_id <= $4 OR NOT ($6 OR x.xmin = $5))",
								   cs_table("returns"), cs_table("return_exempt_categories")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = TimestampTzGetDatum(cs_sub_interval(at, &rule->window));
	values[2] = TimestampTzGetDatum(at);
	values[3] = Int64GetDatum(return_id);
	values[4] = TransactionIdGetDatum(GetCurrentTransactionIdIfAny());
	values[5] = BoolGetDatum(by_id);
	cs_execute(plan, values, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		TimestampTz requested_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
																	 1, &isnull));
		TimestampTz delivered_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
																	 2, &isnull));

		if (requested_at <= cs_add_interval(delivered_at, &rule->return_period))
			refusals++;
	}
	SPI_freetuptable(SPI_tuptable);
	return refusals;
}

/* Complaints in the window (t - W, t] and in the baseline (t - W - B, t - W]. */
static void
count_complaints(const Rule *rule, const char *operator_id, TimestampTz at, int64 complaint_id,
				 bool by_id, int64 *in_window, int64 *in_baseline)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[7];
	TimestampTz window_start = cs_sub_interval(at, &rule->window);
	bool		isnull;

	if (plan == NULL)
	{
		Oid			types[7] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, XIDOID,
								BOOLOID};

		plan = cs_prepare(psprintf(
								   "SELECT count(*) FILTER (WHERE c.received_at > $3),"
								   "       count(*) FILTER (WHERE c.received_at <= $3)"
								   "  FROM %s c"
								   " WHERE c.operator_id = $1 AND c.received_at > $2 AND c.received_at <= $4"
								   "   AND (c.complaint_id <= $5 OR NOT ($7 OR c.xmin = $6))",
								   cs_table("complaints")),
						  7, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = TimestampTzGetDatum(cs_sub_interval(window_start, &rule->baseline));
	values[2] = TimestampTzGetDatum(window_start);
	values[3] = TimestampTzGetDatum(at);
	values[4] = Int64GetDatum(complaint_id);
	values[5] = TransactionIdGetDatum(GetCurrentTransactionIdIfAny());
	values[6] = BoolGetDatum(by_id);
	cs_execute(plan, values, NULL);
	*in_window = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*in_baseline = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);
}

/* ---------------------------------------------------------------- numbers */

static Numeric
int_numeric(int64 value)
{
	return DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value)));
}

static Numeric
num_mul(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(a), NumericGetDatum(b)));
}

static Numeric
num_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a), NumericGetDatum(b)));
}

static int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static Numeric
interval_seconds(const Interval *span)
{
	return DatumGetNumeric(DirectFunctionCall2(extract_interval, CStringGetTextDatum("epoch"),
											   IntervalPGetDatum(span)));
}

/* ---------------------------------------------------------------- red lines */

/* Parses a transaction row and asks for the facts it will be judged on. */
static TxnRow *
plan_transaction(EvalContext *ctx, HeapTuple tuple)
{
	const Rule *rules = ctx->cat->rules;
	TupleDesc	desc = ctx->desc;
	const EventColumns *c = &ctx->cols;
	TxnRow	   *r = palloc0(sizeof(TxnRow));
	bool		isnull;
	Datum		d;

	r->id = DatumGetInt64(get_datum(tuple, desc, c->id, &isnull));
	r->operator_id = get_text(tuple, desc, c->operator_id);
	r->at = DatumGetTimestampTz(get_datum(tuple, desc, c->at, &isnull));
	r->day = cs_legal_date(r->at);
	r->ship_to = get_text(tuple, desc, c->ship_to);
	r->item_id = get_text(tuple, desc, c->item_id);
	r->title = get_text(tuple, desc, c->item_title);
	r->category = get_text(tuple, desc, c->category);
	r->unit_price = DatumGetNumericCopy(get_datum(tuple, desc, c->unit_price, &isnull));
	d = get_datum(tuple, desc, c->list_price, &isnull);
	r->list_price = isnull ? NULL : DatumGetNumericCopy(d);
	r->permit = cs_category_permit(ctx->cat, r->category);

	r->op = cs_facts_operator(ctx->facts, r->operator_id);
	if (rules[RL04].enabled && r->ship_to)
	{
		r->orders_window.id = r->id;
		r->orders_window.from = cs_sub_interval(r->at, &rules[RL04].window);
		r->orders_window.to = r->at;
		r->orders = cs_facts_orders_to_address(ctx->facts, r->operator_id, r->ship_to,
											   r->orders_window.from, r->orders_window.to);
	}
	if (rules[RL05].enabled && r->list_price)
	{
		r->prices_window.id = r->id;
		r->prices_window.from = cs_sub_interval(r->at, &rules[RL05].lookback);
		r->prices_window.to = r->at;
		r->prices = cs_facts_item_prices(ctx->facts, r->operator_id, r->item_id,
										 r->prices_window.from, r->prices_window.to);
	}
	if (rules[RL09].enabled)
	{
		r->item_reference = cs_facts_item_reference(ctx->facts, r->item_id);
		if (r->category)
			r->category_reference = cs_facts_category_reference(ctx->facts, r->category);
	}
	return r;
}

static bool
holds_permit(const OperatorFacts *op, const char *permit)
{
	for (int i = 0; i < op->npermits; i++)
		if (op->permits[i] && strcmp(op->permits[i], permit) == 0)
			return true;
	return false;
}

/* The lists the operator is on that day, as a JSON array, or NULL. */
static char *
lists_in_force(const OperatorFacts *op, DateADT day)
{
	static const char *const lists[] = {"abnormal", "dishonest"};
	StringInfoData buf;

	initStringInfo(&buf);
	for (int l = 0; l < (int) lengthof(lists); l++)
		for (int i = 0; i < op->nlists; i++)
		{
			const ListEntry *e = &op->lists[i];

			if (strcmp(e->list, lists[l]) == 0 && e->listed_on <= day &&
				(e->removed_null || day < e->removed_on))
			{
				appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "[", lists[l]);
				break;
			}
		}
	if (buf.len == 0)
		return NULL;
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* RL09: the price valid that day with the latest valid_from, then the highest. */
static Numeric
valid_reference(const PriceList *list, DateADT day)
{
	const PriceEntry *best = NULL;

	for (int i = 0; list && i < list->n; i++)
	{
		const PriceEntry *e = &list->entries[i];

		if ((!e->from_null && e->valid_from > day) || (!e->to_null && day > e->valid_to))
			continue;
		if (best == NULL ||
			(!e->from_null && (best->from_null || e->valid_from > best->valid_from)) ||
			(e->from_null == best->from_null && (e->from_null || e->valid_from == best->valid_from) &&
			 num_cmp(e->price, best->price) > 0))
			best = e;
	}
	return best ? best->price : NULL;
}

/* Records a hit; notes in *clue (when given) that it landed on a warning clue. */
static void
hit(EvalContext *ctx, Hit *base, const Rule *rule, const char *subject_key, StringInfo evidence, bool *clue)
{
	bool		is_clue;

	base->rule = rule;
	base->subject_key = subject_key;
	base->evidence = json_finish(evidence);
	if (ctx->collect)
	{
		ctx->collect(base, ctx->collect_arg);
		return;
	}
	/* most statements hit nothing: the ledger is made for the first hit */
	if (ctx->ledger == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(ctx->context);

		ctx->ledger = cs_ledger_create(ctx->one_operator);
		MemoryContextSwitchTo(old);
	}
	cs_record_hit(ctx->ledger, base, &is_clue);
	if (clue && is_clue)
		*clue = true;
}

static void
evaluate_transaction(EvalContext *ctx, TxnRow *r)
{
	const RuleCatalog *cat = ctx->cat;
	const Rule *rules = cat->rules;
	OperatorFacts *op = r->op;
	char	   *folded_title = r->title ? cs_fold_case(r->title, strlen(r->title)) : NULL;
	Hit			base = {0};
	StringInfoData ev;
	bool		clue = false;

	/* membership is read once per row: all its hits see the same */
	base.operator_id = r->operator_id;
	base.in_sandbox = op->in_sandbox;
	base.source_table = "transactions";
	base.source_id = r->id;
	base.at = r->at;

	if (rules[RL01].enabled)
	{
		StringInfoData reasons;
		char		reasons_buf[80];

		/* most rows have no reason: no allocation for them */
		reasons.data = reasons_buf;
		reasons.len = 0;
		reasons.maxlen = sizeof(reasons_buf);
		reasons.data[0] = '\0';
		reasons.cursor = 0;
		if (!op->known || (!op->registered_on_null && r->day < op->registered_on))
			appendStringInfoString(&reasons, ",\"not_registered\"");
		if (op->known && op->licence_null)
			appendStringInfoString(&reasons, ",\"no_licence\"");
		else if (op->known && op->licence_valid_until < r->day)
			appendStringInfoString(&reasons, ",\"licence_expired\"");
		if (r->permit && !(op->known && holds_permit(op, r->permit)))
			appendStringInfoString(&reasons, ",\"missing_permit\"");
		if (reasons.len > 0)
		{
			reasons.data[0] = '[';
			appendStringInfoChar(&reasons, ']');
			initStringInfo(&ev);
			json_raw(&ev, "reasons", reasons.data);
			json_date(&ev, "sale_date", r->day, false);
			json_date(&ev, "registered_on", op->registered_on, op->registered_on_null);
			json_date(&ev, "licence_valid_until", op->licence_valid_until, op->licence_null);
			json_text(&ev, "category", r->category);
			json_text(&ev, "permit_required", r->permit);
			hit(ctx, &base, &rules[RL01], r->operator_id, &ev, &clue);
		}
	}

	if (rules[RL02].enabled)
	{
		char	   *lists = lists_in_force(op, r->day);

		if (lists)
		{
			initStringInfo(&ev);
			json_raw(&ev, "lists", lists);
			json_date(&ev, "sale_date", r->day, false);
			hit(ctx, &base, &rules[RL02], r->operator_id, &ev, &clue);
		}
	}

	if (rules[RL03].enabled)
	{
		bool		banned_category = cs_category_in(cat->prohibited_categories, r->category);
		int			nterms = cs_matcher_nterms(cat->prohibited_terms);
		bool	   *found = ctx->prohibited_found;
		int			nfound = folded_title
			? cs_matcher_scan(cat->prohibited_terms, folded_title, strlen(folded_title), found) : 0;

		if (banned_category || nfound > 0)
		{
			initStringInfo(&ev);
			json_text(&ev, "category", r->category);
			json_raw(&ev, "prohibited_category", banned_category ? "true" : "false");
			json_terms(&ev, "terms", cat->prohibited_term_text, found, nterms);
			json_text(&ev, "item_title", r->title);
			hit(ctx, &base, &rules[RL03], r->item_id, &ev, &clue);
		}
	}

	if (r->orders)
	{
		int64		orders = r->orders_window.count;

		if (orders >= rules[RL04].threshold)
		{
			initStringInfo(&ev);
			json_text(&ev, "ship_to", r->ship_to);
			json_int(&ev, "orders", orders);
			json_int(&ev, "threshold", rules[RL04].threshold);
			json_interval(&ev, "window", &rules[RL04].window);
			hit(ctx, &base, &rules[RL04], r->ship_to, &ev, &clue);
		}
	}

	if (r->prices)
	{
		Numeric		lowest = r->prices_window.lowest;

		if (lowest && num_cmp(r->list_price, lowest) > 0)
		{
			initStringInfo(&ev);
			json_numeric(&ev, "list_price", r->list_price);
			json_numeric(&ev, "unit_price", r->unit_price);
			json_numeric(&ev, "lowest_price", lowest);
			json_interval(&ev, "window", &rules[RL05].lookback);
			hit(ctx, &base, &rules[RL05], r->item_id, &ev, &clue);
		}
	}

	if (rules[RL06].enabled && folded_title)
	{
		int			nterms = cs_matcher_nterms(cat->absolute_terms);
		bool	   *found = ctx->absolute_found;

		if (cs_matcher_scan(cat->absolute_terms, folded_title, strlen(folded_title), found) > 0)
		{
			initStringInfo(&ev);
			json_terms(&ev, "terms", cat->absolute_term_text, found, nterms);
			json_text(&ev, "item_title", r->title);
			hit(ctx, &base, &rules[RL06], r->item_id, &ev, &clue);
		}
	}

	if (rules[RL09].enabled)
	{
		const char *source = "item";
		Numeric		price = valid_reference(r->item_reference, r->day);

		if (price == NULL)
		{
			source = "category";
			price = valid_reference(r->category_reference, r->day);
		}
		/* unit_price > price * (1 + P/100), without the rounding of a division */
		if (price &&
			num_cmp(num_mul(r->unit_price, int_numeric(100)),
					num_mul(price, num_add(int_numeric(100), rules[RL09].max_markup_pct))) > 0)
		{
			initStringInfo(&ev);
			json_numeric(&ev, "unit_price", r->unit_price);
			json_numeric(&ev, "reference_price", price);
			json_text(&ev, "reference", source);
			json_numeric(&ev, "max_markup_pct", rules[RL09].max_markup_pct);
			hit(ctx, &base, &rules[RL09], r->item_id, &ev, &clue);
		}
	}

	if (rules[TP01].enabled && op->known && !op->licence_null && op->licence_valid_until >= r->day)
	{
		DateADT		horizon = cs_date_add_interval(r->day, &rules[TP01].expires_within);

		if (op->licence_valid_until <= horizon)
		{
			initStringInfo(&ev);
			json_date(&ev, "licence_valid_until", op->licence_valid_until, false);
			json_date(&ev, "sale_date", r->day, false);
			json_int(&ev, "days_left", op->licence_valid_until - r->day);
			json_interval(&ev, "expires_within", &rules[TP01].expires_within);
			hit(ctx, &base, &rules[TP01], r->operator_id, &ev, &clue);
		}
	}

	/* a warning clue of this row ended the stay: later rows see it */
	if (clue)
		op->in_sandbox = false;
}

static void
evaluate_return(EvalContext *ctx, HeapTuple tuple)
{
	const Rule *rule = &ctx->cat->rules[RL07];
	TupleDesc	desc = ctx->desc;
	const EventColumns *c = &ctx->cols;
	char	   *outcome = get_text(tuple, desc, c->outcome);
	char	   *category;
	char	   *operator_id;
	bool		delivered_null;
	bool		isnull;
	TimestampTz delivered_at;
	TimestampTz at;
	int64		return_id;
	int64		refusals;
	Datum		txn_id;
	bool		txn_id_null;
	Hit			base = {0};
	StringInfoData ev;

	/* only a qualifying refusal is checked */
	if (!rule->enabled || outcome == NULL || strcmp(outcome, "refused") != 0)
		return;
	delivered_at = DatumGetTimestampTz(get_datum(tuple, desc, c->delivered_at, &delivered_null));
	if (delivered_null)
		return;
	at = DatumGetTimestampTz(get_datum(tuple, desc, c->at, &isnull));
	category = get_text(tuple, desc, c->category);
	if (at > cs_add_interval(delivered_at, &rule->return_period) ||
		cs_category_in(ctx->cat->return_exempt_categories, category))
		return;

	operator_id = get_text(tuple, desc, c->operator_id);
	return_id = DatumGetInt64(get_datum(tuple, desc, c->id, &isnull));
	refusals = count_qualifying_refusals(rule, operator_id, at, return_id, ctx->collect != NULL);
	if (refusals < rule->threshold)
		return;

	txn_id = get_datum(tuple, desc, c->txn_id, &txn_id_null);
	initStringInfo(&ev);
	json_int(&ev, "refusals", refusals);
	json_int(&ev, "threshold", rule->threshold);
	json_interval(&ev, "window", &rule->window);
	json_interval(&ev, "return_period", &rule->return_period);
	json_datetime(&ev, "delivered_at", TimestampTzGetDatum(delivered_at), TIMESTAMPTZOID, false);
	json_datetime(&ev, "requested_at", TimestampTzGetDatum(at), TIMESTAMPTZOID, false);
	json_text(&ev, "category", category);
	if (txn_id_null)
		json_raw(&ev, "txn_id", NULL);
	else
		json_int(&ev, "txn_id", DatumGetInt64(txn_id));

	base.operator_id = operator_id;
	base.in_sandbox = ctx->collect == NULL && cs_operator_in_sandbox(operator_id);
	base.source_table = "returns";
	base.source_id = return_id;
	base.at = at;
	hit(ctx, &base, rule, operator_id, &ev, NULL);
}

static void
evaluate_complaint(EvalContext *ctx, HeapTuple tuple)
{
	const Rule *rule = &ctx->cat->rules[RL08];
	TupleDesc	desc = ctx->desc;
	const EventColumns *c = &ctx->cols;
	bool		isnull;
	char	   *operator_id;
	TimestampTz at;
	int64		complaint_id;
	int64		in_window;
	int64		in_baseline;
	Numeric		window_s;
	Numeric		baseline_s;
	Hit			base = {0};
	StringInfoData ev;

	if (!rule->enabled)
		return;
	operator_id = get_text(tuple, desc, c->operator_id);
	at = DatumGetTimestampTz(get_datum(tuple, desc, c->at, &isnull));
	complaint_id = DatumGetInt64(get_datum(tuple, desc, c->id, &isnull));
	count_complaints(rule, operator_id, at, complaint_id, ctx->collect != NULL, &in_window, &in_baseline);
	if (in_window < rule->threshold)
		return;

	/* c >= F * b * W / B, compared as c * B >= F * b * W to stay exact */
	window_s = interval_seconds(&rule->window);
	baseline_s = interval_seconds(&rule->baseline);
	if (num_cmp(num_mul(int_numeric(in_window), baseline_s),
				num_mul(num_mul(rule->factor, int_numeric(in_baseline)), window_s)) < 0)
		return;

	initStringInfo(&ev);
	json_int(&ev, "complaints", in_window);
	json_int(&ev, "threshold", rule->threshold);
	json_int(&ev, "baseline_complaints", in_baseline);
	json_numeric(&ev, "monthly_mean",
				 DatumGetNumeric(DirectFunctionCall2(numeric_round,
													 NumericGetDatum(DatumGetNumeric(DirectFunctionCall2(numeric_div,
																										 NumericGetDatum(num_mul(int_numeric(in_baseline), window_s)),
																										 NumericGetDatum(baseline_s)))),
													 Int32GetDatum(4))));
	json_numeric(&ev, "factor", rule->factor);
	json_interval(&ev, "window", &rule->window);
	json_interval(&ev, "baseline", &rule->baseline);

	base.operator_id = operator_id;
	base.in_sandbox = ctx->collect == NULL && cs_operator_in_sandbox(operator_id);
	base.source_table = "complaints";
	base.source_id = complaint_id;
	base.at = at;
	hit(ctx, &base, rule, operator_id, &ev, NULL);
}

/*
 * Adds a row to the batch.  The driver holds the operator's lock already,
 * taken before any fact about it is read (trigger.c).
 */
void
cs_evaluate_add(EvalContext *ctx, HeapTuple tuple)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->batch_context);

	if (ctx->nrows == ctx->capacity)
	{
		ctx->capacity = Max(16, ctx->capacity * 2);
		ctx->rows = ctx->rows ? repalloc(ctx->rows, sizeof(void *) * ctx->capacity)
			: palloc(sizeof(void *) * ctx->capacity);
	}
	if (ctx->kind == EVENT_TRANSACTION)
	{
		if (ctx->facts == NULL)
			ctx->facts = cs_facts_create(ctx->one_operator, ctx->judged, ctx->carry);
		ctx->rows[ctx->nrows++] = plan_transaction(ctx, tuple);
	}
	else
		ctx->rows[ctx->nrows++] = heap_copytuple(tuple);
	MemoryContextSwitchTo(old);
}

int
cs_evaluate_pending(EvalContext *ctx)
{
	return ctx->nrows;
}

typedef struct WindowAsk
{
	History    *history;
	HistoryQuestion *question;
} WindowAsk;

static int
ask_by_history(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t) ((const WindowAsk *) a)->history;
	uintptr_t	y = (uintptr_t) ((const WindowAsk *) b)->history;

	return (x > y) - (x < y);
}

/* The RL04 or RL05 windows of the batch's rows, answered key by key. */
static void
answer_windows(EvalContext *ctx, HistoryKind kind)
{
	WindowAsk  *asks = palloc(sizeof(WindowAsk) * Max(ctx->nrows, 1));
	HistoryQuestion **questions = palloc(sizeof(HistoryQuestion *) * Max(ctx->nrows, 1));
	int			nasks = 0;

	for (int i = 0; i < ctx->nrows; i++)
	{
		TxnRow	   *r = ctx->rows[i];
		History    *h = kind == HISTORY_ORDERS ? r->orders : r->prices;

		if (h)
		{
			asks[nasks].history = h;
			asks[nasks++].question = kind == HISTORY_ORDERS ? &r->orders_window : &r->prices_window;
		}
	}
	qsort(asks, nasks, sizeof(WindowAsk), ask_by_history);
	for (int first = 0, last; first < nasks; first = last)
	{
		for (last = first; last < nasks && asks[last].history == asks[first].history; last++)
			questions[last - first] = asks[last].question;
		cs_history_answer(kind, asks[first].history, questions, last - first, ctx->collect != NULL);
	}
	pfree(asks);
	pfree(questions);
}

/* Judges the rows of the batch in the order they were added, then forgets them. */
void
cs_evaluate_flush(EvalContext *ctx)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->batch_context);

	if (ctx->facts)
	{
		cs_facts_load(ctx->facts);
		answer_windows(ctx, HISTORY_ORDERS);
		answer_windows(ctx, HISTORY_PRICES);
	}
	MemoryContextSwitchTo(ctx->row_context);
	for (int i = 0; i < ctx->nrows; i++)
	{
		switch (ctx->kind)
		{
			case EVENT_TRANSACTION:
				evaluate_transaction(ctx, ctx->rows[i]);
				break;
			case EVENT_RETURN:
				evaluate_return(ctx, ctx->rows[i]);
				break;
			case EVENT_COMPLAINT:
				evaluate_complaint(ctx, ctx->rows[i]);
				break;
		}
		MemoryContextReset(ctx->row_context);
	}
	if (ctx->ledger)
		cs_ledger_batch_done(ctx->ledger);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ctx->batch_context);
	MemoryContextReset(ctx->row_context);
	ctx->nrows = 0;
	ctx->capacity = 0;
	ctx->rows = NULL;
	ctx->facts = NULL;
}
