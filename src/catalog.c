/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The rule catalogue: rules and reference lists loaded once per backend,
 *	  compiled (parsed parameters, term matchers, category sets) and thrown
 *	  away when a change commits; validation of rule parameters on write.
 *
 * A statement trigger on each catalogue table sends a relcache
 * invalidation for it.  PostgreSQL delivers that message locally at the
 * next command and to every other backend at commit (and undoes it
 * locally on rollback), so a change reaches the very next inserted row,
 * transactionally, with no per-row catalogue query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "matcher.h"
#include "placement.h"
#include "settings.h"
#include "spi_util.h"
#include "watched.h"

#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_rules_validate);
PG_FUNCTION_INFO_V1(credit_sandbox_invalidate_cache);

const char *const cs_rule_codes[NUM_RULES] = {
	"RL01", "RL02", "RL03", "RL04", "RL05", "RL06", "RL07", "RL08", "RL09", "TP01"
};

/* ---------------------------------------------------------------- parameters */

typedef enum RuleParamKind
{
	PARAM_INTERVAL,				/* positive interval text, at most a century */
	PARAM_COUNT,				/* integer >= 1 */
	PARAM_NUMBER				/* number >= 0 */
} RuleParamKind;

typedef struct ParamSpec
{
	const char *key;
	RuleParamKind	kind;
	size_t		offset;			/* where the parsed value goes in Rule */
} ParamSpec;

#define P_INTERVAL(key, field) {key, PARAM_INTERVAL, offsetof(Rule, field)}
#define P_COUNT(key, field) {key, PARAM_COUNT, offsetof(Rule, field)}
#define P_NUMBER(key, field) {key, PARAM_NUMBER, offsetof(Rule, field)}

/* The parameter keys of each rule (contract). */
static const ParamSpec rl04_params[] = {P_INTERVAL("window", window), P_COUNT("threshold", threshold), {NULL}};
static const ParamSpec rl05_params[] = {P_INTERVAL("lookback", lookback), {NULL}};
static const ParamSpec rl07_params[] = {P_INTERVAL("return_period", return_period),
P_INTERVAL("window", window), P_COUNT("threshold", threshold), {NULL}};
static const ParamSpec rl08_params[] = {P_INTERVAL("window", window), P_COUNT("threshold", threshold),
P_NUMBER("factor", factor), P_INTERVAL("baseline", baseline), {NULL}};
static const ParamSpec rl09_params[] = {P_NUMBER("max_markup_pct", max_markup_pct), {NULL}};
static const ParamSpec tp01_params[] = {P_INTERVAL("expires_within", expires_within), {NULL}};
static const ParamSpec no_params[] = {{NULL}};

static const ParamSpec *const rule_params[NUM_RULES] = {
	no_params, no_params, no_params, rl04_params, rl05_params,
	no_params, rl07_params, rl08_params, rl09_params, tp01_params
};

static int
rule_index(const char *code)
{
	for (int i = 0; i < NUM_RULES; i++)
		if (strcmp(code, cs_rule_codes[i]) == 0)
			return i;
	return -1;
}

static const char *
param_expectation(RuleParamKind kind)
{
	switch (kind)
	{
		case PARAM_INTERVAL:
			return "a positive interval string of at most 100 years, such as \"24 hours\"";
		case PARAM_COUNT:
			return "an integer from 1 to 2147483647";
		case PARAM_NUMBER:
			return "a number from 0 to 1000000";
	}
	return NULL;
}

static void
param_allowed_list(StringInfo buf, const ParamSpec *spec)
{
	if (spec->key == NULL)
		appendStringInfoString(buf, "none");
	for (; spec->key; spec++)
		appendStringInfo(buf, "%s\"%s\" (%s)", buf->len ? ", " : "",
						 spec->key, param_expectation(spec->kind));
}

static bool
numeric_is_integral(Numeric num)
{
	Datum		d = NumericGetDatum(num);

	return DatumGetBool(DirectFunctionCall2(numeric_eq, d,
											DirectFunctionCall2(numeric_trunc, d, Int32GetDatum(0))));
}

static int
numeric_cmp_int(Numeric num, int64 value)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(num),
											 DirectFunctionCall1(int8_numeric, Int64GetDatum(value))));
}

/*
 * Checks one parameter value and stores it parsed in rule (when rule is not
 * NULL).  Returns NULL when it is good, else what is wrong with it.
 */
static const char *
parse_param(const ParamSpec *spec, JsonbValue *v, Rule *rule)
{
	static const Interval century = {.month = 1200};

	switch (spec->kind)
	{
		case PARAM_INTERVAL:
			{
				Interval	span;
				char	   *text;

				if (v->type != jbvString)
					return "it is not a string";
				text = pnstrdup(v->val.string.val, v->val.string.len);
				if (!cs_parse_interval(text, &span))
					return "it is not interval text";
				if (!cs_interval_positive(&span))
					return "it is not positive";
				if (DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(&span),
													 IntervalPGetDatum(&century))))
					return "it is longer than 100 years";
				if (rule)
					*(Interval *) ((char *) rule + spec->offset) = span;
				return NULL;
			}
		case PARAM_COUNT:
			if (v->type != jbvNumeric)
				return "it is not a number";
			if (!numeric_is_integral(v->val.numeric))
				return "it is not an integer";
			if (numeric_cmp_int(v->val.numeric, 1) < 0 ||
				numeric_cmp_int(v->val.numeric, PG_INT32_MAX) > 0)
				return "it is out of range";
			if (rule)
				*(int64 *) ((char *) rule + spec->offset) =
					DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
			return NULL;
		case PARAM_NUMBER:
			if (v->type != jbvNumeric)
				return "it is not a number";
			if (numeric_cmp_int(v->val.numeric, 0) < 0)
				return "it is negative";
			/* a factor or markup beyond this only overflows the rows it judges */
			if (numeric_cmp_int(v->val.numeric, 1000000) > 0)
				return "it is above 1000000";
			if (rule)
				*(Numeric *) ((char *) rule + spec->offset) =
					DatumGetNumericCopy(NumericGetDatum(v->val.numeric));
			return NULL;
	}
	return "unknown parameter kind";
}

/*
 * Validates a rule's parameters (params NULL for an SQL NULL), raising 22023
 * naming the rule and the parameter; fills the parsed values into rule when
 * it is not NULL.
 */
static void
parse_rule_params(int index, Jsonb *params, Rule *rule)
{
	const char *code = cs_rule_codes[index];
	const ParamSpec *specs = rule_params[index];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData allowed;

	initStringInfo(&allowed);
	param_allowed_list(&allowed, specs);

	/* NULL: a BEFORE trigger sees the row before its NOT NULL constraint does */
	if (params == NULL || !JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule %s: parameters must be a JSON object", code),
				 errhint("Parameters of %s: %s.", code, allowed.data)));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const ParamSpec *spec;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (spec = specs; spec->key && strcmp(spec->key, key) != 0; spec++)
			;
		if (spec->key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rule %s: unknown parameter \"%s\"", code, key),
					 errhint("Parameters of %s: %s.", code, allowed.data)));
	}

	for (const ParamSpec *spec = specs; spec->key; spec++)
	{
		JsonbValue *value = getKeyJsonValueFromContainer(&params->root, spec->key,
														 strlen(spec->key), NULL);
		const char *problem;

		if (value == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rule %s: parameter \"%s\" is missing", code, spec->key),
					 errhint("Parameters of %s: %s.", code, allowed.data)));
		problem = parse_param(spec, value, rule);
		if (problem)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rule %s: invalid value for parameter \"%s\"", code, spec->key),
					 errdetail("The value %s was given, but %s.",
							   DatumGetCString(DirectFunctionCall1(jsonb_out,
																   JsonbPGetDatum(JsonbValueToJsonb(value)))),
							   problem),
					 errhint("Expected %s.", param_expectation(spec->kind))));
	}
}

/* Whether two versions of a rule differ in what its hits depend on. */
static bool
rule_content_differs(HeapTuple a, HeapTuple b, TupleDesc desc)
{
	static const char *const watched[] = {"params", "tolerable", "enabled", "list"};

	for (int i = 0; i < (int) lengthof(watched); i++)
	{
		char	   *x = SPI_getvalue(a, desc, SPI_fnumber(desc, watched[i]));
		char	   *y = SPI_getvalue(b, desc, SPI_fnumber(desc, watched[i]));

		if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
			return true;
	}
	return false;
}

/*
 * Inserting a rule whose default was never changed (version 1) replaces
 * it: that is what a DBA inserting a rule means, and it is what lets
 * pg_restore bring back a dump's rules after CREATE EXTENSION installed the
 * defaults.  Returns the replaced row, or NULL.
 */
static HeapTuple
replace_untouched_default(Relation rules, const char *code)
{
	Datum		values[1] = {CStringGetTextDatum(code)};
	Oid			types[1] = {TEXTOID};
	HeapTuple	replaced = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	/* the trigger's relation: the rules, or on a Citus node its shard there */
	if (SPI_execute_with_args(psprintf("DELETE FROM %s WHERE code = $1 AND version = 1 RETURNING *",
									   quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rules)),
																  RelationGetRelationName(rules))),
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "credit_sandbox: could not replace the default of rule %s", code);
	if (SPI_processed > 0)
		replaced = SPI_copytuple(SPI_tuptable->vals[0]);
	SPI_finish();
	return replaced;
}

/*
 * NEW with the version that follows previous, stamped with who (the login,
 * as every record of who did what) and when.
 */
static HeapTuple
next_version(HeapTuple newtuple, TupleDesc desc, int32 previous)
{
	int			cols[3] = {SPI_fnumber(desc, "version"), SPI_fnumber(desc, "changed_at"),
	SPI_fnumber(desc, "changed_by")};
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = Int32GetDatum(previous + 1);
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
	return heap_modify_tuple_by_cols(newtuple, desc, 3, cols, values, nulls);
}

static int32
rule_version(HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;

	return DatumGetInt32(heap_getattr(tuple, SPI_fnumber(desc, "version"), desc, &isnull));
}

/*
 * BEFORE INSERT OR UPDATE on rules: a known code, parameters that parse,
 * and a version bumped whenever what a hit depends on changes, so that a
 * warning's rule_version always names one set of parameters.
 */
Datum
credit_sandbox_rules_validate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtuple;
	HeapTuple	previous;
	Datum		params;
	bool		isnull;
	char	   *code;
	int			index;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rules_validate: not called by trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rules_validate: must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	desc = RelationGetDescr(trigdata->tg_relation);
	newtuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	code = SPI_getvalue(newtuple, desc, SPI_fnumber(desc, "code"));
	index = code ? rule_index(code) : -1;
	if (index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rule code \"%s\"", code ? code : "(null)"),
				 errhint("The rules are RL01 to RL09 and TP01.")));

	params = heap_getattr(newtuple, SPI_fnumber(desc, "params"), desc, &isnull);
	parse_rule_params(index, isnull ? NULL : DatumGetJsonbP(params), NULL);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		previous = replace_untouched_default(trigdata->tg_relation, code);
		/* a restored row keeps its later version; a new content gets the next one */
		if (previous && rule_content_differs(previous, newtuple, desc) &&
			rule_version(newtuple, desc) <= rule_version(previous, desc))
			newtuple = next_version(newtuple, desc, rule_version(previous, desc));
		return PointerGetDatum(newtuple);
	}

	previous = trigdata->tg_trigtuple;
	if (strcmp(code, SPI_getvalue(previous, desc, SPI_fnumber(desc, "code"))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the code of rule %s cannot be changed",
						SPI_getvalue(previous, desc, SPI_fnumber(desc, "code"))),
				 errhint("Disable the rule instead (enabled = false).")));
	if (rule_content_differs(previous, newtuple, desc))
		return PointerGetDatum(next_version(newtuple, desc, rule_version(previous, desc)));

	/* the version is the rule's to keep, not the editor's */
	{
		int			col = SPI_fnumber(desc, "version");
		Datum		value = Int32GetDatum(rule_version(previous, desc));
		bool		null = false;

		return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, desc, 1, &col, &value, &null));
	}
}

/* AFTER ... FOR EACH STATEMENT on every catalogue table. */
Datum
credit_sandbox_invalidate_cache(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalidate_cache: not called by trigger manager")));
	if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalidate_cache: must be fired FOR EACH STATEMENT")));
	/* the table the caches watch, also when a Citus shard of it changed */
	CacheInvalidateRelcacheByRelid(cs_logical_relid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------- the cache */

static const char *const catalog_tables[] = {
	"rules", "regulated_categories", "prohibited_categories",
	"prohibited_terms", "absolute_terms", "return_exempt_categories"
};
static WatchedTables catalog_watch = {catalog_tables, lengthof(catalog_tables)};

static MemoryContext catalog_context = NULL;
static RuleCatalog *catalog = NULL;

void
cs_catalog_init(void)
{
	cs_watch_tables(&catalog_watch);
}

/* String-keyed sets and maps: the key is a pointer to a C string. */
typedef struct StringEntry
{
	const char *key;
	const char *value;
} StringEntry;

static HTAB *
string_map_create(const char *name, long size)
{
	return cs_string_hash_create(name, size, sizeof(StringEntry), catalog_context);
}

/* Runs query and puts its (key[, value]) rows into a new map. */
static HTAB *
load_string_map(const char *name, const char *query)
{
	HTAB	   *map;
	SPIPlanPtr plan = SPI_prepare(query, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "credit_sandbox: SPI_prepare failed for \"%s\"", query);
	cs_execute(plan, NULL, NULL);
	map = string_map_create(name, (long) SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *key = SPI_getvalue(tuple, desc, 1);
		StringEntry *entry;
		bool		found;

		if (key == NULL)
			continue;
		key = MemoryContextStrdup(catalog_context, key);
		entry = hash_search(map, &key, HASH_ENTER, &found);
		if (!found)
		{
			char	   *value = desc->natts > 1 ? SPI_getvalue(tuple, desc, 2) : NULL;

			entry->value = value ? MemoryContextStrdup(catalog_context, value) : NULL;
		}
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_freeplan(plan);
	return map;
}

/*
 * Whether lower() can be done byte by byte on ASCII for text made only of
 * ASCII and of U+3000..U+9FFF (CJK symbols, kana, ideographs: no case), as
 * most titles are.  Asked of the database's default collation itself, once
 * per backend (a backend serves one database): it holds unless that
 * collation folds an ASCII letter otherwise, as a Turkic one folds 'I' to
 * dotless 'ı'.  No locale name is read, so the answer does not depend on
 * how a major exposes the database's locale.
 */
static bool
ascii_fold_is_lower(void)
{
	static int	answer = -1;

	if (answer < 0)
	{
		static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
		static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
		char	   *folded = str_tolower(upper, strlen(upper), DEFAULT_COLLATION_OID);

		answer = strcmp(folded, lower) == 0;
		pfree(folded);
	}
	return answer;
}

/* Case-folds under the database's default collation, as lower() does. */
char *
cs_fold_case(const char *text, int len)
{
	const unsigned char *p = (const unsigned char *) text;
	char	   *folded;

	if (ascii_fold_is_lower())
	{
		for (int i = 0; i < len; i++)
		{
			if (p[i] < 0x80)
				continue;
			if (p[i] >= 0xE3 && p[i] <= 0xE9 && i + 2 < len)
			{
				i += 2;			/* a 3-byte character from U+3000 to U+9FFF */
				continue;
			}
			return str_tolower(text, len, DEFAULT_COLLATION_OID);
		}
		folded = palloc(len + 1);
		for (int i = 0; i < len; i++)
			folded[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + ('a' - 'A') : p[i];
		folded[len] = '\0';
		return folded;
	}
	return str_tolower(text, len, DEFAULT_COLLATION_OID);
}

static struct TermMatcher *
load_terms(const char *query, char ***terms_out)
{
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);
	MemoryContext old;
	char	  **terms;
	char	  **folded;
	int			n;
	struct TermMatcher *m;

	if (plan == NULL)
		elog(ERROR, "credit_sandbox: SPI_prepare failed for \"%s\"", query);
	cs_execute(plan, NULL, NULL);
	n = (int) SPI_processed;
	old = MemoryContextSwitchTo(catalog_context);
	terms = palloc(sizeof(char *) * (n + 1));
	folded = palloc(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		char	   *term = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		terms[i] = pstrdup(term ? term : "");
		folded[i] = cs_fold_case(terms[i], strlen(terms[i]));
	}
	m = cs_matcher_build((const char *const *) folded, n);
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	SPI_freeplan(plan);
	*terms_out = terms;
	return m;
}

static void
load_rules(RuleCatalog *cat)
{
	char	   *query = psprintf("SELECT code, title, list, params, tolerable, enabled, version FROM %s",
								 cs_table("rules"));
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "credit_sandbox: SPI_prepare failed for \"%s\"", query);
	cs_execute(plan, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			index = rule_index(SPI_getvalue(tuple, desc, 1));
		Rule	   *rule;
		MemoryContext old;

		if (index < 0)
			continue;
		rule = &cat->rules[index];
		strlcpy(rule->code, cs_rule_codes[index], sizeof(rule->code));
		rule->enabled = DatumGetBool(SPI_getbinval(tuple, desc, 6, &isnull));
		rule->tolerable = DatumGetBool(SPI_getbinval(tuple, desc, 5, &isnull));
		rule->is_tip = strcmp(SPI_getvalue(tuple, desc, 3), "admin_tip") == 0;
		rule->version = DatumGetInt32(SPI_getbinval(tuple, desc, 7, &isnull));
		old = MemoryContextSwitchTo(catalog_context);
		rule->title = pstrdup(SPI_getvalue(tuple, desc, 2));
		rule->params = DatumGetJsonbPCopy(SPI_getbinval(tuple, desc, 4, &isnull));
		parse_rule_params(index, rule->params, rule);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_freeplan(plan);
}

/*
 * The compiled catalogue, loaded again if a change was seen.  The caller is
 * connected to SPI.  The result stays valid until the next call.
 */
const RuleCatalog *
cs_catalog(void)
{
	AcceptInvalidationMessages();
	if (catalog_watch.valid)
		return catalog;

	if (catalog_context == NULL)
		catalog_context = AllocSetContextCreate(CacheMemoryContext, "credit_sandbox catalog",
												ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(catalog_context);
	catalog = NULL;

	cs_watch_refresh(&catalog_watch);

	PG_TRY();
	{
		RuleCatalog *cat = MemoryContextAllocZero(catalog_context, sizeof(RuleCatalog));

		load_rules(cat);
		cat->regulated_categories =
			load_string_map("regulated categories",
							psprintf("SELECT category, permit FROM %s", cs_table("regulated_categories")));
		cat->prohibited_categories =
			load_string_map("prohibited categories",
							psprintf("SELECT category FROM %s", cs_table("prohibited_categories")));
		cat->return_exempt_categories =
			load_string_map("return-exempt categories",
							psprintf("SELECT category FROM %s", cs_table("return_exempt_categories")));
		cat->prohibited_terms =
			load_terms(psprintf("SELECT term FROM %s ORDER BY term", cs_table("prohibited_terms")),
					   &cat->prohibited_term_text);
		cat->absolute_terms =
			load_terms(psprintf("SELECT term FROM %s ORDER BY term", cs_table("absolute_terms")),
					   &cat->absolute_term_text);
		catalog = cat;
	}
	PG_CATCH();
	{
		catalog_watch.valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	return catalog;
}

/*
 * The catalogue with a proposed change applied, for a replay: changes maps
 * rule codes to {"enabled": bool, parameter: value...}; parameters left out
 * keep their current values.  Validated as an edit of the rules table is
 * (22023).  A changed rule has version 0, a version never stored.
 */
const RuleCatalog *
cs_catalog_proposed(const RuleCatalog *current, Jsonb *changes)
{
	RuleCatalog *cat = palloc(sizeof(RuleCatalog));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			index = -1;

	*cat = *current;
	if (!JB_ROOT_IS_OBJECT(changes) || JB_ROOT_IS_SCALAR(changes))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("proposed rules must be a JSON object keyed by rule code"),
				 errhint("For example {\"RL04\": {\"threshold\": 5}, \"RL06\": {\"enabled\": false}}.")));
	it = JsonbIteratorInit(&changes->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		Rule	   *rule;
		Jsonb	   *change;
		JsonbValue *enabled;

		if (tok == WJB_KEY)
		{
			char	   *code = pnstrdup(v.val.string.val, v.val.string.len);

			index = rule_index(code);
			if (index < 0 || current->rules[index].title == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("proposed rules: no rule \"%s\"", code),
						 errhint("Rules are the rows of credit_sandbox.rules.")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		rule = &cat->rules[index];
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("proposed rules: the change of %s must be a JSON object", rule->code)));
		change = JsonbValueToJsonb(&v);
		enabled = getKeyJsonValueFromContainer(&change->root, "enabled", strlen("enabled"), NULL);
		if (enabled)
		{
			if (enabled->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("proposed rules: \"enabled\" of %s must be true or false", rule->code)));
			rule->enabled = enabled->val.boolean;
			change = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(change),
														CStringGetTextDatum("enabled")));
		}
		rule->params = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(rule->params),
														  JsonbPGetDatum(change)));
		parse_rule_params(index, rule->params, rule);
		rule->version = 0;
	}
	return cat;
}

const char *
cs_category_permit(const RuleCatalog *cat, const char *category)
{
	StringEntry *entry;

	if (category == NULL)
		return NULL;
	entry = hash_search(cat->regulated_categories, &category, HASH_FIND, NULL);
	return entry ? entry->value : NULL;
}

bool
cs_category_in(HTAB *set, const char *category)
{
	return category != NULL && hash_search(set, &category, HASH_FIND, NULL) != NULL;
}
