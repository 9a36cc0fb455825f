/*-------------------------------------------------------------------------
 *
 * evidence.h
 *	  The one builder of a hit's evidence: a JSON object written key by
 *	  key, finished as jsonb.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_EVIDENCE_H
#define CS_EVIDENCE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/numeric.h"

/* the object being written; its members are added in order */
typedef StringInfoData Evidence;

extern void cs_evidence_begin(Evidence *ev);
extern void cs_evidence_text(Evidence *ev, const char *key, const char *value);
extern void cs_evidence_bool(Evidence *ev, const char *key, bool value);
extern void cs_evidence_int(Evidence *ev, const char *key, int64 value);
extern void cs_evidence_null(Evidence *ev, const char *key);
extern void cs_evidence_numeric(Evidence *ev, const char *key, Numeric value);
extern void cs_evidence_date(Evidence *ev, const char *key, DateADT value, bool isnull);
extern void cs_evidence_timestamptz(Evidence *ev, const char *key, TimestampTz value);
extern void cs_evidence_interval(Evidence *ev, const char *key, const Interval *span);
extern void cs_evidence_strings(Evidence *ev, const char *key, const char *const *items, int n,
								const bool *chosen);
extern Datum cs_evidence_finish(Evidence *ev);

#endif							/* CS_EVIDENCE_H */
