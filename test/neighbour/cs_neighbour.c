/*-------------------------------------------------------------------------
 *
 * cs_neighbour.c
 *	  A test library that takes cache callback slots as a large neighbour
 *	  does (Citus takes five relcache callbacks), so that the test suite
 *	  runs with credit_sandbox beside it: preloaded, it registers
 *	  cs_neighbour.relcache_callbacks relcache callbacks and as many
 *	  syscache callbacks, each doing nothing.
 *
 * A backend has ten relcache callback slots for every library together,
 * and PostgreSQL itself takes two in every backend (the plan cache and the
 * type cache): the default, seven, leaves credit_sandbox exactly one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static int	relcache_callbacks = 7;

static void
relcache_changed(Datum arg, Oid relid)
{
}

static void
syscache_changed(Datum arg, int cacheid, uint32 hashvalue)
{
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cs_neighbour must be loaded by shared_preload_libraries")));
	DefineCustomIntVariable("cs_neighbour.relcache_callbacks",
							"Relcache and syscache callbacks this test library registers.",
							NULL,
							&relcache_callbacks,
							7, 0, 10,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("cs_neighbour");
	for (int i = 0; i < relcache_callbacks; i++)
	{
		CacheRegisterRelcacheCallback(relcache_changed, Int32GetDatum(i));
		CacheRegisterSyscacheCallback(PROCOID, syscache_changed, Int32GetDatum(i));
	}
}
