/*-------------------------------------------------------------------------
 *
 * grading.h
 *	  Credit classes: the regrade a warning clue triggers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_GRADING_H
#define CS_GRADING_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern void cs_grade_after_warning_clue(const char *operator_id, const char *code, TimestampTz at);

#endif							/* CS_GRADING_H */
