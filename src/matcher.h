/*-------------------------------------------------------------------------
 *
 * matcher.h
 *	  Multi-pattern substring matcher (Aho-Corasick) over UTF-8 bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_MATCHER_H
#define CS_MATCHER_H

typedef struct TermMatcher TermMatcher;

/*
 * Builds a matcher for nterms patterns in the current memory context.
 * Patterns are matched as given (the caller folds case beforehand).
 */
extern TermMatcher *cs_matcher_build(const char *const *terms, int nterms);

/*
 * Scans text once; sets found[i] for every pattern i that occurs in it and
 * returns how many distinct patterns occur.  found has nterms entries.
 */
extern int	cs_matcher_scan(const TermMatcher *m, const char *text, int len, bool *found);

extern int	cs_matcher_nterms(const TermMatcher *m);

#endif							/* CS_MATCHER_H */
