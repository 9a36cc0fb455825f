/*-------------------------------------------------------------------------
 *
 * outcome.c
 *	  From a hit to a warning: dedup into the open warning of its key, sandbox
 *	  tolerance (a first tolerable hit becomes an administrative tip with a
 *	  correction deadline), the sandbox exit on a warning clue, and the
 *	  NOTIFY that reaches listening systems when the row commits.
 *
 * All writes for one operator happen under that operator's lock
 * (operator_lock.c), taken by the driver before the evaluator reads
 * anything, so the open-warning lookup and the insert that may follow
 * cannot race.
 *
 * A statement keeps a ledger of the open warnings it has touched: a further
 * hit on one of them is counted in memory, and the counts are written once
 * per statement (or when the ledger holds LEDGER_MAX_OPEN warnings), the hit
 * log once per batch.  Updating a hot warning once per hit, or even once per
 * batch, grows a chain of row versions that no one can prune before the
 * transaction ends, and every later lookup of that warning walks it: a
 * single COPY of millions of rows slowed down as it went.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "grading.h"
#include "outcome.h"
#include "settings.h"
#include "spi_util.h"
#include "watched.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define NOTIFY_CHANNEL "credit_sandbox"

/* The open warning of the hit's key, if any. */
static bool
find_open_warning(const Hit *hit, int64 *warning_id, bool *is_tip)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[3];
	bool		found;

	if (*plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};

		*plan = cs_prepare(psprintf("SELECT w.warning_id, w.list = 'admin_tip' FROM %s w"
								   " WHERE w.operator_id = $1 AND w.code = $2 AND w.subject_key = $3"
								   "   AND w.status = 'open'",
								   cs_table("warnings")),
						  3, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = CStringGetTextDatum(hit->subject_key);
	cs_execute(*plan, values, NULL);
	found = SPI_processed > 0;
	if (found)
	{
		bool		isnull;

		*warning_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*is_tip = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return found;
}

static int64
insert_warning(const Hit *hit, const char *list, bool has_due, TimestampTz due_at)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', has_due ? ' ' : 'n'};
	bool		isnull;
	int64		warning_id;

	if (*plan == NULL)
	{
		Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
		TIMESTAMPTZOID, INT4OID, JSONBOID, TIMESTAMPTZOID};

		/* the id named: a Citus shard has no identity default */
		*plan = cs_prepare(psprintf("INSERT INTO %s (warning_id, operator_id, code, list, subject_key, source_table,"
								   "    source_id, occurred_at, last_hit_at, rule_version, evidence, due_at)"
								   " OVERRIDING SYSTEM VALUE"
								   " VALUES (%s, $1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)"
								   " RETURNING warning_id",
								   cs_table("warnings"), cs_placed_nextval("warnings_warning_id_seq")),
						  10, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = CStringGetTextDatum(list);
	values[3] = CStringGetTextDatum(hit->subject_key);
	values[4] = CStringGetTextDatum(hit->source_table);
	values[5] = Int64GetDatum(hit->source_id);
	values[6] = TimestampTzGetDatum(hit->at);
	values[7] = Int32GetDatum(hit->rule->version);
	values[8] = hit->evidence;
	values[9] = TimestampTzGetDatum(due_at);
	cs_execute(*plan, values, nulls);
	warning_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return warning_id;
}

/*
 * A warning clue ends the operator's stay in the sandbox.  Stays are stamped
 * with the time the operator's lock was held (the clock, not the
 * transaction's start), so that stays of one operator follow each other in
 * the order they were written and never overlap.  The clock is read here,
 * not by clock_timestamp() in the statement: Citus refuses a volatile
 * function in an UPDATE of a distributed table (escalate_overdue on the
 * coordinator).
 */
static void
leave_sandbox(const Hit *hit, int64 warning_id)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[6];

	if (*plan == NULL)
	{
		Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		*plan = cs_prepare(psprintf("UPDATE %s m SET exited_at = $6, exit_reason = $2,"
								   "       exit_code = $3, exit_warning_id = $4, exit_hit_at = $5"
								   " WHERE m.operator_id = $1 AND m.exited_at IS NULL",
								   cs_table("sandbox_memberships")),
						  6, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(psprintf("%s: %s", hit->rule->code, hit->rule->title));
	values[2] = CStringGetTextDatum(hit->rule->code);
	values[3] = Int64GetDatum(warning_id);
	values[4] = TimestampTzGetDatum(hit->at);
	values[5] = TimestampTzGetDatum(GetCurrentTimestamp());
	cs_execute(*plan, values, NULL);
}

/*
 * NOTIFY credit_sandbox is a wake-up signal only: any login may LISTEN to
 * any channel, so it carries nothing (no operator, code or key), and it is
 * sent once, just before a transaction that wrote a warning or tip commits.
 * A prepared transaction sends none (PREPARE TRANSACTION refuses one that
 * has notified); nor does one that aborts.  A subtransaction that wrote a
 * warning and rolled back may leave a needless wake-up, which costs a
 * listener one look.
 */
static bool new_warning_in_xact = false;

static void
notify_at_commit(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT && new_warning_in_xact)
		Async_Notify(NOTIFY_CHANNEL, NULL);
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		new_warning_in_xact = false;
}

/* ---------------------------------------------------------------- ledger */

typedef struct LedgerEntry
{
	char	   *key;			/* operator, code, subject key */
	char	   *operator_id;
	int64		warning_id;
	bool		is_tip;
	int64		pending_hits;
	TimestampTz pending_last_hit;
} LedgerEntry;

/* A hit of the log not yet written. */
typedef struct LoggedHit
{
	const LedgerEntry *warning;
	const char *source_table;
	int64		source_id;
	TimestampTz at;
} LoggedHit;

/* The latest hit counted in memory on any warning of an operator and code. */
typedef struct PendingRecent
{
	char	   *key;			/* operator, code */
	TimestampTz last_hit;
} PendingRecent;

/* Warnings a ledger remembers before it writes their counts and forgets them. */
#define LEDGER_MAX_OPEN 65536

struct Ledger
{
	MemoryContext context;		/* the hit log */
	MemoryContext open_context; /* the warnings remembered */
	bool		one_operator;	/* every statement keyed by one operator */
	HTAB	   *open;			/* key -> LedgerEntry */
	HTAB	   *recent;			/* operator, code -> PendingRecent */
	int			nhits;
	int			capacity;
	LoggedHit  *hits;
};

static void
ledger_forget_open(Ledger *ledger)
{
	MemoryContextReset(ledger->open_context);
	ledger->open = cs_string_hash_create("credit_sandbox open warnings", 256, sizeof(LedgerEntry),
										 ledger->open_context);
	ledger->recent = cs_string_hash_create("credit_sandbox recent hits", 256, sizeof(PendingRecent),
										   ledger->open_context);
}

/*
 * A ledger for the hits of a statement.  With one_operator (the row
 * driver), its statements name the operator, never a list of rows: the
 * shape a Citus shard can run (README, "Partitioning and scaling out").
 */
Ledger *
cs_ledger_create(bool one_operator)
{
	Ledger	   *ledger = palloc0(sizeof(Ledger));

	ledger->context = AllocSetContextCreate(CurrentMemoryContext, "credit_sandbox ledger",
											ALLOCSET_DEFAULT_SIZES);
	ledger->open_context = AllocSetContextCreate(ledger->context, "credit_sandbox open warnings",
												 ALLOCSET_DEFAULT_SIZES);
	ledger->one_operator = one_operator;
	ledger_forget_open(ledger);
	return ledger;
}

static char *
recent_key(const char *operator_id, const char *code)
{
	return psprintf("%zu:%s%s", strlen(operator_id), operator_id, code);
}

/* Notes a hit counted in memory for the look-back of tolerated(). */
static void
note_pending_hit(Ledger *ledger, LedgerEntry *entry, const Hit *hit)
{
	char	   *key = recent_key(hit->operator_id, hit->rule->code);
	PendingRecent *recent = hash_search(ledger->recent, &key, HASH_FIND, NULL);

	entry->pending_hits++;
	entry->pending_last_hit = Max(entry->pending_last_hit, hit->at);
	if (recent == NULL)
	{
		key = MemoryContextStrdup(ledger->open_context, key);
		recent = hash_search(ledger->recent, &key, HASH_ENTER, NULL);
		recent->last_hit = hit->at;
	}
	recent->last_hit = Max(recent->last_hit, hit->at);
}

/* Whether a hit counted in memory on a warning of operator and code came after since. */
static bool
pending_hit_after(Ledger *ledger, const char *operator_id, const char *code, TimestampTz since)
{
	char	   *key = recent_key(operator_id, code);
	PendingRecent *recent = hash_search(ledger->recent, &key, HASH_FIND, NULL);

	return recent != NULL && recent->last_hit > since;
}

static void
log_hit(Ledger *ledger, const LedgerEntry *warning, const Hit *hit)
{
	if (ledger->nhits == ledger->capacity)
	{
		ledger->capacity = Max(64, ledger->capacity * 2);
		ledger->hits = ledger->hits
			? repalloc(ledger->hits, sizeof(LoggedHit) * ledger->capacity)
			: MemoryContextAlloc(ledger->context, sizeof(LoggedHit) * ledger->capacity);
	}
	ledger->hits[ledger->nhits].warning = warning;
	ledger->hits[ledger->nhits].source_table = hit->source_table;
	ledger->hits[ledger->nhits].source_id = hit->source_id;
	ledger->hits[ledger->nhits].at = hit->at;
	ledger->nhits++;
}

/*
 * The hit log names each hit's operator, the column a sharded deployment
 * distributes it by.  A 0.1 schema (the library updated, ALTER EXTENSION
 * UPDATE not run yet) lacks the column: its hits are logged without.  The
 * answer is kept until warning_hits changes (ALTER EXTENSION UPDATE adds
 * the column).
 */
static const char *const hit_log_tables[] = {"warning_hits"};
static WatchedTables hit_log_watch = {hit_log_tables, lengthof(hit_log_tables)};
static bool hit_log_has_operator;

static bool
hit_log_names_operator(void)
{
	if (!hit_log_watch.valid)
	{
		cs_watch_refresh(&hit_log_watch);
		hit_log_has_operator = get_attnum(hit_log_watch.oids[0], "operator_id") != InvalidAttrNumber;
	}
	return hit_log_has_operator;
}

void
cs_outcome_init(void)
{
	cs_watch_tables(&hit_log_watch);
	RegisterXactCallback(notify_at_commit, NULL);
}

/*
 * The counts kept in memory: with one operator a statement per warning,
 * else one statement.
 */
static void
write_counts(Ledger *ledger)
{
	static char one_plan_site;
	SPIPlanPtr *one_plan = cs_plan_slot(&one_plan_site);
	static char batch_plan_site;
	SPIPlanPtr *batch_plan = cs_plan_slot(&batch_plan_site);
	HASH_SEQ_STATUS status;
	LedgerEntry *entry;
	int			n = 0;
	long		batch_size = ledger->one_operator ? 0 : hash_get_num_entries(ledger->open);
	int64	   *ids = palloc(sizeof(int64) * Max(batch_size, 1));
	int64	   *hits = palloc(sizeof(int64) * Max(batch_size, 1));
	TimestampTz *last = palloc(sizeof(TimestampTz) * Max(batch_size, 1));

	if (*one_plan == NULL)
	{
		Oid			one_types[4] = {TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID};
		Oid			batch_types[3] = {INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID};
		char	   *warnings = cs_table("warnings");

		*one_plan = cs_prepare(psprintf("UPDATE %s w SET hits = w.hits + $3,"
									   "       last_hit_at = GREATEST(w.last_hit_at, $4)"
									   " WHERE w.operator_id = $1 AND w.warning_id = $2", warnings),
							  4, one_types);
		*batch_plan = cs_prepare(psprintf("UPDATE %s w SET hits = w.hits + u.n,"
										 "       last_hit_at = GREATEST(w.last_hit_at, u.last)"
										 "  FROM unnest($1, $2, $3) AS u(id, n, last)"
										 " WHERE w.warning_id = u.id", warnings),
								3, batch_types);
	}
	hash_seq_init(&status, ledger->open);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->pending_hits == 0)
			continue;
		if (ledger->one_operator)
		{
			Datum		values[4] = {CStringGetTextDatum(entry->operator_id), Int64GetDatum(entry->warning_id),
			Int64GetDatum(entry->pending_hits), TimestampTzGetDatum(entry->pending_last_hit)};

			cs_execute(*one_plan, values, NULL);
		}
		else
		{
			ids[n] = entry->warning_id;
			hits[n] = entry->pending_hits;
			last[n] = entry->pending_last_hit;
			n++;
		}
		entry->pending_hits = 0;
	}
	if (n > 0)
	{
		Datum		values[3] = {cs_int8_array(ids, n), cs_int8_array(hits, n), cs_timestamptz_array(last, n)};

		cs_execute(*batch_plan, values, NULL);
	}
}

/*
 * The hit log: with one operator a statement per hit, else one statement
 * (without the operator on a 0.1 schema, see hit_log_names_operator).
 */
static void
write_hit_log(Ledger *ledger)
{
	static char one_plan_site;
	SPIPlanPtr *one_plan = cs_plan_slot(&one_plan_site);
	static char batch_plan_sites[2];	/* without, with the operator */
	bool		names_operator;
	int			n = ledger->nhits;

	if (n == 0)
		return;
	/* each plan prepared when first used: on a 0.1 schema two of them cannot be */
	names_operator = hit_log_names_operator();
	if (ledger->one_operator && names_operator)
	{
		if (*one_plan == NULL)
		{
			Oid			types[5] = {TEXTOID, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID};

			*one_plan = cs_prepare(psprintf("INSERT INTO %s (operator_id, warning_id, source_table, source_id, hit_at)"
										   " VALUES ($1, $2, $3, $4, $5)", cs_table("warning_hits")),
								  5, types);
		}
		for (int i = 0; i < n; i++)
		{
			const LoggedHit *h = &ledger->hits[i];
			Datum		values[5] = {CStringGetTextDatum(h->warning->operator_id), Int64GetDatum(h->warning->warning_id),
			CStringGetTextDatum(h->source_table), Int64GetDatum(h->source_id), TimestampTzGetDatum(h->at)};

			cs_execute(*one_plan, values, NULL);
		}
	}
	else
	{
		int64	   *warning_ids = palloc(sizeof(int64) * n);
		const char **tables = palloc(sizeof(char *) * n);
		int64	   *sources = palloc(sizeof(int64) * n);
		TimestampTz *at = palloc(sizeof(TimestampTz) * n);
		const char **operators = palloc(sizeof(char *) * n);
		Datum		values[5];
		SPIPlanPtr *batch_plan;

		for (int i = 0; i < n; i++)
		{
			warning_ids[i] = ledger->hits[i].warning->warning_id;
			tables[i] = ledger->hits[i].source_table;
			sources[i] = ledger->hits[i].source_id;
			at[i] = ledger->hits[i].at;
			operators[i] = ledger->hits[i].warning->operator_id;
		}
		values[0] = cs_int8_array(warning_ids, n);
		values[1] = cs_text_array(tables, n);
		values[2] = cs_int8_array(sources, n);
		values[3] = cs_timestamptz_array(at, n);
		values[4] = cs_text_array(operators, n);
		batch_plan = cs_plan_slot(&batch_plan_sites[names_operator]);
		if (*batch_plan == NULL)
		{
			Oid			types[5] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID};

			*batch_plan =
				cs_prepare(psprintf("INSERT INTO %s (warning_id, source_table, source_id, hit_at%s)"
									" SELECT * FROM unnest($1, $2, $3, $4%s)", cs_table("warning_hits"),
									names_operator ? ", operator_id" : "", names_operator ? ", $5" : ""),
						   names_operator ? 5 : 4, types);
		}
		cs_execute(*batch_plan, values, NULL);
	}
	ledger->nhits = 0;
}

/*
 * After a batch: the hit log is written; the counts too, and the warnings
 * forgotten, once the ledger remembers too many of them.
 */
void
cs_ledger_batch_done(Ledger *ledger)
{
	write_hit_log(ledger);
	if (hash_get_num_entries(ledger->open) > LEDGER_MAX_OPEN)
	{
		write_counts(ledger);
		ledger_forget_open(ledger);
	}
}

/* Writes everything kept in memory: at the end of a statement. */
void
cs_ledger_write(Ledger *ledger)
{
	write_hit_log(ledger);
	write_counts(ledger);
}

static LedgerEntry *
remember_open_warning(Ledger *ledger, char *key, const char *operator_id, int64 warning_id, bool is_tip)
{
	MemoryContext old = MemoryContextSwitchTo(ledger->open_context);
	char	   *stored = pstrdup(key);
	LedgerEntry *entry = hash_search(ledger->open, &stored, HASH_ENTER, NULL);

	entry->operator_id = pstrdup(operator_id);
	entry->warning_id = warning_id;
	entry->is_tip = is_tip;
	entry->pending_hits = 0;
	entry->pending_last_hit = DT_NOBEGIN;
	MemoryContextSwitchTo(old);
	return entry;
}

/*
 * Sandbox tolerance: a member's hit on a tolerable red line with no warning
 * or tip of that code whose last hit lies within the tolerance window.
 */
static bool
tolerated(Ledger *ledger, const Hit *hit)
{
	static char plan_site;
	SPIPlanPtr *plan = cs_plan_slot(&plan_site);
	Datum		values[3];
	bool		earlier;

	TimestampTz since;

	if (!hit->in_sandbox || !hit->rule->tolerable || hit->rule->is_tip || hit->escalation)
		return false;
	since = cs_sub_interval(hit->at, cs_tolerance_window);
	/* last_hit_at as stored, or later by a hit counted in memory */
	if (pending_hit_after(ledger, hit->operator_id, hit->rule->code, since))
		return false;
	if (*plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};

		*plan = cs_prepare(psprintf("SELECT FROM %s w WHERE w.operator_id = $1 AND w.code = $2"
								   "   AND w.last_hit_at > $3 LIMIT 1",
								   cs_table("warnings")),
						  3, types);
	}
	values[0] = CStringGetTextDatum(hit->operator_id);
	values[1] = CStringGetTextDatum(hit->rule->code);
	values[2] = TimestampTzGetDatum(since);
	cs_execute(*plan, values, NULL);
	earlier = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return !earlier;
}

/*
 * Records one hit: one more hit on the open warning of its key, or a new
 * warning clue or tip.  A new warning clue caps the operator's class at B;
 * any warning clue takes the operator out of the sandbox (tips never do).
 * Returns the warning's id, and whether it is a warning clue.
 */
int64
cs_record_hit(Ledger *ledger, const Hit *hit, bool *is_clue)
{
	char	   *key = psprintf("%zu:%s%zu:%s%s", strlen(hit->operator_id), hit->operator_id,
							   strlen(hit->rule->code), hit->rule->code, hit->subject_key);
	LedgerEntry *entry = hash_search(ledger->open, &key, HASH_FIND, NULL);
	int64		warning_id;
	bool		is_tip;

	if (entry)
	{
		/* an open warning this statement has seen: counted in memory */
		note_pending_hit(ledger, entry, hit);
		warning_id = entry->warning_id;
		is_tip = entry->is_tip;
	}
	else if (find_open_warning(hit, &warning_id, &is_tip))
	{
		entry = remember_open_warning(ledger, key, hit->operator_id, warning_id, is_tip);
		note_pending_hit(ledger, entry, hit);
	}
	else
	{
		bool		has_due = false;
		TimestampTz due_at = 0;

		is_tip = hit->rule->is_tip && !hit->escalation;
		if (tolerated(ledger, hit))
		{
			is_tip = true;
			has_due = true;
			due_at = cs_add_interval(hit->at, cs_correction_period);
		}
		warning_id = insert_warning(hit, is_tip ? "admin_tip" : "risk_trigger", has_due, due_at);
		new_warning_in_xact = true;
		if (!is_tip)
			cs_grade_after_warning_clue(hit->operator_id, hit->rule->code, hit->at);
		entry = remember_open_warning(ledger, key, hit->operator_id, warning_id, is_tip);
	}
	log_hit(ledger, entry, hit);
	if (!is_tip && hit->in_sandbox)
		leave_sandbox(hit, warning_id);
	*is_clue = !is_tip;
	return warning_id;
}
