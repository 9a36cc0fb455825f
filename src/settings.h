/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The extension's settings (GUCs) and the calendar they define: the
 *	  regulator's legal day and interval arithmetic in its time zone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_SETTINGS_H
#define CS_SETTINGS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"

extern char *cs_time_zone;
extern Interval *cs_tolerance_window;
extern Interval *cs_correction_period;

extern void cs_settings_init(void);

extern bool cs_parse_interval(const char *text, Interval *result);
extern bool cs_interval_positive(const Interval *span);
extern DateADT cs_legal_date(TimestampTz ts);
extern TimestampTz cs_add_interval(TimestampTz ts, const Interval *span);
extern TimestampTz cs_sub_interval(TimestampTz ts, const Interval *span);
extern DateADT cs_date_add_interval(DateADT day, const Interval *span);

#endif							/* CS_SETTINGS_H */
