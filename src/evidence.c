/*-------------------------------------------------------------------------
 *
 * evidence.c
 *	  The one builder of a hit's evidence, for the evaluator's red lines
 *	  and the escalation of overdue tips alike: a JSON object written key
 *	  by key into a string, each value encoded as PostgreSQL's JSON
 *	  functions encode it, then read as jsonb.  Evidence is built only for
 *	  a hit, so writing text and parsing it once costs nothing per row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "evidence.h"

#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

void
cs_evidence_begin(Evidence *ev)
{
	initStringInfo(ev);
}

static void
evidence_key(Evidence *ev, const char *key)
{
	appendStringInfoChar(ev, ev->len == 0 ? '{' : ',');
	escape_json(ev, key);
	appendStringInfoChar(ev, ':');
}

/* A string, or null. */
void
cs_evidence_text(Evidence *ev, const char *key, const char *value)
{
	evidence_key(ev, key);
	if (value)
		escape_json(ev, value);
	else
		appendStringInfoString(ev, "null");
}

void
cs_evidence_bool(Evidence *ev, const char *key, bool value)
{
	evidence_key(ev, key);
	appendStringInfoString(ev, value ? "true" : "false");
}

void
cs_evidence_int(Evidence *ev, const char *key, int64 value)
{
	evidence_key(ev, key);
	appendStringInfo(ev, INT64_FORMAT, value);
}

void
cs_evidence_null(Evidence *ev, const char *key)
{
	evidence_key(ev, key);
	appendStringInfoString(ev, "null");
}

/* A number, or null. */
void
cs_evidence_numeric(Evidence *ev, const char *key, Numeric value)
{
	evidence_key(ev, key);
	if (value)
		appendStringInfoString(ev, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value))));
	else
		appendStringInfoString(ev, "null");
}

static void
evidence_datetime(Evidence *ev, const char *key, Datum value, Oid type, bool isnull)
{
	evidence_key(ev, key);
	if (isnull)
		appendStringInfoString(ev, "null");
	else
		escape_json(ev, JsonEncodeDateTime(NULL, value, type, NULL));
}

void
cs_evidence_date(Evidence *ev, const char *key, DateADT value, bool isnull)
{
	evidence_datetime(ev, key, DateADTGetDatum(value), DATEOID, isnull);
}

void
cs_evidence_timestamptz(Evidence *ev, const char *key, TimestampTz value)
{
	evidence_datetime(ev, key, TimestampTzGetDatum(value), TIMESTAMPTZOID, false);
}

/* An interval as interval_out writes it, such as "30 days". */
void
cs_evidence_interval(Evidence *ev, const char *key, const Interval *span)
{
	cs_evidence_text(ev, key, DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(span))));
}

/* An array of the strings items[i] (of those with chosen[i], if chosen is given), in order. */
void
cs_evidence_strings(Evidence *ev, const char *key, const char *const *items, int n, const bool *chosen)
{
	bool		first = true;

	evidence_key(ev, key);
	appendStringInfoChar(ev, '[');
	for (int i = 0; i < n; i++)
	{
		if (chosen && !chosen[i])
			continue;
		if (!first)
			appendStringInfoChar(ev, ',');
		escape_json(ev, items[i]);
		first = false;
	}
	appendStringInfoChar(ev, ']');
}

/* The object as jsonb; ev is done with. */
Datum
cs_evidence_finish(Evidence *ev)
{
	appendStringInfoChar(ev, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(ev->data));
}
