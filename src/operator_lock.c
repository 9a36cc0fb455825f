/*-------------------------------------------------------------------------
 *
 * operator_lock.c
 *	  The locks that serialise the checks of one operator: a check reads an
 *	  operator's history and writes its warnings under its lock, held until
 *	  the transaction ends, so that concurrent writers end with what a
 *	  one-by-one insertion in commit order gives.
 *
 * Two levels.  An operator's own lock, taken with its bucket's lock in a
 * weak mode (RowExclusiveLock, which does not conflict with itself), serves
 * statements of a few operators: two of them wait for each other only when
 * they share an operator, so a transaction a platform keeps open holds up
 * no other operator's inserts.  A statement of many operators (a COPY of a
 * whole marketplace) takes the buckets themselves in ExclusiveLock instead:
 * operators are spread over CS_LOCK_BUCKETS buckets by the hash of their
 * id, so it holds at most that many locks, which PostgreSQL's default lock
 * table can take, where one lock per operator would run out of shared
 * memory beyond a few thousand operators.  What works across all operators
 * (grading everyone, sandbox renewal) takes every bucket.
 *
 * Every caller takes its locks in one global order, by bucket and then by
 * the operator's hash (a bucket's lock before its operators'), so the
 * extension's own statements never deadlock each other.
 *
 * On a Citus node each shard group has buckets of its own: one coordinator
 * transaction writes several shard groups of a worker through as many
 * connections, which must not wait for each other on a bucket their
 * operators share.
 *
 * The locks are advisory lock tags of classes of their own (the last field,
 * which SQL's pg_advisory_lock sets to 1 or 2): no login can take one of
 * them from SQL and so hold up the checks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "operator_lock.h"
#include "placement.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(credit_sandbox_lock_operator);
PG_FUNCTION_INFO_V1(credit_sandbox_lock_all_operators);

#define CS_LOCK_SPACE 0x43534258	/* 'CSBX': a bucket's tag */
#define CS_BUCKET_LOCK_CLASS 0x4353 /* 'CS' */
#define CS_OPERATOR_LOCK_CLASS 0x4354	/* 'CT' */
#define CS_LOCK_BUCKETS 512
#define CS_BUCKET_SHIFT 55			/* a key: the bucket above 55 bits of the id's own hash */

/* Statements of at most this many operators lock each operator, not buckets. */
#define CS_OPERATOR_LOCKS_MAX 64

OperatorLockKey
cs_operator_lock_key(const char *operator_id, int len)
{
	uint64		bucket = hash_bytes((const unsigned char *) operator_id, len) % CS_LOCK_BUCKETS;
	uint64		own = hash_bytes_extended((const unsigned char *) operator_id, len, 0);

	return (bucket << CS_BUCKET_SHIFT) | (own & ((UINT64CONST(1) << CS_BUCKET_SHIFT) - 1));
}

static void
lock_bucket(uint32 bucket, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, CS_LOCK_SPACE ^ cs_placement_lock_space(), bucket, CS_BUCKET_LOCK_CLASS);
	(void) LockAcquire(&tag, mode, false, false);
}

static void
lock_one(OperatorLockKey key)
{
	LOCKTAG		tag;

	lock_bucket((uint32) (key >> CS_BUCKET_SHIFT), RowExclusiveLock);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, CS_OPERATOR_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
cs_lock_operator(const char *operator_id)
{
	lock_one(cs_operator_lock_key(operator_id, strlen(operator_id)));
}

static int
compare_keys(const void *a, const void *b)
{
	OperatorLockKey x = *(const OperatorLockKey *) a;
	OperatorLockKey y = *(const OperatorLockKey *) b;

	return (x > y) - (x < y);
}

/* The locks of the operators of n keys (repeats allowed), in the global order; sorts keys. */
void
cs_lock_operators(OperatorLockKey *keys, int n)
{
	int			distinct = 0;

	qsort(keys, n, sizeof(OperatorLockKey), compare_keys);
	for (int i = 0; i < n; i++)
		if (i == 0 || keys[i] != keys[i - 1])
			keys[distinct++] = keys[i];
	for (int i = 0; i < distinct; i++)
	{
		uint32		bucket = (uint32) (keys[i] >> CS_BUCKET_SHIFT);

		if (distinct <= CS_OPERATOR_LOCKS_MAX)
			lock_one(keys[i]);
		else if (i == 0 || bucket != (uint32) (keys[i - 1] >> CS_BUCKET_SHIFT))
			lock_bucket(bucket, ExclusiveLock);
	}
}

/* Every bucket: no check of any operator runs until the transaction ends. */
void
cs_lock_all_operators(void)
{
	for (uint32 bucket = 0; bucket < CS_LOCK_BUCKETS; bucket++)
		lock_bucket(bucket, ExclusiveLock);
}

static Datum
lock_operator_placed(PG_FUNCTION_ARGS)
{
	cs_lock_operator(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * lock_operator(operator_id), for the extension's functions in SQL: on
 * Citus the lock of the node and shard group where the operator's checks
 * take it.
 */
Datum
credit_sandbox_lock_operator(PG_FUNCTION_ARGS)
{
	return cs_call_at_operator(lock_operator_placed, fcinfo);
}

Datum
credit_sandbox_lock_all_operators(PG_FUNCTION_ARGS)
{
	cs_lock_all_operators();
	PG_RETURN_VOID();
}
