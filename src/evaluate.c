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
 * instead of recorded (EVAL_REPLAY).
 *
 * Each red line is a pair of functions in the table red_lines: what it
 * asks of the facts when a row is added, and whether the row hits it once
 * the facts are loaded.  The windows it looks back on are history.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "evaluate.h"
#include "evidence.h"
#include "facts.h"
#include "matcher.h"
#include "settings.h"
#include "spi_util.h"

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
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

/* A row, parsed, with handles on the facts it is judged on. */
typedef struct EventRow
{
	int64		id;
	char	   *operator_id;
	TimestampTz at;
	char	   *category;		/* transactions, returns */
	/* transactions */
	DateADT		day;
	char	   *ship_to;
	char	   *item_id;
	char	   *title;
	char	   *folded_title;	/* while the row is judged */
	Numeric		unit_price;
	Numeric		list_price;
	const char *permit;			/* required by the category, or NULL */
	OperatorFacts *op;
	PriceList  *item_reference;
	PriceList  *category_reference;
	/* returns */
	char	   *outcome;
	bool		delivered_null;
	TimestampTz delivered_at;
	bool		txn_id_null;
	int64		txn_id;
	/* the windows the row looks back on, or NULL; answered per batch */
	History    *history[NUM_HISTORY_KINDS];
	HistoryQuestion window[NUM_HISTORY_KINDS];
} EventRow;

/*
 * Live: rows just inserted, hits recorded as warnings.  Replay: stored
 * rows judged again, every stored row ordered by id, hits handed to a
 * collector and nothing written.
 */
typedef enum EvalMode
{
	EVAL_LIVE,
	EVAL_REPLAY
} EvalMode;

struct EvalContext
{
	EventKind	kind;
	EvalMode	mode;
	TupleDesc	desc;
	EventColumns cols;
	const RuleCatalog *cat;
	MemoryContext batch_context;	/* the rows and facts of one batch */
	int			nrows;
	int			capacity;
	EventRow  **rows;
	Facts	   *facts;
	HistoryCarry *carry;		/* long histories kept between batches */
	Ledger	   *ledger;			/* live */
	MemoryContext context;		/* lives as long as the evaluator */
	bool		one_operator;	/* see cs_evaluate_begin */
	Oid			judged;			/* the relation the rows are in, or invalid */
	HitCollector collect;		/* replay: hits go here */
	void	   *collect_arg;
	MemoryContext row_context;	/* what judging one row allocates */
	bool	   *prohibited_found;	/* matcher results, reused row after row */
	bool	   *absolute_found;
};

static EvalContext *
evaluator_create(EventKind kind, EvalMode mode, TupleDesc desc, Oid judged, const RuleCatalog *cat,
				 bool one_operator, HitCollector collect, void *collect_arg)
{
	EvalContext *ctx = palloc(sizeof(EvalContext));

	ctx->kind = kind;
	ctx->mode = mode;
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
	return evaluator_create(kind, EVAL_LIVE, RelationGetDescr(judged), RelationGetRelid(judged), cs_catalog(),
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
	return evaluator_create(kind, EVAL_REPLAY, desc, InvalidOid, cat, false, collect, collect_arg);
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

/* ---------------------------------------------------------------- rows */

/* Parses a row; a transaction also asks for its operator's facts. */
static EventRow *
parse_row(EvalContext *ctx, HeapTuple tuple)
{
	TupleDesc	desc = ctx->desc;
	const EventColumns *c = &ctx->cols;
	EventRow   *r = palloc0(sizeof(EventRow));
	bool		isnull;
	Datum		d;

	r->id = DatumGetInt64(get_datum(tuple, desc, c->id, &isnull));
	r->operator_id = get_text(tuple, desc, c->operator_id);
	r->at = DatumGetTimestampTz(get_datum(tuple, desc, c->at, &isnull));
	switch (ctx->kind)
	{
		case EVENT_TRANSACTION:
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
			break;
		case EVENT_RETURN:
			r->outcome = get_text(tuple, desc, c->outcome);
			r->category = get_text(tuple, desc, c->category);
			r->delivered_at = DatumGetTimestampTz(get_datum(tuple, desc, c->delivered_at, &r->delivered_null));
			r->txn_id = DatumGetInt64(get_datum(tuple, desc, c->txn_id, &r->txn_id_null));
			break;
		case EVENT_COMPLAINT:
			break;
	}
	return r;
}

/* A row's window on a history of kind, in (from, to] (prices: [from, to)). */
static void
ask_window(EventRow *r, HistoryKind kind, History *h, TimestampTz from, TimestampTz to)
{
	r->history[kind] = h;
	r->window[kind].id = r->id;
	r->window[kind].from = from;
	r->window[kind].to = to;
}

static bool
holds_permit(const OperatorFacts *op, const char *permit)
{
	for (int i = 0; i < op->npermits; i++)
		if (op->permits[i] && strcmp(op->permits[i], permit) == 0)
			return true;
	return false;
}

/* The lists the operator is on that day, into in_force (NUM_LISTS); how many. */
#define NUM_LISTS 2

static int
lists_in_force(const OperatorFacts *op, DateADT day, const char **in_force)
{
	static const char *const lists[NUM_LISTS] = {"abnormal", "dishonest"};
	int			n = 0;

	for (int l = 0; l < NUM_LISTS; l++)
		for (int i = 0; i < op->nlists; i++)
		{
			const ListEntry *e = &op->lists[i];

			if (strcmp(e->list, lists[l]) == 0 && e->listed_on <= day &&
				(e->removed_null || day < e->removed_on))
			{
				in_force[n++] = lists[l];
				break;
			}
		}
	return n;
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

/* ---------------------------------------------------------------- red lines */

/*
 * A red line's ask: the facts a row will be judged on, requested when the
 * row is added.  Its judge: whether the row hits it, and if so the hit's
 * subject and evidence (ev is initialised by the judge that hits).
 */
typedef void (*RedLineAsk) (EvalContext *ctx, EventRow *r, const Rule *rule);
typedef bool (*RedLineJudge) (EvalContext *ctx, const EventRow *r, const Rule *rule,
							  const char **subject, Evidence *ev);

/* RL01: selling without registration, licence or the category's permit. */
static bool
judge_rl01(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const OperatorFacts *op = r->op;
	const char *reasons[3];
	int			nreasons = 0;

	if (!op->known || (!op->registered_on_null && r->day < op->registered_on))
		reasons[nreasons++] = "not_registered";
	if (op->known && op->licence_null)
		reasons[nreasons++] = "no_licence";
	else if (op->known && op->licence_valid_until < r->day)
		reasons[nreasons++] = "licence_expired";
	if (r->permit && !(op->known && holds_permit(op, r->permit)))
		reasons[nreasons++] = "missing_permit";
	if (nreasons == 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_strings(ev, "reasons", reasons, nreasons, NULL);
	cs_evidence_date(ev, "sale_date", r->day, false);
	cs_evidence_date(ev, "registered_on", op->registered_on, op->registered_on_null);
	cs_evidence_date(ev, "licence_valid_until", op->licence_valid_until, op->licence_null);
	cs_evidence_text(ev, "category", r->category);
	cs_evidence_text(ev, "permit_required", r->permit);
	*subject = r->operator_id;
	return true;
}

/* RL02: selling while on the abnormal or dishonest list. */
static bool
judge_rl02(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const char *lists[NUM_LISTS];
	int			nlists = lists_in_force(r->op, r->day, lists);

	if (nlists == 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_strings(ev, "lists", lists, nlists, NULL);
	cs_evidence_date(ev, "sale_date", r->day, false);
	*subject = r->operator_id;
	return true;
}

/* RL03: a prohibited category, or a prohibited term in the title. */
static bool
judge_rl03(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const RuleCatalog *cat = ctx->cat;
	bool		banned_category = cs_category_in(cat->prohibited_categories, r->category);
	bool	   *found = ctx->prohibited_found;
	int			nfound = 0;

	/* found[] is reused row after row: a row without a title must clear it */
	if (r->folded_title)
		nfound = cs_matcher_scan(cat->prohibited_terms, r->folded_title, strlen(r->folded_title), found);
	else
		memset(found, 0, sizeof(bool) * cs_matcher_nterms(cat->prohibited_terms));

	if (!banned_category && nfound == 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_text(ev, "category", r->category);
	cs_evidence_bool(ev, "prohibited_category", banned_category);
	cs_evidence_strings(ev, "terms", (const char *const *) cat->prohibited_term_text,
						cs_matcher_nterms(cat->prohibited_terms), found);
	cs_evidence_text(ev, "item_title", r->title);
	*subject = r->item_id;
	return true;
}

/* RL04: too many orders to one address in the window. */
static void
ask_rl04(EvalContext *ctx, EventRow *r, const Rule *rule)
{
	TimestampTz from;

	if (r->ship_to == NULL)
		return;
	from = cs_sub_interval(r->at, &rule->window);
	ask_window(r, HISTORY_ORDERS,
			   cs_facts_orders_to_address(ctx->facts, r->operator_id, r->ship_to, from, r->at),
			   from, r->at);
}

static bool
judge_rl04(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	int64		orders = r->window[HISTORY_ORDERS].count;

	if (r->history[HISTORY_ORDERS] == NULL || orders < rule->threshold)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_text(ev, "ship_to", r->ship_to);
	cs_evidence_int(ev, "orders", orders);
	cs_evidence_int(ev, "threshold", rule->threshold);
	cs_evidence_interval(ev, "window", &rule->window);
	*subject = r->ship_to;
	return true;
}

/* RL05: a list price above the lowest price of the lookback. */
static void
ask_rl05(EvalContext *ctx, EventRow *r, const Rule *rule)
{
	TimestampTz from;

	if (r->list_price == NULL)
		return;
	from = cs_sub_interval(r->at, &rule->lookback);
	ask_window(r, HISTORY_PRICES,
			   cs_facts_item_prices(ctx->facts, r->operator_id, r->item_id, from, r->at),
			   from, r->at);
}

static bool
judge_rl05(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	Numeric		lowest = r->window[HISTORY_PRICES].lowest;

	if (r->history[HISTORY_PRICES] == NULL || lowest == NULL || num_cmp(r->list_price, lowest) <= 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_numeric(ev, "list_price", r->list_price);
	cs_evidence_numeric(ev, "unit_price", r->unit_price);
	cs_evidence_numeric(ev, "lowest_price", lowest);
	cs_evidence_interval(ev, "window", &rule->lookback);
	*subject = r->item_id;
	return true;
}

/* RL06: an absolute term in the title. */
static bool
judge_rl06(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const RuleCatalog *cat = ctx->cat;
	bool	   *found = ctx->absolute_found;

	if (r->folded_title == NULL ||
		cs_matcher_scan(cat->absolute_terms, r->folded_title, strlen(r->folded_title), found) == 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_strings(ev, "terms", (const char *const *) cat->absolute_term_text,
						cs_matcher_nterms(cat->absolute_terms), found);
	cs_evidence_text(ev, "item_title", r->title);
	*subject = r->item_id;
	return true;
}

/*
 * RL07: too many refused returns in the window.  Only a qualifying refusal
 * (requested within the return period of its delivery, in a category
 * that is not exempt) is checked.
 */
static void
ask_rl07(EvalContext *ctx, EventRow *r, const Rule *rule)
{
	TimestampTz from;

	if (r->outcome == NULL || strcmp(r->outcome, "refused") != 0 || r->delivered_null ||
		r->at > cs_add_interval(r->delivered_at, &rule->return_period) ||
		cs_category_in(ctx->cat->return_exempt_categories, r->category))
		return;
	from = cs_sub_interval(r->at, &rule->window);
	ask_window(r, HISTORY_REFUSALS,
			   cs_facts_refusals(ctx->facts, r->operator_id, from, r->at, &rule->return_period),
			   from, r->at);
}

static bool
judge_rl07(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	int64		refusals = r->window[HISTORY_REFUSALS].count;

	if (r->history[HISTORY_REFUSALS] == NULL || refusals < rule->threshold)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_int(ev, "refusals", refusals);
	cs_evidence_int(ev, "threshold", rule->threshold);
	cs_evidence_interval(ev, "window", &rule->window);
	cs_evidence_interval(ev, "return_period", &rule->return_period);
	cs_evidence_timestamptz(ev, "delivered_at", r->delivered_at);
	cs_evidence_timestamptz(ev, "requested_at", r->at);
	cs_evidence_text(ev, "category", r->category);
	if (r->txn_id_null)
		cs_evidence_null(ev, "txn_id");
	else
		cs_evidence_int(ev, "txn_id", r->txn_id);
	*subject = r->operator_id;
	return true;
}

/* RL08: complaints in the window (t - W, t] against the baseline (t - W - B, t - W]. */
static void
ask_rl08(EvalContext *ctx, EventRow *r, const Rule *rule)
{
	TimestampTz window_start = cs_sub_interval(r->at, &rule->window);
	TimestampTz baseline_start = cs_sub_interval(window_start, &rule->baseline);

	ask_window(r, HISTORY_COMPLAINTS,
			   cs_facts_complaints(ctx->facts, r->operator_id, baseline_start, r->at),
			   window_start, r->at);
	r->window[HISTORY_COMPLAINTS].baseline_from = baseline_start;
}

static bool
judge_rl08(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	int64		in_window = r->window[HISTORY_COMPLAINTS].count;
	int64		in_baseline = r->window[HISTORY_COMPLAINTS].baseline_count;
	Numeric		window_s;
	Numeric		baseline_s;
	Numeric		mean;

	if (in_window < rule->threshold)
		return false;

	/* c >= F * b * W / B, compared as c * B >= F * b * W to stay exact */
	window_s = interval_seconds(&rule->window);
	baseline_s = interval_seconds(&rule->baseline);
	if (num_cmp(num_mul(int_numeric(in_window), baseline_s),
				num_mul(num_mul(rule->factor, int_numeric(in_baseline)), window_s)) < 0)
		return false;

	cs_evidence_begin(ev);
	cs_evidence_int(ev, "complaints", in_window);
	cs_evidence_int(ev, "threshold", rule->threshold);
	cs_evidence_int(ev, "baseline_complaints", in_baseline);
	/* the baseline's count scaled to the window's length, to 4 places */
	mean = DatumGetNumeric(DirectFunctionCall2(numeric_div,
											   NumericGetDatum(num_mul(int_numeric(in_baseline), window_s)),
											   NumericGetDatum(baseline_s)));
	cs_evidence_numeric(ev, "monthly_mean",
						DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(mean), Int32GetDatum(4))));
	cs_evidence_numeric(ev, "factor", rule->factor);
	cs_evidence_interval(ev, "window", &rule->window);
	cs_evidence_interval(ev, "baseline", &rule->baseline);
	*subject = r->operator_id;
	return true;
}

/* RL09: a unit price above the reference price valid that day plus the markup. */
static void
ask_rl09(EvalContext *ctx, EventRow *r, const Rule *rule)
{
	r->item_reference = cs_facts_item_reference(ctx->facts, r->item_id);
	if (r->category)
		r->category_reference = cs_facts_category_reference(ctx->facts, r->category);
}

static bool
judge_rl09(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const char *source = "item";
	Numeric		price = valid_reference(r->item_reference, r->day);

	if (price == NULL)
	{
		source = "category";
		price = valid_reference(r->category_reference, r->day);
	}
	/* unit_price > price * (1 + P/100), without the rounding of a division */
	if (price == NULL ||
		num_cmp(num_mul(r->unit_price, int_numeric(100)),
				num_mul(price, num_add(int_numeric(100), rule->max_markup_pct))) <= 0)
		return false;
	cs_evidence_begin(ev);
	cs_evidence_numeric(ev, "unit_price", r->unit_price);
	cs_evidence_numeric(ev, "reference_price", price);
	cs_evidence_text(ev, "reference", source);
	cs_evidence_numeric(ev, "max_markup_pct", rule->max_markup_pct);
	*subject = r->item_id;
	return true;
}

/* TP01: a licence about to expire (an administrative tip, not a warning). */
static bool
judge_tp01(EvalContext *ctx, const EventRow *r, const Rule *rule, const char **subject, Evidence *ev)
{
	const OperatorFacts *op = r->op;

	if (!op->known || op->licence_null || op->licence_valid_until < r->day ||
		op->licence_valid_until > cs_date_add_interval(r->day, &rule->expires_within))
		return false;
	cs_evidence_begin(ev);
	cs_evidence_date(ev, "licence_valid_until", op->licence_valid_until, false);
	cs_evidence_date(ev, "sale_date", r->day, false);
	cs_evidence_int(ev, "days_left", op->licence_valid_until - r->day);
	cs_evidence_interval(ev, "expires_within", &rule->expires_within);
	*subject = r->operator_id;
	return true;
}

/* Every red line, in the order a row's hits are recorded. */
static const struct
{
	RuleCode	code;
	EventKind	kind;
	RedLineAsk	ask;			/* or NULL: the row's own columns and operator suffice */
	RedLineJudge judge;
}			red_lines[] =
{
	{RL01, EVENT_TRANSACTION, NULL, judge_rl01},
	{RL02, EVENT_TRANSACTION, NULL, judge_rl02},
	{RL03, EVENT_TRANSACTION, NULL, judge_rl03},
	{RL04, EVENT_TRANSACTION, ask_rl04, judge_rl04},
	{RL05, EVENT_TRANSACTION, ask_rl05, judge_rl05},
	{RL06, EVENT_TRANSACTION, NULL, judge_rl06},
	{RL09, EVENT_TRANSACTION, ask_rl09, judge_rl09},
	{TP01, EVENT_TRANSACTION, NULL, judge_tp01},
	{RL07, EVENT_RETURN, ask_rl07, judge_rl07},
	{RL08, EVENT_COMPLAINT, ask_rl08, judge_rl08},
};

/* ---------------------------------------------------------------- judging */

/* Records a hit, or hands it to the replay's collector; *clue: it landed on a warning clue. */
static void
hit(EvalContext *ctx, Hit *base, const Rule *rule, const char *subject_key, Evidence *evidence, bool *clue)
{
	bool		is_clue;

	base->rule = rule;
	base->subject_key = subject_key;
	base->evidence = cs_evidence_finish(evidence);
	if (ctx->mode == EVAL_REPLAY)
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
	if (is_clue)
		*clue = true;
}

/*
 * Judges one row against every enabled red line of its table.  A
 * transaction's sandbox membership comes with its operator's facts, read
 * once for the row, so all its hits see the same; a return or a complaint,
 * which seldom hits, reads it when it does (live only).
 */
static void
judge_row(EvalContext *ctx, EventRow *r)
{
	const Rule *rules = ctx->cat->rules;
	Hit			base = {0};
	bool		clue = false;

	base.operator_id = r->operator_id;
	base.in_sandbox = r->op ? r->op->in_sandbox : false;
	base.source_table = cs_event_tables[ctx->kind].name;
	base.source_id = r->id;
	base.at = r->at;
	if (ctx->kind == EVENT_TRANSACTION)
		r->folded_title = r->title ? cs_fold_case(r->title, strlen(r->title)) : NULL;

	for (int i = 0; i < (int) lengthof(red_lines); i++)
	{
		const Rule *rule = &rules[red_lines[i].code];
		const char *subject;
		Evidence	ev;

		if (red_lines[i].kind != ctx->kind || !rule->enabled ||
			!red_lines[i].judge(ctx, r, rule, &subject, &ev))
			continue;
		if (r->op == NULL)
			base.in_sandbox = ctx->mode == EVAL_LIVE && cs_operator_in_sandbox(r->operator_id);
		hit(ctx, &base, rule, subject, &ev, &clue);
	}

	/* a warning clue of this row ended the stay: later rows see it */
	if (clue && r->op)
		r->op->in_sandbox = false;
}

/*
 * Adds a row to the batch and asks for the facts it will be judged on.
 * The driver holds the operator's lock already, taken before any fact
 * about it is read (trigger.c).
 */
void
cs_evaluate_add(EvalContext *ctx, HeapTuple tuple)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->batch_context);
	EventRow   *r;

	if (ctx->nrows == ctx->capacity)
	{
		ctx->capacity = Max(16, ctx->capacity * 2);
		ctx->rows = ctx->rows ? repalloc(ctx->rows, sizeof(EventRow *) * ctx->capacity)
			: palloc(sizeof(EventRow *) * ctx->capacity);
	}
	if (ctx->facts == NULL)
		ctx->facts = cs_facts_create(ctx->one_operator, ctx->judged, ctx->carry);
	r = parse_row(ctx, tuple);
	for (int i = 0; i < (int) lengthof(red_lines); i++)
		if (red_lines[i].kind == ctx->kind && red_lines[i].ask && ctx->cat->rules[red_lines[i].code].enabled)
			red_lines[i].ask(ctx, r, &ctx->cat->rules[red_lines[i].code]);
	ctx->rows[ctx->nrows++] = r;
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

/* The batch's windows of one kind, answered key by key. */
static void
answer_windows(EvalContext *ctx, HistoryKind kind)
{
	WindowAsk  *asks = palloc(sizeof(WindowAsk) * Max(ctx->nrows, 1));
	HistoryQuestion **questions = palloc(sizeof(HistoryQuestion *) * Max(ctx->nrows, 1));
	int			nasks = 0;

	for (int i = 0; i < ctx->nrows; i++)
	{
		EventRow   *r = ctx->rows[i];

		if (r->history[kind])
		{
			asks[nasks].history = r->history[kind];
			asks[nasks++].question = &r->window[kind];
		}
	}
	qsort(asks, nasks, sizeof(WindowAsk), ask_by_history);
	for (int first = 0, last; first < nasks; first = last)
	{
		for (last = first; last < nasks && asks[last].history == asks[first].history; last++)
			questions[last - first] = asks[last].question;
		cs_history_answer(kind, asks[first].history, questions, last - first, ctx->mode == EVAL_REPLAY);
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
		for (int kind = 0; kind < NUM_HISTORY_KINDS; kind++)
			answer_windows(ctx, (HistoryKind) kind);
	}
	MemoryContextSwitchTo(ctx->row_context);
	for (int i = 0; i < ctx->nrows; i++)
	{
		judge_row(ctx, ctx->rows[i]);
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
