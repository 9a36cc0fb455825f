/*-------------------------------------------------------------------------
 *
 * watched.h
 *	  Backend-local caches that are stale once one of their tables changed,
 *	  all behind one relcache callback.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_WATCHED_H
#define CS_WATCHED_H

#include "postgres.h"

/*
 * A backend-local cache that is stale once any of its tables changed: a
 * statement trigger on each sends a relcache invalidation (invalidate_cache),
 * which marks the cache stale here and in every other backend at commit.
 */
typedef struct WatchedTables
{
	const char *const *names;	/* tables of schema credit_sandbox */
	int			ntables;
	Oid			oids[8];
	bool		valid;
} WatchedTables;

/* at most CS_MAX_WATCHES caches, each watched from _PG_init on */
#define CS_MAX_WATCHES 8

extern void cs_watch_tables(WatchedTables *watch);
extern void cs_watch_refresh(WatchedTables *watch);

#endif							/* CS_WATCHED_H */
