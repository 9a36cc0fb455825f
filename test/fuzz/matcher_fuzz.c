/*-------------------------------------------------------------------------
 *
 * matcher_fuzz.c
 *	  libFuzzer target for src/matcher.c (the Aho-Corasick term matcher),
 *	  checked against a naive substring search.
 *
 * An input is NUL-separated: every segment but the last is a term (empty
 * ones and duplicates included), the last is the title.  The matcher must
 * report exactly the terms a naive search finds in the title: a non-empty
 * term that occurs, and of equal terms only the first (matcher.h).  Any
 * difference aborts, so that libFuzzer keeps the input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "matcher.h"
#include "pg_shim.h"

#include <stdio.h>

#define MAX_TERMS 48

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether term i is reported when it occurs: non-empty and the first of its equals. */
static bool
reportable(char *const *terms, int i)
{
	if (terms[i][0] == '\0')
		return false;
	for (int j = 0; j < i; j++)
		if (strcmp(terms[j], terms[i]) == 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + 1);
	char	   *terms[MAX_TERMS];
	int			nterms = 0;
	const char *title;
	int			title_len;
	bool		found[MAX_TERMS];
	int			count;
	int			expected_count = 0;
	TermMatcher *m;

	memcpy(copy, data, size);
	copy[size] = '\0';
	title = copy;
	/* every NUL ends a term; what follows the last one is the title */
	for (char *p = copy; p < copy + size && nterms < MAX_TERMS; p++)
		if (*p == '\0')
		{
			terms[nterms++] = (char *) title;
			title = p + 1;
		}
	title_len = (int) strlen(title);

	m = cs_matcher_build((const char *const *) terms, nterms);
	if (cs_matcher_nterms(m) != nterms)
		abort();
	count = cs_matcher_scan(m, title, title_len, found);
	for (int i = 0; i < nterms; i++)
	{
		bool		expected = reportable(terms, i) && strstr(title, terms[i]) != NULL;

		if (found[i] != expected)
		{
			fprintf(stderr, "term %d \"%s\" in \"%s\": matcher says %d, naive search %d\n",
					i, terms[i], title, found[i], expected);
			abort();
		}
		expected_count += expected;
	}
	if (count != expected_count)
	{
		fprintf(stderr, "matcher counts %d terms, naive search %d\n", count, expected_count);
		abort();
	}
	shim_reset();
	free(copy);
	return 0;
}
