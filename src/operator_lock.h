/*-------------------------------------------------------------------------
 *
 * operator_lock.h
 *	  The locks that serialise the checks of one operator, taken in one
 *	  global order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_OPERATOR_LOCK_H
#define CS_OPERATOR_LOCK_H

#include "postgres.h"

/* An operator's place in the global lock order: its bucket, then its own hash. */
typedef uint64 OperatorLockKey;

extern OperatorLockKey cs_operator_lock_key(const char *operator_id, int len);
extern void cs_lock_operator(const char *operator_id);
extern void cs_lock_operators(OperatorLockKey *keys, int n);
extern void cs_lock_all_operators(void);

#endif							/* CS_OPERATOR_LOCK_H */
