/*-------------------------------------------------------------------------
 *
 * spi_util.h
 *	  SPI helpers every module uses: the extension's table names, kept
 *	  plans run on the latest snapshot, parameter arrays, string-keyed
 *	  hash tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_SPI_UTIL_H
#define CS_SPI_UTIL_H

#include "postgres.h"

#include "placement.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/hsearch.h"

extern void cs_spi_init(void);

extern char *cs_table(const char *relname);
extern SPIPlanPtr cs_prepare(const char *query, int nargs, Oid *argtypes);
extern void cs_execute(SPIPlanPtr plan, Datum *values, const char *nulls);
extern Datum cs_text_array(const char **items, int n);
extern Datum cs_int8_array(const int64 *items, int n);
extern Datum cs_timestamptz_array(const TimestampTz *items, int n);
extern HTAB *cs_string_hash_create(const char *name, long size, Size entrysize,
								   MemoryContext context);

#endif							/* CS_SPI_UTIL_H */
