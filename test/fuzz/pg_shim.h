/*-------------------------------------------------------------------------
 *
 * pg_shim.h
 *	  Frees what the shim's palloc handed out since the last reset.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_PG_SHIM_H
#define CS_PG_SHIM_H

extern void shim_reset(void);

#endif							/* CS_PG_SHIM_H */
