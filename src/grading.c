/*-------------------------------------------------------------------------
 *
 * grading.c
 *	  Credit classes: a score from weighted indicators, class boundaries,
 *	  the hard rules of the specification, each indicator's contribution
 *	  kept so that a class can be explained; validation of the weights and
 *	  boundaries a DBA edits.
 *
 * The indicators of every operator come from one set-based query; the
 * scoring runs here; the grades of a whole regrade are written by one
 * statement, which also ends the sandbox stay of members graded below A.
 * On Citus the same runs on the workers, per operator or per shard group,
 * where the operators' checks run and take their locks
 * (cs_call_at_operator).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "grading.h"
#include "operator_lock.h"
#include "placement.h"
#include "settings.h"
#include "spi_util.h"

#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_grade);
PG_FUNCTION_INFO_V1(credit_sandbox_regrade);
PG_FUNCTION_INFO_V1(credit_sandbox_grade_ungraded);
PG_FUNCTION_INFO_V1(credit_sandbox_grade_shard_group);
PG_FUNCTION_INFO_V1(credit_sandbox_grading_validate);
PG_FUNCTION_INFO_V1(credit_sandbox_grade_boundaries_ordered);

typedef enum Indicator
{
	IND_NO_VALID_LICENCE,
	IND_REGISTERED_UNDER_A_YEAR,
	IND_ABNORMAL_LIST,
	IND_DISHONEST_LIST,
	IND_WARNING_CLUES,
	IND_ADMIN_TIPS,
	IND_OPEN_WARNING_CLUES,
	IND_COMPLAINTS_PER_1000_ORDERS,
	IND_REFUSALS_PER_1000_ORDERS,
	NUM_INDICATORS
} Indicator;

/* In the order of the indicator query's columns 2.. */
static const char *const indicator_names[NUM_INDICATORS] = {
	"no_valid_licence", "registered_under_a_year", "abnormal_list", "dishonest_list",
	"warning_clues", "admin_tips", "open_warning_clues",
	"complaints_per_1000_orders", "refusals_per_1000_orders"
};

static const char *const class_names[] = {"A", "B", "C", "D"};

#define MAX_SCORE 100.0
#define MAX_WEIGHT 1e6

typedef struct GradingModel
{
	double		weight[NUM_INDICATORS];
	double		min_score[3];	/* A, B, C; below C is D */
} GradingModel;

typedef struct Grade
{
	char	   *operator_id;
	double		score;
	int			score_class;	/* 0..3 for A..D */
	int			class;
	char	   *indicators;		/* JSON */
	char	   *hard_rules;		/* JSON array */
} Grade;

static int
indicator_index(const char *name)
{
	for (int i = 0; i < NUM_INDICATORS; i++)
		if (strcmp(name, indicator_names[i]) == 0)
			return i;
	return -1;
}

static void
load_model(GradingModel *model)
{
	static char weights_plan_site;
	SPIPlanPtr *weights_plan = cs_plan_slot(&weights_plan_site);
	static char boundaries_plan_site;
	SPIPlanPtr *boundaries_plan = cs_plan_slot(&boundaries_plan_site);
	bool		isnull;

	if (*weights_plan == NULL)
	{
		*weights_plan = cs_prepare(psprintf("SELECT indicator, weight::float8 FROM %s",
										   cs_table("grading_weights")), 0, NULL);
		*boundaries_plan = cs_prepare(psprintf("SELECT class, min_score::float8 FROM %s",
											  cs_table("grade_boundaries")), 0, NULL);
	}
	memset(model, 0, sizeof(*model));
	cs_execute(*weights_plan, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int			ind = indicator_index(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));

		if (ind >= 0)
			model->weight[ind] = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	/* a missing boundary makes its class unreachable */
	for (int c = 0; c < 3; c++)
		model->min_score[c] = MAX_SCORE + 1;
	cs_execute(*boundaries_plan, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *class = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (class[0] >= 'A' && class[0] <= 'C')
			model->min_score[class[0] - 'A'] =
				DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

static int
worse(int class, int at_least)
{
	return Max(class, at_least);
}

/* The score, the class and why, from one row of the indicator query. */
static void
score_operator(const GradingModel *model, HeapTuple row, TupleDesc desc, Grade *grade)
{
	double		value[NUM_INDICATORS];
	double		points = 0;
	bool		isnull;
	StringInfoData ind;
	StringInfoData rules;

	grade->operator_id = SPI_getvalue(row, desc, 1);
	initStringInfo(&ind);
	appendStringInfoChar(&ind, '{');
	for (int i = 0; i < NUM_INDICATORS; i++)
	{
		double		p;

		value[i] = DatumGetFloat8(SPI_getbinval(row, desc, i + 2, &isnull));
		p = value[i] * model->weight[i];
		points += p;
		appendStringInfo(&ind, "%s\"%s\": {\"value\": %.15g, \"weight\": %.15g, \"points\": %.2f}",
						 i ? ", " : "", indicator_names[i], value[i], model->weight[i], p);
	}
	appendStringInfoChar(&ind, '}');
	grade->indicators = ind.data;

	grade->score = Max(0.0, MAX_SCORE - points);
	grade->score = rint(grade->score * 100) / 100;
	grade->score_class = 3;
	for (int c = 2; c >= 0; c--)
		if (grade->score >= model->min_score[c])
			grade->score_class = c;

	/* the hard rules of the specification cap the class */
	grade->class = grade->score_class;
	initStringInfo(&rules);
	appendStringInfoChar(&rules, '[');
#define HARD_RULE(cond, at_least, text) \
	if (cond) { \
		grade->class = worse(grade->class, at_least); \
		appendStringInfo(&rules, "%s\"%s\"", rules.len > 1 ? ", " : "", text); \
	}
	HARD_RULE(value[IND_DISHONEST_LIST] > 0, 3, "on the dishonest list: D");
	HARD_RULE(value[IND_ABNORMAL_LIST] > 0, 2, "on the abnormal list: C or worse");
	HARD_RULE(value[IND_OPEN_WARNING_CLUES] > 0, 1, "an open warning clue: B or worse");
	HARD_RULE(value[IND_NO_VALID_LICENCE] > 0, 1, "no licence valid on the day: not A");
#undef HARD_RULE
	appendStringInfoChar(&rules, ']');
	grade->hard_rules = rules.data;
}

/*
 * The indicators of one operator, or of all when operator_id is NULL (or of
 * all never graded, with only_ungraded), as of at.  Windows are the 365 days before at; list entries and the licence are
 * judged on at's legal day.
 */
static void
query_indicators(TimestampTz at, const char *operator_id, bool only_ungraded)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', operator_id ? ' ' : 'n', ' ', ' '};
	Interval	year_span = {.time = 0, .day = 365, .month = 0};

	if (*plan == NULL)
	{
		Oid			types[5] = {TIMESTAMPTZOID, DATEOID, TEXTOID, BOOLOID, TIMESTAMPTZOID};
		const char *listed = "EXISTS (SELECT FROM %s l WHERE l.operator_id = o.operator_id AND l.list = '%s'"
			" AND l.listed_on <= $2 AND (l.removed_on IS NULL OR $2 < l.removed_on))::int::float8";
		const char *year = "> $5 AND %s <= $1";

		*plan = cs_prepare(psprintf(
								   "SELECT o.operator_id,"
								   "  (o.licence_valid_until IS NULL OR o.licence_valid_until < $2)::int::float8,"
								   "  (o.registered_on IS NULL OR o.registered_on > ($2 - interval '1 year')::date)::int::float8,"
								   "  %s, %s,"
								   "  (SELECT count(*) FROM %s w WHERE w.operator_id = o.operator_id"
								   "      AND w.list = 'risk_trigger' AND w.last_hit_at %s)::float8,"
								   "  (SELECT count(*) FROM %s w WHERE w.operator_id = o.operator_id"
								   "      AND w.list = 'admin_tip' AND w.code <> 'TP01' AND w.last_hit_at %s)::float8,"
								   "  (SELECT count(*) FROM %s w WHERE w.operator_id = o.operator_id"
								   "      AND w.list = 'risk_trigger' AND w.status IN ('open', 'acknowledged'))::float8,"
								   "  round(1000.0 * c.complaints / greatest(t.orders, 1000), 4)::float8,"
								   "  round(1000.0 * r.refusals / greatest(t.orders, 1000), 4)::float8"
								   " FROM %s o,"
								   "  LATERAL (SELECT count(*) AS orders FROM %s x WHERE x.operator_id = o.operator_id"
								   "              AND x.occurred_at %s) t,"
								   "  LATERAL (SELECT count(*) AS complaints FROM %s x WHERE x.operator_id = o.operator_id"
								   "              AND x.received_at %s) c,"
								   "  LATERAL (SELECT count(*) AS refusals FROM %s x WHERE x.operator_id = o.operator_id"
								   "              AND x.outcome = 'refused' AND x.requested_at %s) r"
								   " WHERE ($3::text IS NULL OR o.operator_id = $3)"
								   "   AND NOT ($4 AND EXISTS (SELECT FROM %s g WHERE g.operator_id = o.operator_id))"
								   " ORDER BY o.operator_id",
								   psprintf(listed, cs_table("operator_lists"), "abnormal"),
								   psprintf(listed, cs_table("operator_lists"), "dishonest"),
								   cs_table("warnings"), psprintf(year, "w.last_hit_at"),
								   cs_table("warnings"), psprintf(year, "w.last_hit_at"),
								   cs_table("warnings"),
								   cs_table("operators"),
								   cs_table("transactions"), psprintf(year, "x.occurred_at"),
								   cs_table("complaints"), psprintf(year, "x.received_at"),
								   cs_table("returns"), psprintf(year, "x.requested_at"),
								   cs_table("operator_grades")),
						  5, types);
	}
	values[0] = TimestampTzGetDatum(at);
	values[1] = DateADTGetDatum(cs_legal_date(at));
	/* the 365 days before at, counted in the regulator's time zone */
	values[4] = TimestampTzGetDatum(cs_sub_interval(at, &year_span));
	values[2] = operator_id ? CStringGetTextDatum(operator_id) : (Datum) 0;
	values[3] = BoolGetDatum(only_ungraded);
	cs_execute(*plan, values, nulls);
}

/*
 * Writes the grades in one statement; members graded below A leave the
 * sandbox in the same statement, with the class as the reason.
 */
static void
record_grades(Grade *grades, int n, TimestampTz at, const char *cause)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	char	  **ids = palloc(sizeof(char *) * Max(n, 1));
	char	  **scores = palloc(sizeof(char *) * Max(n, 1));
	char	  **score_classes = palloc(sizeof(char *) * Max(n, 1));
	char	  **classes = palloc(sizeof(char *) * Max(n, 1));
	char	  **indicators = palloc(sizeof(char *) * Max(n, 1));
	char	  **hard_rules = palloc(sizeof(char *) * Max(n, 1));
	Datum		values[8];

	if (*plan == NULL)
	{
		Oid			types[8] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID, TEXTOID};

		/*
		 * The id named: a Citus shard has no identity default.  graded_at is
		 * the clock under the operator's lock, which orders an operator's
		 * grades wherever they were written: ids drawn on different Citus
		 * nodes (a shard group moved) do not follow time.
		 */
		*plan = cs_prepare(psprintf(
								   "WITH g AS ("
								   "  INSERT INTO %s (grade_id, operator_id, graded_as_of, graded_at, score, score_class,"
								   "                  class, indicators, hard_rules, cause)"
								   "  OVERRIDING SYSTEM VALUE"
								   "  SELECT %s, u.id, $7, pg_catalog.clock_timestamp(), u.score::numeric, u.score_class,"
								   "         u.class, u.ind::jsonb, u.hard::jsonb, $8"
								   "    FROM unnest($1, $2, $3, $4, $5, $6) AS u(id, score, score_class, class, ind, hard)"
								   "  RETURNING operator_id, class, score, hard_rules)"
								   " UPDATE %s m SET exited_at = pg_catalog.clock_timestamp(), exit_code = 'CLASS',"
								   "   exit_reason = format('class %%s, score %%s%%s', g.class, g.score,"
								   "       (SELECT ': ' || string_agg(r, '; ') FROM jsonb_array_elements_text(g.hard_rules) r))"
								   "  FROM g WHERE m.operator_id = g.operator_id AND m.exited_at IS NULL AND g.class <> 'A'",
								   cs_table("operator_grades"), cs_placed_nextval("operator_grades_grade_id_seq"),
								   cs_table("sandbox_memberships")),
						  8, types);
	}
	for (int i = 0; i < n; i++)
	{
		ids[i] = grades[i].operator_id;
		scores[i] = psprintf("%.2f", grades[i].score);
		score_classes[i] = (char *) class_names[grades[i].score_class];
		classes[i] = (char *) class_names[grades[i].class];
		indicators[i] = grades[i].indicators;
		hard_rules[i] = grades[i].hard_rules;
	}
	values[0] = cs_text_array((const char **) ids, n);
	values[1] = cs_text_array((const char **) scores, n);
	values[2] = cs_text_array((const char **) score_classes, n);
	values[3] = cs_text_array((const char **) classes, n);
	values[4] = cs_text_array((const char **) indicators, n);
	values[5] = cs_text_array((const char **) hard_rules, n);
	values[6] = TimestampTzGetDatum(at);
	values[7] = CStringGetTextDatum(cause);
	cs_execute(*plan, values, NULL);
}

static void
check_finite(TimestampTz at)
{
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot grade as of an infinite time"),
				 errhint("Pass the moment to grade as of, such as now().")));
}

/*
 * Grades one operator or, when operator_id is NULL, all of them (or all
 * never graded), as of at.  Returns how many were graded and, when one was
 * asked for, its class.
 */
static int
grade_operators(const char *operator_id, bool only_ungraded, TimestampTz at, const char *cause,
				const char **class)
{
	GradingModel model;
	SPITupleTable *rows;
	int			n;
	Grade	   *grades;

	check_finite(at);
	/*
	 * Under the operators' locks, on the latest snapshot: no check is half-way
	 * through an operator graded here, and a warning clue committed by one
	 * that held the lock is counted (a member never keeps class A with an
	 * open warning clue).
	 */
	if (operator_id)
		cs_lock_operator(operator_id);
	else
		cs_lock_all_operators();
	load_model(&model);
	query_indicators(at, operator_id, only_ungraded);
	rows = SPI_tuptable;
	n = (int) SPI_processed;
	grades = palloc(sizeof(Grade) * Max(n, 1));
	for (int i = 0; i < n; i++)
		score_operator(&model, rows->vals[i], rows->tupdesc, &grades[i]);
	SPI_freetuptable(rows);
	if (n > 0)
		record_grades(grades, n, at, cause);
	if (class)
		*class = n > 0 ? class_names[grades[0].class] : NULL;
	return n;
}

static Datum
grade_placed(PG_FUNCTION_ARGS)
{
	char	   *operator_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	const char *class;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	grade_operators(operator_id, false, at, "grade", &class);
	SPI_finish();
	if (class == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("operator \"%s\" does not exist", operator_id),
				 errhint("Only operators in credit_sandbox.operators are graded.")));
	PG_RETURN_TEXT_P(cstring_to_text(class));
}

Datum
credit_sandbox_grade(PG_FUNCTION_ARGS)
{
	return cs_call_at_operator(grade_placed, fcinfo);
}

/* Every operator (or every one never graded) of the current placement; on one node all of them. */
static int64
grade_placement(TimestampTz at, bool only_ungraded)
{
	int			n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	n = grade_operators(NULL, only_ungraded, at, only_ungraded ? "first grading" : "regrade", NULL);
	SPI_finish();
	return n;
}

static Datum
grade_shard_group_placed(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(grade_placement(PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_BOOL(2)));
}

/*
 * grade_shard_group(operator_id, at, only_ungraded): grades, in one pass,
 * every operator (or every one never graded) whose rows are beside
 * operator_id's: on a Citus worker its shard group, under the group's
 * locks; on one node all of them.
 */
Datum
credit_sandbox_grade_shard_group(PG_FUNCTION_ARGS)
{
	return cs_call_at_operator(grade_shard_group_placed, fcinfo);
}

/*
 * On Citus, every shard group is graded on its worker, in the placement its
 * checks run in (grade_shard_group, called with one registered operator of
 * the group): one pass per group under the group's locks, where a pass
 * from the coordinator would hold only the coordinator's locks, which no
 * check takes.
 */
static int64
grade_shard_groups(TimestampTz at, bool only_ungraded)
{
	Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, BOOLOID};
	Datum		values[3] = {0, TimestampTzGetDatum(at), BoolGetDatum(only_ungraded)};
	SPITupleTable *groups;
	uint64		ngroups;
	int64		n = 0;
	bool		isnull;

	check_finite(at);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (SPI_execute("SELECT min(o.operator_id) FROM credit_sandbox.operators o"
					" GROUP BY pg_catalog.get_shard_id_for_distribution_column('credit_sandbox.operators', o.operator_id)"
					" ORDER BY 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "credit_sandbox: could not read the shard groups of the operators");
	groups = SPI_tuptable;
	ngroups = SPI_processed;
	for (uint64 i = 0; i < ngroups; i++)
	{
		values[0] = SPI_getbinval(groups->vals[i], groups->tupdesc, 1, &isnull);
		if (SPI_execute_with_args("SELECT credit_sandbox.grade_shard_group($1, $2, $3)",
								  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "credit_sandbox: could not grade a shard group");
		n += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return n;
}

static Datum
grade_all(FunctionCallInfo fcinfo, bool only_ungraded)
{
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);

	PG_RETURN_INT64(cs_tables_distributed() ? grade_shard_groups(at, only_ungraded)
					: grade_placement(at, only_ungraded));
}

Datum
credit_sandbox_regrade(PG_FUNCTION_ARGS)
{
	return grade_all(fcinfo, false);
}

Datum
credit_sandbox_grade_ungraded(PG_FUNCTION_ARGS)
{
	return grade_all(fcinfo, true);
}

/*
 * A new warning clue applies the hard rule at once: an operator graded A
 * gets a grade B, recorded with the clue as its cause.
 */
void
cs_grade_after_warning_clue(const char *operator_id, const char *code, TimestampTz at)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[3];

	if (*plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, TEXTOID};

		*plan = cs_prepare(psprintf(
								   "INSERT INTO %s (grade_id, operator_id, graded_as_of, graded_at, score, score_class,"
								   "                class, indicators, hard_rules, cause)"
								   " OVERRIDING SYSTEM VALUE"
								   " SELECT %s, g.operator_id, $2, pg_catalog.clock_timestamp(), g.score, g.score_class, 'B',"
								   "       g.indicators, g.hard_rules || '[\"an open warning clue: B or worse\"]',"
								   "       'warning clue ' || $3"
								   "  FROM (SELECT * FROM %s x WHERE x.operator_id = $1"
								   "         ORDER BY x.graded_at DESC, x.grade_id DESC LIMIT 1) g"
								   " WHERE g.class = 'A'",
								   cs_table("operator_grades"), cs_placed_nextval("operator_grades_grade_id_seq"),
								   cs_table("operator_grades")),
						  3, types);
	}
	values[0] = CStringGetTextDatum(operator_id);
	values[1] = TimestampTzGetDatum(at);
	values[2] = CStringGetTextDatum(code);
	cs_execute(*plan, values, NULL);
}

/* ---------------------------------------------------------------- validation */

static double
numeric_column(HeapTuple tuple, TupleDesc desc, const char *name, bool *isnull)
{
	Datum		d = heap_getattr(tuple, SPI_fnumber(desc, name), desc, isnull);

	return *isnull ? 0 : DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
}

/* BEFORE INSERT OR UPDATE on grading_weights and grade_boundaries. */
Datum
credit_sandbox_grading_validate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	const char *table;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("grading_validate: not called by trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("grading_validate: must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	table = get_rel_name(cs_logical_relid(trigdata->tg_relation));

	if (strcmp(table, "grading_weights") == 0)
	{
		char	   *indicator = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "indicator"));
		double		weight = numeric_column(tuple, desc, "weight", &isnull);

		if (indicator == NULL || indicator_index(indicator) < 0)
		{
			StringInfoData known;

			initStringInfo(&known);
			for (int i = 0; i < NUM_INDICATORS; i++)
				appendStringInfo(&known, "%s%s", i ? ", " : "", indicator_names[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown grading indicator \"%s\"", indicator ? indicator : "(null)"),
					 errhint("Indicators: %s.", known.data)));
		}
		if (isnull || !(weight >= 0) || isinf(weight))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("grading indicator %s: the weight must be a finite number >= 0", indicator),
					 errhint("A weight is the points taken off a score of 100 per unit of the indicator.")));
		/* beyond it, weight x value can overflow a double and the grade cannot be written */
		if (weight > MAX_WEIGHT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("grading indicator %s: the weight must be at most %.0f", indicator, MAX_WEIGHT),
					 errdetail("The weight %g was given.", weight),
					 errhint("A weight of %.0f already takes a score of 100 to 0 at a ten-thousandth of a unit.",
									 MAX_WEIGHT)));
	}
	else
	{
		char	   *class = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "class"));
		double		min_score = numeric_column(tuple, desc, "min_score", &isnull);

		if (class == NULL || (strcmp(class, "A") != 0 && strcmp(class, "B") != 0 && strcmp(class, "C") != 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown class \"%s\" in grade_boundaries", class ? class : "(null)"),
					 errhint("Boundaries are the lowest scores of A, B and C; below C is D.")));
		if (isnull || !(min_score >= 0 && min_score <= MAX_SCORE))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("class %s: the lowest score must be from 0 to 100", class)));
	}
	return PointerGetDatum(tuple);
}

static Datum
boundaries_ordered_placed(PG_FUNCTION_ARGS)
{
	GradingModel model;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	load_model(&model);
	SPI_finish();
	if (model.min_score[0] > MAX_SCORE || model.min_score[1] > MAX_SCORE || model.min_score[2] > MAX_SCORE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grade_boundaries must hold the lowest score of each of A, B and C")));
	if (!(model.min_score[0] > model.min_score[1] && model.min_score[1] > model.min_score[2]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grade boundaries must fall from A to C"),
				 errdetail("A from %g, B from %g, C from %g.",
						   model.min_score[0], model.min_score[1], model.min_score[2])));
	return PointerGetDatum(NULL);
}

/* AFTER ... FOR EACH STATEMENT on grade_boundaries: A > B > C, all present. */
Datum
credit_sandbox_grade_boundaries_ordered(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("grade_boundaries_ordered: not called by trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("grade_boundaries_ordered: must be fired AFTER ... FOR EACH STATEMENT")));
	return cs_call_placed(trigdata->tg_relation, boundaries_ordered_placed, fcinfo);
}
