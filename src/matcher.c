/*-------------------------------------------------------------------------
 *
 * matcher.c
 *	  Aho-Corasick automaton for the prohibited and absolute term lists.
 *
 * A title is scanned once whatever the number of terms.  Matching runs on
 * bytes: UTF-8 is self-synchronising, so a valid UTF-8 term can only match
 * a valid UTF-8 title at a character boundary.  The trie keeps sparse
 * sibling lists (memory grows with the total length of the terms, not 256
 * times it) and a dense table for the root, where most bytes of a title
 * end their step; failure links make the scan linear in the title.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "matcher.h"

typedef struct MatchNode
{
	int32		first_child;	/* children form a sibling list */
	int32		next_sibling;
	int32		fail;			/* longest proper suffix that is a trie node */
	int32		term;			/* term ending exactly here, or -1 */
	int32		out;			/* nearest node on the fail chain with a term, or -1 */
	unsigned char byte;			/* label of the edge into this node */
} MatchNode;

struct TermMatcher
{
	int			nterms;
	int			nnodes;
	MatchNode  *nodes;
	int32		root_next[256];	/* dense first step: most bytes stop here */
};

static int
child_of(const TermMatcher *m, int state, unsigned char c)
{
	if (state == 0)
		return m->root_next[c];
	for (int s = m->nodes[state].first_child; s > 0; s = m->nodes[s].next_sibling)
		if (m->nodes[s].byte == c)
			return s;
	return -1;
}

/* The automaton's step: follow failure links until an edge on c exists. */
static inline int
step(const TermMatcher *m, int state, unsigned char c)
{
	for (;;)
	{
		int			child = child_of(m, state, c);

		if (child >= 0)
			return child;
		if (state == 0)
			return 0;
		state = m->nodes[state].fail;
	}
}

TermMatcher *
cs_matcher_build(const char *const *terms, int nterms)
{
	TermMatcher *m = palloc0(sizeof(TermMatcher));
	Size		capacity = 1;
	int		   *queue;
	int			head = 0,
				tail = 0;

	for (int i = 0; i < nterms; i++)
		capacity += strlen(terms[i]);
	m->nterms = nterms;
	m->nodes = palloc_extended(sizeof(MatchNode) * capacity, MCXT_ALLOC_HUGE);
	memset(m->root_next, -1, sizeof(m->root_next));
	m->nodes[0] = (MatchNode) {0, 0, 0, -1, -1, 0};
	m->nnodes = 1;

	/* the trie */
	for (int i = 0; i < nterms; i++)
	{
		int			state = 0;

		for (const unsigned char *p = (const unsigned char *) terms[i]; *p; p++)
		{
			int			child = child_of(m, state, *p);

			if (child < 0)
			{
				child = m->nnodes++;
				m->nodes[child] = (MatchNode) {0, 0, 0, -1, -1, *p};
				if (state == 0)
					m->root_next[*p] = child;
				else
				{
					m->nodes[child].next_sibling = m->nodes[state].first_child;
					m->nodes[state].first_child = child;
				}
			}
			state = child;
		}
		/* an empty term matches nothing; of duplicates the first is reported */
		if (state != 0 && m->nodes[state].term < 0)
			m->nodes[state].term = i;
	}

	/* failure and output links, breadth first */
	queue = palloc(sizeof(int) * m->nnodes);
	for (int c = 0; c < 256; c++)
		if (m->root_next[c] > 0)
			queue[tail++] = m->root_next[c];
	while (head < tail)
	{
		int			state = queue[head++];
		MatchNode  *fail = &m->nodes[m->nodes[state].fail];

		m->nodes[state].out = fail->term >= 0 ? m->nodes[state].fail : fail->out;
		for (int s = m->nodes[state].first_child; s > 0; s = m->nodes[s].next_sibling)
		{
			m->nodes[s].fail = step(m, m->nodes[state].fail, m->nodes[s].byte);
			queue[tail++] = s;
		}
	}
	pfree(queue);
	return m;
}

int
cs_matcher_scan(const TermMatcher *m, const char *text, int len, bool *found)
{
	int			state = 0;
	int			count = 0;

	memset(found, 0, sizeof(bool) * m->nterms);
	for (int i = 0; i < len; i++)
	{
		state = step(m, state, (unsigned char) text[i]);
		for (int s = m->nodes[state].term >= 0 ? state : m->nodes[state].out;
			 s >= 0; s = m->nodes[s].out)
		{
			int			term = m->nodes[s].term;

			if (!found[term])
			{
				found[term] = true;
				count++;
			}
		}
	}
	return count;
}

int
cs_matcher_nterms(const TermMatcher *m)
{
	return m->nterms;
}
