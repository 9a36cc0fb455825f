/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  The evaluator: one inserted row in, its red-line hits out.  Every
 *	  driver (row trigger, statement trigger) feeds rows through here, so
 *	  each red line exists once.
 *
 * A row is judged against the rows stored before it plus itself.  Rows of
 * the same statement are all visible when AFTER triggers fire, so window
 * queries leave out rows of the current (sub)transaction with a larger id:
 * a multi-row INSERT or COPY gives what the same rows inserted one by one
 * in id order give.  Queries run on the latest snapshot while the
 * operator's lock is held (see cs_execute), which makes the result that of
 * sequential evaluation in commit order under every isolation level.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "credit_sandbox.h"
#include "matcher.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/jsonb.h"
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

static const char *const event_tables[] = {"transactions", "returns", "complaints"};

EventKind
cs_event_kind(const char *name)
{
	for (int i = 0; i < (int) lengthof(event_tables); i++)
		if (strcmp(name, event_tables[i]) == 0)
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
	switch (kind)
	{
		case EVENT_TRANSACTION:
			cols->id = column(desc, "txn_id");
			cols->at = column(desc, "occurred_at");
			cols->ship_to = column(desc, "ship_to");
			cols->item_id = column(desc, "item_id");
			cols->item_title = column(desc, "item_title");
			cols->category = column(desc, "category");
			cols->unit_price = column(desc, "unit_price");
			cols->list_price = column(desc, "list_price");
			break;
		case EVENT_RETURN:
			cols->id = column(desc, "return_id");
			cols->at = column(desc, "requested_at");
			cols->txn_id = column(desc, "txn_id");
			cols->category = column(desc, "category");
			cols->delivered_at = column(desc, "delivered_at");
			cols->outcome = column(desc, "outcome");
			break;
		case EVENT_COMPLAINT:
			cols->id = column(desc, "complaint_id");
			cols->at = column(desc, "received_at");
			break;
	}
}

struct EvalContext
{
	EventKind	kind;
	TupleDesc	desc;
	EventColumns cols;
	const RuleCatalog *cat;
};

EvalContext *
cs_evaluate_begin(EventKind kind, TupleDesc desc)
{
	EvalContext *ctx = palloc(sizeof(EvalContext));

	ctx->kind = kind;
	ctx->desc = desc;
	resolve_columns(kind, desc, &ctx->cols);
	ctx->cat = cs_catalog();
	return ctx;
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

char *
cs_row_operator(EvalContext *ctx, HeapTuple tuple)
{
	return get_text(tuple, ctx->desc, ctx->cols.operator_id);
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

static Datum
first_value(bool *isnull)
{
	Datum		value;

	if (SPI_processed == 0)
	{
		*isnull = true;
		SPI_freetuptable(SPI_tuptable);
		return (Datum) 0;
	}
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	if (!*isnull)
	{
		Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, 0);

		value = datumCopy(value, att->attbyval, att->attlen);
	}
	SPI_freetuptable(SPI_tuptable);
	return value;
}

static int64
query_count(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	bool		isnull;
	Datum		count;

	cs_execute(plan, values, nulls);
	count = first_value(&isnull);
	return isnull ? 0 : DatumGetInt64(count);
}

/* What the operator's master data say on the sale's legal day. */
typedef struct OperatorFacts
{
	bool		known;
	bool		registered_on_null;
	DateADT		registered_on;
	bool		licence_null;
	DateADT		licence_valid_until;
	bool		has_permit;		/* holds the permit of the sale's category */
	bool		in_sandbox;
	char	   *lists;			/* JSON array of lists in force, or NULL */
} OperatorFacts;

static void
load_operator_facts(const char *operator_id, DateADT day, const char *permit, OperatorFacts *f)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', permit ? ' ' : 'n'};
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;

	if (plan == NULL)
	{
		Oid			types[3] = {TEXTOID, DATEOID, TEXTOID};

		plan = cs_prepare(psprintf(
								   "SELECT o.operator_id IS NOT NULL, o.registered_on, o.licence_valid_until,"
								   "       coalesce($3 = ANY (o.permits), false),"
								   "       EXISTS (SELECT FROM %s m WHERE m.operator_id = $1 AND m.exited_at IS NULL),"
								   "       (SELECT pg_catalog.jsonb_agg(DISTINCT l.list ORDER BY l.list)::text FROM %s l"
								   "         WHERE l.operator_id = $1 AND l.listed_on <= $2"
								   "           AND (l.removed_on IS NULL OR $2 < l.removed_on))"
								   "  FROM (SELECT) AS one LEFT JOIN %s o ON o.operator_id = $1",
								   cs_table("sandbox_memberships"), cs_table("operator_lists"),
								   cs_table("operators")),
						  3, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = DateADTGetDatum(day);
	values[2] = permit ? CStringGetTextDatum(permit) : (Datum) 0;
	cs_execute(plan, values, nulls);
	if (SPI_processed != 1)
		elog(ERROR, "credit_sandbox: operator query returned " UINT64_FORMAT " rows", SPI_processed);
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	f->known = DatumGetBool(SPI_getbinval(row, desc, 1, &isnull));
	f->registered_on = DatumGetDateADT(SPI_getbinval(row, desc, 2, &f->registered_on_null));
	f->licence_valid_until = DatumGetDateADT(SPI_getbinval(row, desc, 3, &f->licence_null));
	f->has_permit = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
	f->in_sandbox = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
	f->lists = SPI_getvalue(row, desc, 6);
	SPI_freetuptable(SPI_tuptable);
}

/* Orders of the operator to this address in (t - window, t]. */
static int64
count_orders_to_address(const char *operator_id, const char *ship_to, TimestampTz at,
						const Interval *window, int64 txn_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, XIDOID};

		plan = cs_prepare(psprintf(
								   "SELECT count(*) FROM %s t"
								   " WHERE t.operator_id = $1 AND t.ship_to = $2"
								   "   AND t.occurred_at > $3 AND t.occurred_at <= $4"
								   "   AND (t.txn_id <= $5 OR NOT (t.xmin = $6))",
								   cs_table("transactions")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = CStringGetTextDatum(ship_to);
	values[2] = TimestampTzGetDatum(cs_sub_interval(at, window));
	values[3] = TimestampTzGetDatum(at);
	values[4] = Int64GetDatum(txn_id);
	values[5] = TransactionIdGetDatum(GetCurrentTransactionId());
	return query_count(plan, values, NULL);
}

/* Lowest unit price of the operator's item in [t - lookback, t), earlier rows only. */
static Numeric
lowest_recent_price(const char *operator_id, const char *item_id, TimestampTz at,
					const Interval *lookback, int64 txn_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];
	Datum		lowest;
	bool		isnull;

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, XIDOID};

		plan = cs_prepare(psprintf(
								   "SELECT min(t.unit_price) FROM %s t"
								   " WHERE t.operator_id = $1 AND t.item_id = $2"
								   "   AND t.occurred_at >= $3 AND t.occurred_at < $4"
								   "   AND (t.txn_id < $5 OR NOT (t.xmin = $6))",
								   cs_table("transactions")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = CStringGetTextDatum(item_id);
	values[2] = TimestampTzGetDatum(cs_sub_interval(at, lookback));
	values[3] = TimestampTzGetDatum(at);
	values[4] = Int64GetDatum(txn_id);
	values[5] = TransactionIdGetDatum(GetCurrentTransactionId());
	cs_execute(plan, values, NULL);
	lowest = first_value(&isnull);
	return isnull ? NULL : DatumGetNumeric(lowest);
}

/*
 * The reference price valid on the day: the item's, else the category's;
 * among several, the latest valid_from (then the highest price).
 */
static Numeric
reference_price(const char *item_id, const char *category, DateADT day, const char **source)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[3];
	char		nulls[3] = {' ', category ? ' ' : 'n', ' '};
	Numeric		price = NULL;

	if (plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, DATEOID};
		const char *valid = "(p.valid_from IS NULL OR p.valid_from <= $3) AND (p.valid_to IS NULL OR $3 <= p.valid_to)"
			" ORDER BY p.valid_from DESC NULLS LAST, p.price DESC LIMIT 1";
		char	   *prices = cs_table("reference_prices");

		plan = cs_prepare(psprintf(
								   "SELECT price, source FROM ("
								   " (SELECT p.price, 'item' AS source, 1 AS rank FROM %s p WHERE p.item_id = $1 AND %s)"
								   " UNION ALL"
								   " (SELECT p.price, 'category', 2 FROM %s p WHERE p.category = $2 AND %s)"
								   ") AS candidates ORDER BY rank LIMIT 1",
								   prices, valid, prices, valid),
						  3, types);
	}
	values[0] = CStringGetTextDatum(item_id);
	values[1] = category ? CStringGetTextDatum(category) : (Datum) 0;
	values[2] = DateADTGetDatum(day);
	cs_execute(plan, values, nulls);
	if (SPI_processed > 0)
	{
		bool		isnull;

		price = DatumGetNumericCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*source = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	SPI_freetuptable(SPI_tuptable);
	return price;
}

/* Qualifying refusals of the operator with requested_at in (t - window, t]. */
static int64
count_qualifying_refusals(const Rule *rule, const char *operator_id, TimestampTz at, int64 return_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, INT8OID, XIDOID};

		plan = cs_prepare(psprintf(
								   "SELECT count(*) FROM %s x"
								   " WHERE x.operator_id = $1 AND x.outcome = 'refused'"
								   "   AND x.requested_at > $2 AND x.requested_at <= $3"
								   "   AND x.delivered_at IS NOT NULL AND x.requested_at <= x.delivered_at + $4"
								   "   AND NOT EXISTS (SELECT FROM %s e WHERE e.category = x.category)"
								   "   AND (x.return_id <= $5 OR NOT (x.xmin = $6))",
								   cs_table("returns"), cs_table("return_exempt_categories")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = TimestampTzGetDatum(cs_sub_interval(at, &rule->window));
	values[2] = TimestampTzGetDatum(at);
	values[3] = IntervalPGetDatum(&rule->return_period);
	values[4] = Int64GetDatum(return_id);
	values[5] = TransactionIdGetDatum(GetCurrentTransactionId());
	return query_count(plan, values, NULL);
}

/* Complaints in the window (t - W, t] and in the baseline (t - W - B, t - W]. */
static void
count_complaints(const Rule *rule, const char *operator_id, TimestampTz at, int64 complaint_id,
				 int64 *in_window, int64 *in_baseline)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];
	TimestampTz window_start = cs_sub_interval(at, &rule->window);
	bool		isnull;

	if (plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, XIDOID};

		plan = cs_prepare(psprintf(
								   "SELECT count(*) FILTER (WHERE c.received_at > $3),"
								   "       count(*) FILTER (WHERE c.received_at <= $3)"
								   "  FROM %s c"
								   " WHERE c.operator_id = $1 AND c.received_at > $2 AND c.received_at <= $4"
								   "   AND (c.complaint_id <= $5 OR NOT (c.xmin = $6))",
								   cs_table("complaints")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = TimestampTzGetDatum(cs_sub_interval(window_start, &rule->baseline));
	values[2] = TimestampTzGetDatum(window_start);
	values[3] = TimestampTzGetDatum(at);
	values[4] = Int64GetDatum(complaint_id);
	values[5] = TransactionIdGetDatum(GetCurrentTransactionId());
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

static void
hit(Hit *base, const Rule *rule, const char *subject_key, StringInfo evidence)
{
	base->rule = rule;
	base->subject_key = subject_key;
	base->evidence = json_finish(evidence);
	cs_record_hit(base);
}

static void
evaluate_transaction(EvalContext *ctx, HeapTuple tuple)
{
	const RuleCatalog *cat = ctx->cat;
	const Rule *rules = cat->rules;
	TupleDesc	desc = ctx->desc;
	const EventColumns *c = &ctx->cols;
	bool		isnull;
	char	   *operator_id = get_text(tuple, desc, c->operator_id);
	char	   *item_id = get_text(tuple, desc, c->item_id);
	char	   *title = get_text(tuple, desc, c->item_title);
	char	   *category = get_text(tuple, desc, c->category);
	char	   *ship_to = get_text(tuple, desc, c->ship_to);
	int64		txn_id = DatumGetInt64(get_datum(tuple, desc, c->id, &isnull));
	TimestampTz at = DatumGetTimestampTz(get_datum(tuple, desc, c->at, &isnull));
	Numeric		unit_price = DatumGetNumeric(get_datum(tuple, desc, c->unit_price, &isnull));
	bool		list_price_null;
	Datum		list_price_datum = get_datum(tuple, desc, c->list_price, &list_price_null);
	Numeric		list_price = list_price_null ? NULL : DatumGetNumeric(list_price_datum);
	DateADT		day = cs_legal_date(at);
	const char *permit = cs_category_permit(cat, category);
	char	   *folded_title = title ? cs_fold_case(title, strlen(title)) : NULL;
	OperatorFacts op;
	Hit			base = {0};
	StringInfoData ev;

	cs_lock_operator(operator_id);
	load_operator_facts(operator_id, day, permit, &op);

	base.operator_id = operator_id;
	base.in_sandbox = op.in_sandbox;
	base.source_table = "transactions";
	base.source_id = txn_id;
	base.at = at;

	if (rules[RL01].enabled)
	{
		StringInfoData reasons;

		initStringInfo(&reasons);
		if (!op.known || (!op.registered_on_null && day < op.registered_on))
			appendStringInfoString(&reasons, ",\"not_registered\"");
		if (op.known && op.licence_null)
			appendStringInfoString(&reasons, ",\"no_licence\"");
		else if (op.known && op.licence_valid_until < day)
			appendStringInfoString(&reasons, ",\"licence_expired\"");
		if (permit && !op.has_permit)
			appendStringInfoString(&reasons, ",\"missing_permit\"");
		if (reasons.len > 0)
		{
			reasons.data[0] = '[';
			appendStringInfoChar(&reasons, ']');
			initStringInfo(&ev);
			json_raw(&ev, "reasons", reasons.data);
			json_date(&ev, "sale_date", day, false);
			json_date(&ev, "registered_on", op.registered_on, op.registered_on_null);
			json_date(&ev, "licence_valid_until", op.licence_valid_until, op.licence_null);
			json_text(&ev, "category", category);
			json_text(&ev, "permit_required", permit);
			hit(&base, &rules[RL01], operator_id, &ev);
		}
	}

	if (rules[RL02].enabled && op.lists)
	{
		initStringInfo(&ev);
		json_raw(&ev, "lists", op.lists);
		json_date(&ev, "sale_date", day, false);
		hit(&base, &rules[RL02], operator_id, &ev);
	}

	if (rules[RL03].enabled)
	{
		bool		banned_category = cs_category_in(cat->prohibited_categories, category);
		int			nterms = matcher_nterms(cat->prohibited_terms);
		bool	   *found = palloc0(sizeof(bool) * (nterms + 1));
		int			nfound = folded_title
			? matcher_scan(cat->prohibited_terms, folded_title, strlen(folded_title), found) : 0;

		if (banned_category || nfound > 0)
		{
			initStringInfo(&ev);
			json_text(&ev, "category", category);
			json_raw(&ev, "prohibited_category", banned_category ? "true" : "false");
			json_terms(&ev, "terms", cat->prohibited_term_text, found, nterms);
			json_text(&ev, "item_title", title);
			hit(&base, &rules[RL03], item_id, &ev);
		}
	}

	if (rules[RL04].enabled && ship_to)
	{
		int64		orders = count_orders_to_address(operator_id, ship_to, at, &rules[RL04].window, txn_id);

		if (orders >= rules[RL04].threshold)
		{
			initStringInfo(&ev);
			json_text(&ev, "ship_to", ship_to);
			json_int(&ev, "orders", orders);
			json_int(&ev, "threshold", rules[RL04].threshold);
			json_interval(&ev, "window", &rules[RL04].window);
			hit(&base, &rules[RL04], ship_to, &ev);
		}
	}

	if (rules[RL05].enabled && list_price)
	{
		Numeric		lowest = lowest_recent_price(operator_id, item_id, at, &rules[RL05].lookback, txn_id);

		if (lowest && num_cmp(list_price, lowest) > 0)
		{
			initStringInfo(&ev);
			json_numeric(&ev, "list_price", list_price);
			json_numeric(&ev, "unit_price", unit_price);
			json_numeric(&ev, "lowest_price", lowest);
			json_interval(&ev, "window", &rules[RL05].lookback);
			hit(&base, &rules[RL05], item_id, &ev);
		}
	}

	if (rules[RL06].enabled && folded_title)
	{
		int			nterms = matcher_nterms(cat->absolute_terms);
		bool	   *found = palloc0(sizeof(bool) * (nterms + 1));

		if (matcher_scan(cat->absolute_terms, folded_title, strlen(folded_title), found) > 0)
		{
			initStringInfo(&ev);
			json_terms(&ev, "terms", cat->absolute_term_text, found, nterms);
			json_text(&ev, "item_title", title);
			hit(&base, &rules[RL06], item_id, &ev);
		}
	}

	if (rules[RL09].enabled)
	{
		const char *source = NULL;
		Numeric		price = reference_price(item_id, category, day, &source);

		/* unit_price > price * (1 + P/100), without the rounding of a division */
		if (price &&
			num_cmp(num_mul(unit_price, int_numeric(100)),
					num_mul(price, num_add(int_numeric(100), rules[RL09].max_markup_pct))) > 0)
		{
			initStringInfo(&ev);
			json_numeric(&ev, "unit_price", unit_price);
			json_numeric(&ev, "reference_price", price);
			json_text(&ev, "reference", source);
			json_numeric(&ev, "max_markup_pct", rules[RL09].max_markup_pct);
			hit(&base, &rules[RL09], item_id, &ev);
		}
	}

	if (rules[TP01].enabled && op.known && !op.licence_null && op.licence_valid_until >= day)
	{
		DateADT		horizon = DatumGetDateADT(DirectFunctionCall1(timestamp_date,
																  DirectFunctionCall2(date_pl_interval,
																					  DateADTGetDatum(day),
																					  IntervalPGetDatum(&rules[TP01].expires_within))));

		if (op.licence_valid_until <= horizon)
		{
			initStringInfo(&ev);
			json_date(&ev, "licence_valid_until", op.licence_valid_until, false);
			json_date(&ev, "sale_date", day, false);
			json_int(&ev, "days_left", op.licence_valid_until - day);
			json_interval(&ev, "expires_within", &rules[TP01].expires_within);
			hit(&base, &rules[TP01], operator_id, &ev);
		}
	}
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
	cs_lock_operator(operator_id);
	refusals = count_qualifying_refusals(rule, operator_id, at, return_id);
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
	base.in_sandbox = cs_operator_in_sandbox(operator_id);
	base.source_table = "returns";
	base.source_id = return_id;
	base.at = at;
	hit(&base, rule, operator_id, &ev);
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
	cs_lock_operator(operator_id);
	count_complaints(rule, operator_id, at, complaint_id, &in_window, &in_baseline);
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
	base.in_sandbox = cs_operator_in_sandbox(operator_id);
	base.source_table = "complaints";
	base.source_id = complaint_id;
	base.at = at;
	hit(&base, rule, operator_id, &ev);
}

void
cs_evaluate_row(EvalContext *ctx, HeapTuple tuple)
{
	switch (ctx->kind)
	{
		case EVENT_TRANSACTION:
			evaluate_transaction(ctx, tuple);
			break;
		case EVENT_RETURN:
			evaluate_return(ctx, tuple);
			break;
		case EVENT_COMPLAINT:
			evaluate_complaint(ctx, tuple);
			break;
	}
}
