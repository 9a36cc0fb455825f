/*-------------------------------------------------------------------------
 *
 * credit_sandbox.h
 *	  Definitions shared by the credit_sandbox modules: settings, the rule
 *	  catalogue, the evaluator and the outcome writer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CREDIT_SANDBOX_H
#define CREDIT_SANDBOX_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "watched.h"

#define CS_SCHEMA "credit_sandbox"

/* ---- settings (credit_sandbox.c) ---- */
extern char *cs_time_zone;
extern Interval *cs_tolerance_window;
extern Interval *cs_correction_period;

extern bool cs_parse_interval(const char *text, Interval *result);
extern bool cs_interval_positive(const Interval *span);
extern DateADT cs_legal_date(TimestampTz ts);
extern TimestampTz cs_add_interval(TimestampTz ts, const Interval *span);
extern TimestampTz cs_sub_interval(TimestampTz ts, const Interval *span);
extern DateADT cs_date_add_interval(DateADT day, const Interval *span);
extern SPIPlanPtr cs_prepare(const char *query, int nargs, Oid *argtypes);
extern char *cs_table(const char *relname);
extern struct HTAB *cs_string_hash_create(const char *name, long size, Size entrysize,
										  MemoryContext context);
extern void cs_execute(SPIPlanPtr plan, Datum *values, const char *nulls);
extern Datum cs_text_array(const char **items, int n);
extern Datum cs_int8_array(const int64 *items, int n);
extern Datum cs_timestamptz_array(const TimestampTz *items, int n);

/* ---- rule catalogue (catalog.c) ---- */
typedef enum RuleCode
{
	RL01, RL02, RL03, RL04, RL05, RL06, RL07, RL08, RL09, TP01,
	NUM_RULES
} RuleCode;

typedef struct Rule
{
	bool		enabled;		/* a row exists and is enabled */
	bool		tolerable;
	bool		is_tip;			/* list = 'admin_tip' */
	int32		version;
	char		code[5];
	char	   *title;
	Jsonb	   *params;			/* as stored */
	/* parameters, parsed once; only the ones a rule uses are set */
	Interval	window;
	Interval	lookback;
	Interval	return_period;
	Interval	baseline;
	Interval	expires_within;
	int64		threshold;
	Numeric		factor;
	Numeric		max_markup_pct;
} Rule;

struct TermMatcher;

typedef struct RuleCatalog
{
	Rule		rules[NUM_RULES];
	struct TermMatcher *prohibited_terms;
	char	  **prohibited_term_text;	/* as written, in term order */
	struct TermMatcher *absolute_terms;
	char	  **absolute_term_text;
	struct HTAB *regulated_categories;	/* category -> permit */
	struct HTAB *prohibited_categories;
	struct HTAB *return_exempt_categories;
} RuleCatalog;

extern const char *const cs_rule_codes[NUM_RULES];
extern const RuleCatalog *cs_catalog(void);
extern const RuleCatalog *cs_catalog_proposed(const RuleCatalog *current, Jsonb *changes);
extern const char *cs_category_permit(const RuleCatalog *cat, const char *category);
extern bool cs_category_in(struct HTAB *set, const char *category);
extern char *cs_fold_case(const char *text, int len);
extern void cs_register_cache_callbacks(void);

/* ---- evaluator (evaluate.c) ---- */
typedef enum EventKind
{
	EVENT_TRANSACTION,
	EVENT_RETURN,
	EVENT_COMPLAINT
} EventKind;

#define NUM_EVENT_KINDS (EVENT_COMPLAINT + 1)

/* An event table, its generated id and the time its windows are on. */
typedef struct EventTable
{
	const char *name;
	const char *id_column;
	const char *time_column;
} EventTable;

extern const EventTable cs_event_tables[NUM_EVENT_KINDS];

/*
 * Rows are judged in batches: enough to share the fact queries among many
 * rows, few enough to keep memory bounded whatever the statement's size.
 */
#define CS_BATCH_ROWS 8192

typedef struct EvalContext EvalContext;
struct Hit;
typedef void (*HitCollector) (const struct Hit *hit, void *arg);

extern EventKind cs_event_kind(const char *name);
extern EvalContext *cs_evaluate_begin(EventKind kind, Relation judged, bool one_operator);
extern EvalContext *cs_replay_begin(EventKind kind, TupleDesc desc, const struct RuleCatalog *cat,
									HitCollector collect, void *collect_arg);
extern void cs_evaluate_add(EvalContext *ctx, HeapTuple tuple);
extern int	cs_evaluate_pending(EvalContext *ctx);
extern void cs_evaluate_flush(EvalContext *ctx);
extern void cs_evaluate_end(EvalContext *ctx);
extern int	cs_operator_column(EvalContext *ctx);

/* ---- outcome (outcome.c) ---- */
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

extern Ledger *cs_ledger_create(bool one_operator);
extern void cs_ledger_batch_done(Ledger *ledger);
extern void cs_ledger_write(Ledger *ledger);
extern int64 cs_record_hit(Ledger *ledger, const Hit *hit, bool *is_clue);
extern void cs_outcome_register_callbacks(void);
extern bool cs_operator_in_sandbox(const char *operator_id);

/* ---- grading (grading.c) ---- */
extern void cs_grade_after_warning_clue(const char *operator_id, const char *code, TimestampTz at);

#endif							/* CREDIT_SANDBOX_H */
