/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between the PostgreSQL majors credit_sandbox builds on
 *	  (15, 17, 18), each behind a PG_VERSION_NUM guard, so that the rest of
 *	  the code is written once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_COMPAT_H
#define CS_COMPAT_H

#include "postgres.h"

#include "access/genam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

#if PG_VERSION_NUM < 150000
#error "credit_sandbox needs PostgreSQL 15 or later"
#endif

/*
 * 18 added an instrumentation argument to index_beginscan (NULL: none, as
 * outside EXPLAIN ANALYZE).
 */
#if PG_VERSION_NUM >= 180000
#define cs_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define cs_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * The checks run with pg_catalog as search path, and the inserting
 * session's temporary schema out of the way: a type or table of the same
 * name as a catalogue one, made there by the inserting role, must not be
 * what the owner's queries find.  Up to 16 an override search path does it
 * without touching the setting, and leaves the temporary schema out
 * altogether; 17 removed it, and the public way is the one fmgr uses for
 * SECURITY DEFINER functions: the setting saved in a GUC nest level of its
 * own, "pg_catalog, pg_temp" (a temporary schema not named in the setting
 * would be searched first).  Either is undone with the transaction on
 * error.  cs_pin_search_path returns what cs_unpin_search_path needs.
 */
#if PG_VERSION_NUM >= 170000
static inline int
cs_pin_search_path(void)
{
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest_level;
}

static inline void
cs_unpin_search_path(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}
#else
static inline int
cs_pin_search_path(void)
{
	/* pg_catalog alone: no temporary schema either */
	static OverrideSearchPath catalog_only = {NIL, true, false, 0};

	PushOverrideSearchPath(&catalog_only);
	return 0;
}

static inline void
cs_unpin_search_path(int nest_level)
{
	PopOverrideSearchPath();
}
#endif

/*
 * Interval text to an interval, without throwing (GUC check hooks and rule
 * validation report a bad value in their own words).  From 16 on, input
 * functions report errors softly into an ErrorSaveContext; 15 has no such
 * thing, and its interval input is decoded as interval_in does it, with the
 * datetime functions of that release (which a released major keeps).
 */
#if PG_VERSION_NUM >= 160000
static inline bool
cs_interval_in_safe(const char *text, Interval *result)
{
	ErrorSaveContext escontext = {T_ErrorSaveContext};
	Datum		value;

	if (!DirectInputFunctionCallSafe(interval_in, unconstify(char *, text), INTERVALOID, -1,
									 (Node *) &escontext, &value))
		return false;
	*result = *DatumGetIntervalP(value);
	return true;
}
#else
static inline bool
cs_interval_in_safe(const char *text, Interval *result)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_itm_in itm;
	int			rc;

	rc = ParseDateTime(text, workbuf, sizeof(workbuf), field, ftype,
					   MAXDATEFIELDS, &nf);
	if (rc == 0)
		rc = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
	if (rc == DTERR_BAD_FORMAT)
	{
		char	   *copy = pstrdup(text);

		rc = DecodeISO8601Interval(copy, &dtype, &itm);
		pfree(copy);
	}
	if (rc != 0 || dtype != DTK_DELTA)
		return false;
	return itmin2interval(&itm, result) == 0;
}
#endif

/*
 * 17 added infinite intervals, which interval input accepts; the windows
 * and periods here must be finite on every major.
 */
#if PG_VERSION_NUM >= 170000
#define cs_interval_is_finite(span) (!INTERVAL_NOT_FINITE(span))
#else
#define cs_interval_is_finite(span) true
#endif

/*
 * 16 moved the permissions a query needs out of its range table into a list
 * of their own, which the executor's permission hook receives; an entry has
 * the same fields either way.
 */
#if PG_VERSION_NUM >= 160000
typedef RTEPermissionInfo CsPermission;
#define CS_PERMISSIONS_HOOK_PARAMS List *range_table, List *permissions, bool ereport_on_violation
#define CS_PERMISSIONS_HOOK_ARGS range_table, permissions, ereport_on_violation
#define CS_PERMISSIONS permissions
#else
typedef RangeTblEntry CsPermission;
#define CS_PERMISSIONS_HOOK_PARAMS List *range_table, bool ereport_on_violation
#define CS_PERMISSIONS_HOOK_ARGS range_table, ereport_on_violation
#define CS_PERMISSIONS range_table
#endif

#endif							/* CS_COMPAT_H */
