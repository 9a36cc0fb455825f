/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The rule catalogue: the red lines, their parameters, and the
 *	  reference lists (categories, terms) they read, loaded and validated
 *	  once per change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CS_CATALOG_H
#define CS_CATALOG_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

typedef enum RuleCode
{
	RL01, RL02, RL03, RL04, RL05, RL06, RL07, RL08, RL09, TP01,
	NUM_RULES
} RuleCode;

typedef struct Rule
{
	bool		enabled;		/* a row exists and is enabled */
	bool		tolerable;
	bool		is_tip;			/* list = 'admin_tip' */
	int32		version;
	char		code[5];
	char	   *title;
	Jsonb	   *params;			/* as stored */
	/* parameters, parsed once; only the ones a rule uses are set */
	Interval	window;
	Interval	lookback;
	Interval	return_period;
	Interval	baseline;
	Interval	expires_within;
	int64		threshold;
	Numeric		factor;
	Numeric		max_markup_pct;
} Rule;

struct TermMatcher;
struct HTAB;

typedef struct RuleCatalog
{
	Rule		rules[NUM_RULES];
	struct TermMatcher *prohibited_terms;
	char	  **prohibited_term_text;	/* as written, in term order */
	struct TermMatcher *absolute_terms;
	char	  **absolute_term_text;
	struct HTAB *regulated_categories;	/* category -> permit */
	struct HTAB *prohibited_categories;
	struct HTAB *return_exempt_categories;
} RuleCatalog;

extern const char *const cs_rule_codes[NUM_RULES];

extern void cs_catalog_init(void);
extern const RuleCatalog *cs_catalog(void);
extern const RuleCatalog *cs_catalog_proposed(const RuleCatalog *current, Jsonb *changes);
extern const char *cs_category_permit(const RuleCatalog *cat, const char *category);
extern bool cs_category_in(struct HTAB *set, const char *category);
extern char *cs_fold_case(const char *text, int len);

#endif							/* CS_CATALOG_H */
