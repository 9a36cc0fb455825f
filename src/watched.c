/*-------------------------------------------------------------------------
 *
 * watched.c
 *	  The one relcache callback of the library and the list of caches it
 *	  marks stale.
 *
 * A backend has ten relcache callback slots for every library it loads
 * together (PostgreSQL's MAX_RELCACHE_CALLBACKS), and a library that
 * takes one too many makes every new backend fail.  So every cache of
 * credit_sandbox is in one list behind a single callback, registered with
 * the first cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "spi_util.h"
#include "watched.h"

#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

static WatchedTables *watches[CS_MAX_WATCHES];
static int	nwatches = 0;

static void
watched_tables_changed(Datum arg, Oid relid)
{
	for (int w = 0; w < nwatches; w++)
	{
		WatchedTables *watch = watches[w];

		for (int i = 0; i < watch->ntables; i++)
			if (relid == InvalidOid || relid == watch->oids[i])
				watch->valid = false;
	}
}

void
cs_watch_tables(WatchedTables *watch)
{
	Assert(watch->ntables <= (int) lengthof(watch->oids));
	if (nwatches == lengthof(watches))
		elog(ERROR, "credit_sandbox: more than %d watched caches", CS_MAX_WATCHES);
	if (nwatches == 0)
		CacheRegisterRelcacheCallback(watched_tables_changed, (Datum) 0);
	watches[nwatches++] = watch;
}

/*
 * Marks the cache fresh before it is filled: a change seen while filling
 * it makes it stale again.
 */
void
cs_watch_refresh(WatchedTables *watch)
{
	Oid			nsp = get_namespace_oid(CS_SCHEMA, false);

	for (int i = 0; i < watch->ntables; i++)
		watch->oids[i] = get_relname_relid(watch->names[i], nsp);
	watch->valid = true;
}
