/*-------------------------------------------------------------------------
 *
 * pg_shim.c
 *	  The memory functions of PostgreSQL that src/matcher.c calls, on malloc,
 *	  for the stand-alone matcher fuzz target.
 *
 * Every block is remembered so that shim_reset() can free what one input
 * allocated, as the backend's MemoryContextReset does: the matcher never
 * frees its automaton itself, and AddressSanitizer then sees each block as
 * a separate allocation with its own bounds (a backend's memory context
 * would hide an overrun inside its larger block).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pg_shim.h"

#define MAX_BLOCKS 64

static void *blocks[MAX_BLOCKS];
static int	nblocks = 0;

static void *
remember(void *p)
{
	if (p == NULL || nblocks == MAX_BLOCKS)
		abort();
	blocks[nblocks++] = p;
	return p;
}

void *
palloc(Size size)
{
	return remember(malloc(size));
}

void *
palloc0(Size size)
{
	return remember(calloc(1, size));
}

void *
palloc_extended(Size size, int flags)
{
	return (flags & MCXT_ALLOC_ZERO) ? palloc0(size) : palloc(size);
}

void
pfree(void *pointer)
{
	for (int i = 0; i < nblocks; i++)
		if (blocks[i] == pointer)
		{
			free(pointer);
			blocks[i] = blocks[--nblocks];
			return;
		}
	abort();					/* not a block of ours: the backend would crash too */
}

void
shim_reset(void)
{
	while (nblocks > 0)
		free(blocks[--nblocks]);
}
