/*-------------------------------------------------------------------------
 *
 * key_readback.h
 *	  The executor permission hook that limits the platforms' column grants
 *	  on the event tables to INSERT ... RETURNING.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_KEY_READBACK_H
#define CS_KEY_READBACK_H

extern void cs_key_readback_init(void);

#endif							/* CS_KEY_READBACK_H */
