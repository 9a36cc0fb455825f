/*-------------------------------------------------------------------------
 *
 * credit_sandbox.c
 *	  Module initialisation: the settings first, then each module's init
 *	  (hooks, caches and their invalidation, transaction callbacks).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "facts.h"
#include "history.h"
#include "key_readback.h"
#include "outcome.h"
#include "settings.h"
#include "spi_util.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	cs_settings_init();
	cs_spi_init();
	cs_catalog_init();
	cs_facts_init();
	cs_history_init();
	cs_outcome_init();
	cs_key_readback_init();
}
