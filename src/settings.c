/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The extension's settings (GUCs) and the calendar they define: the
 *	  legal day of a timestamp in the regulator's time zone, and interval
 *	  arithmetic on that zone's calendar.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "settings.h"

#include "common/int.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(credit_sandbox_legal_day);

char	   *cs_time_zone = NULL;
static char *tolerance_window_text = NULL;
static int	transaction_partitions = 0;
static char *correction_period_text = NULL;

static Interval tolerance_window_value;
static Interval correction_period_value;
Interval   *cs_tolerance_window = &tolerance_window_value;
Interval   *cs_correction_period = &correction_period_value;

static pg_tz *legal_tz = NULL;

/*
 * Parses interval text without throwing, so that GUC check hooks and rule
 * validation can report a bad value in their own words.  Infinite
 * intervals (17 and later accept them) are refused on every major: a
 * window or a period is a finite span.
 */
bool
cs_parse_interval(const char *text, Interval *result)
{
	return cs_interval_in_safe(text, result) && cs_interval_is_finite(result);
}

/* Zero or negative spans make no sense for a window. */
bool
cs_interval_positive(const Interval *span)
{
	Interval	zero = {0};

	return DatumGetBool(DirectFunctionCall2(interval_gt,
											IntervalPGetDatum(span),
											IntervalPGetDatum(&zero)));
}

static bool
check_time_zone(char **newval, void **extra, GucSource source)
{
	pg_tz	   *tz = pg_tzset(*newval);

	if (tz == NULL || !pg_tz_acceptable(tz))
	{
		GUC_check_errdetail("\"%s\" is not a time zone PostgreSQL knows.", *newval);
		GUC_check_errhint("Use a name from pg_timezone_names, such as Asia/Shanghai.");
		return false;
	}
	return true;
}

static void
assign_time_zone(const char *newval, void *extra)
{
	legal_tz = pg_tzset(newval);
}

static bool
check_positive_interval(char **newval, void **extra, GucSource source)
{
	Interval	span;

	if (!cs_parse_interval(*newval, &span) || !cs_interval_positive(&span))
	{
		GUC_check_errdetail("\"%s\" is not a positive interval.", *newval);
		GUC_check_errhint("Write it as interval text, such as '365 days'.");
		return false;
	}
	return true;
}

static void
assign_tolerance_window(const char *newval, void *extra)
{
	(void) cs_parse_interval(newval, &tolerance_window_value);
}

static void
assign_correction_period(const char *newval, void *extra)
{
	(void) cs_parse_interval(newval, &correction_period_value);
}

/* Called first by _PG_init: every module reads the settings. */
void
cs_settings_init(void)
{
	/* Superuser-only: a session must not move its own rows to another day. */
	DefineCustomStringVariable("credit_sandbox.time_zone",
							   "Time zone of the regulator's legal day.",
							   "Licence validity, list entries and reference prices are judged on the row's date in this zone, whatever the session's TimeZone.",
							   &cs_time_zone,
							   "Asia/Shanghai",
							   PGC_SUSET, 0,
							   check_time_zone, assign_time_zone, NULL);
	DefineCustomStringVariable("credit_sandbox.tolerance_window",
							   "How far back an earlier warning or tip of the same red line cancels sandbox tolerance.",
							   NULL,
							   &tolerance_window_text,
							   "365 days",
							   PGC_SUSET, 0,
							   check_positive_interval, assign_tolerance_window, NULL);
	DefineCustomStringVariable("credit_sandbox.correction_period",
							   "Correction period granted by a sandbox administrative tip (due_at = hit time + this).",
							   NULL,
							   &correction_period_text,
							   "7 days",
							   PGC_SUSET, 0,
							   check_positive_interval, assign_correction_period, NULL);
	DefineCustomIntVariable("credit_sandbox.transaction_partitions",
							"Hash partitions of credit_sandbox.transactions made by CREATE EXTENSION (0: not partitioned).",
							"Read only when the extension is created; set the same value before restoring a dump.",
							&transaction_partitions,
							0, 0, 1024,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("credit_sandbox");
}

/*
 * The row's legal day: its date in the regulator's time zone.  An infinite
 * moment has an infinite day, as timestamptz::date gives (timestamp2tm
 * would read the infinity sentinel as a date in the year 294277).
 */
DateADT
cs_legal_date(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	DateADT		day;

	if (TIMESTAMP_NOT_FINITE(ts))
	{
		if (TIMESTAMP_IS_NOBEGIN(ts))
			DATE_NOBEGIN(day);
		else
			DATE_NOEND(day);
		return day;
	}
	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, legal_tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

Datum
credit_sandbox_legal_day(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(cs_legal_date(PG_GETARG_TIMESTAMPTZ(0)));
}

/* Moves a calendar date by months, as PostgreSQL's interval arithmetic does. */
static void
add_months(int *year, int *mon, int *mday, int months)
{
	*mon += months;
	if (*mon > MONTHS_PER_YEAR)
	{
		*year += (*mon - 1) / MONTHS_PER_YEAR;
		*mon = (*mon - 1) % MONTHS_PER_YEAR + 1;
	}
	else if (*mon < 1)
	{
		*year += *mon / MONTHS_PER_YEAR - 1;
		*mon = *mon % MONTHS_PER_YEAR + MONTHS_PER_YEAR;
	}
	/* the 31st of a shorter month is its last day */
	*mday = Min(*mday, day_tab[isleap(*year)][*mon - 1]);
}

/*
 * Moves ts by months or days of the regulator's local calendar: the local
 * time of day stays, the offset is that of the new day.
 */
static bool
add_local_days(TimestampTz *ts, int months, int days)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(*ts, &tz, &tm, &fsec, NULL, legal_tz) != 0)
		return false;
	add_months(&tm.tm_year, &tm.tm_mon, &tm.tm_mday, months);
	if (days != 0)
		j2date(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) + days, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	if (!IS_VALID_JULIAN(tm.tm_year, tm.tm_mon, tm.tm_mday))
		return false;
	tz = DetermineTimeZoneOffset(&tm, legal_tz);
	return tm2timestamp(&tm, fsec, &tz, ts) == 0 && IS_VALID_TIMESTAMP(*ts);
}

/*
 * ts + sign * span, computed as timestamptz + interval does but in the
 * regulator's time zone, not the session's: months, then days, move the
 * local calendar there (so "7 days" across a daylight-saving change is 7
 * local days), then the time part is added as elapsed time.  The same rows
 * then give the same windows and deadlines from any session.  A result
 * beyond the timestamp range saturates to infinity in its direction: a row
 * at the end of time is still judged.
 */
static TimestampTz
add_interval_legal(TimestampTz ts, const Interval *span, int sign)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		return ts;
	if ((span->month == 0 || add_local_days(&ts, sign * span->month, 0)) &&
		(span->day == 0 || add_local_days(&ts, 0, sign * span->day)) &&
		!pg_add_s64_overflow(ts, sign * span->time, &ts) && IS_VALID_TIMESTAMP(ts))
		return ts;
	return sign > 0 ? DT_NOEND : DT_NOBEGIN;
}

TimestampTz
cs_add_interval(TimestampTz ts, const Interval *span)
{
	return add_interval_legal(ts, span, 1);
}

TimestampTz
cs_sub_interval(TimestampTz ts, const Interval *span)
{
	return add_interval_legal(ts, span, -1);
}

/*
 * The day that (day + span)::date gives, in whole-day arithmetic: no time
 * zone, and no overflow where the timestamp range ends before the date
 * range does.
 */
DateADT
cs_date_add_interval(DateADT day, const Interval *span)
{
	int			year;
	int			mon;
	int			mday;
	int64		whole_days = span->time / USECS_PER_DAY - (span->time % USECS_PER_DAY < 0 ? 1 : 0);

	if (DATE_NOT_FINITE(day))
		return day;
	j2date(day + POSTGRES_EPOCH_JDATE, &year, &mon, &mday);
	add_months(&year, &mon, &mday, span->month);
	return date2j(year, mon, mday) - POSTGRES_EPOCH_JDATE + span->day + whole_days;
}
