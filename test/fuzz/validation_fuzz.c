/*-------------------------------------------------------------------------
 *
 * validation_fuzz.c
 *	  libFuzzer driven from inside a backend: the real validation of rule
 *	  parameters (catalog.c), grading weights and grade boundaries
 *	  (grading.c), and the case folding of titles, fed fuzzed input.
 *
 * Only the fuzz build of the library (test/fuzz/run.sh) has this file; the
 * SQL function below is created by that script, never by the extension.
 *
 * Each input runs in a subtransaction that is always rolled back, so every
 * input starts from the same committed fixture.  An input is text; its first
 * character says what it is:
 *
 *	 R<code> <json>	UPDATE rules SET params = <json> WHERE code = <code>
 *	 I<code> <json>	INSERT INTO rules (code, ..., params) VALUES (<code>, ..., <json>)
 *					(an empty <json> is SQL NULL)
 *	 W<name>=<v>	INSERT INTO grading_weights ... ON CONFLICT DO UPDATE (weight v)
 *	 B<c>=<v>\n...	the same for grade_boundaries, every line in one statement
 *	 F<text>		cs_fold_case(text) must equal lower(text)
 *
 * The oracles: a refused value is refused with a plain ERROR of a SQLSTATE
 * class a user can act on (22, 23, 42, 21, 54), never an internal error
 * (XX000, elog) or a crash; and a value that is accepted must let the
 * fixture's ordinary rows (a sale, a return, a complaint) and a grading
 * still go through, except for arithmetic leaving a type's range (22003,
 * 22008) under an absurd but allowed parameter.  Anything else aborts, and
 * libFuzzer keeps the input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"

#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include <stdio.h>

PG_FUNCTION_INFO_V1(credit_sandbox_fuzz_validation);

extern int	LLVMFuzzerRunDriver(int *argc, char ***argv,
								int (*callback) (const uint8_t *data, size_t size));

/* The fixture's ordinary rows: each must still go in after an accepted change. */
static const char *const fixture_rows[] = {
	"INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title,"
	" category, quantity, unit_price, list_price)"
	" VALUES ('FZ-1', '2030-06-01 12:00+08', 'FZ-addr', 'FZ-item', '最佳 ivory', 'food', 1, 200, 300)",
	"INSERT INTO credit_sandbox.returns (operator_id, category, delivered_at, requested_at, outcome)"
	" VALUES ('FZ-1', 'misc', '2030-05-30 12:00+08', '2030-06-01 12:00+08', 'refused')",
	"INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES ('FZ-1', '2030-06-01 12:00+08')",
	"SELECT credit_sandbox.grade('FZ-1', '2030-06-02 00:00+08')",
};

static Datum
text_datum(const char *s, int len)
{
	return PointerGetDatum(cstring_to_text_with_len(s, len));
}

/* Splits "key<sep>value" at the first sep; false when there is none. */
static bool
split(const char *s, int len, char sep, Datum *key, Datum *value)
{
	const char *at = memchr(s, sep, len);

	if (at == NULL)
		return false;
	*key = text_datum(s, at - s);
	*value = text_datum(at + 1, len - (at - s) - 1);
	return true;
}

/*
 * The statement an input stands for, with its parameters; NULL for an
 * input that stands for none.  nulls[1] is set for an SQL NULL value.
 */
static const char *
statement_for(const char *s, int len, Datum *args, char *nulls)
{
	switch (s[0])
	{
		case 'R':
		case 'I':
			if (!split(s + 1, len - 1, ' ', &args[0], &args[1]))
				return NULL;
			if (VARSIZE_ANY_EXHDR(DatumGetPointer(args[1])) == 0)
				nulls[1] = 'n';
			return s[0] == 'R'
				? "UPDATE credit_sandbox.rules SET params = $2::jsonb WHERE code = $1"
				: "INSERT INTO credit_sandbox.rules (code, title, list, params)"
				" VALUES ($1, 'fuzz', 'risk_trigger', $2::jsonb)";
		case 'W':
			if (!split(s + 1, len - 1, '=', &args[0], &args[1]))
				return NULL;
			return "INSERT INTO credit_sandbox.grading_weights (indicator, weight, description)"
				" VALUES ($1, $2::numeric, 'fuzz')"
				" ON CONFLICT (indicator) DO UPDATE SET weight = EXCLUDED.weight";
		case 'B':
			/* lines c=v: one row each, one statement, so the order check sees them all */
			args[0] = text_datum(s + 1, len - 1);
			nulls[1] = 'n';		/* $2 unused */
			return "INSERT INTO credit_sandbox.grade_boundaries (class, min_score)"
				" SELECT split_part(l, '=', 1), split_part(l, '=', 2)::numeric"
				"   FROM regexp_split_to_table($1, '\\n') AS l"
				" ON CONFLICT (class) DO UPDATE SET min_score = EXCLUDED.min_score";
	}
	return NULL;
}

static void
check_fold(const char *s, int len)
{
	char	   *folded = cs_fold_case(s, len);
	char	   *lowered = str_tolower(s, len, DEFAULT_COLLATION_OID);

	if (strcmp(folded, lowered) != 0)
	{
		fprintf(stderr, "validation fuzz: cs_fold_case(\"%.*s\") = \"%s\", lower() = \"%s\"\n",
				len, s, folded, lowered);
		abort();
	}
}

/* A refusal a user can act on: bad data, constraint, syntax, cardinality, a limit. */
static bool
user_facing(int sqlerrcode)
{
	static const char *const classes[] = {"22", "23", "42", "21", "54"};
	const char *state = unpack_sql_state(sqlerrcode);

	for (int i = 0; i < (int) lengthof(classes); i++)
		if (strncmp(state, classes[i], 2) == 0)
			return true;
	return false;
}

/* Arithmetic leaving a type's range, under an absurd but allowed value. */
static bool
out_of_range(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE ||
		sqlerrcode == ERRCODE_DATETIME_VALUE_OUT_OF_RANGE;
}

/*
 * Runs sql with up to two text parameters (nulls as SPI takes them).  An
 * ERROR it raises is re-thrown when acceptable() allows it, else it is a
 * finding: aborts.
 */
static void
run(const char *sql, Datum *args, const char *nulls, bool (*acceptable) (int), const char *finding)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		if (SPI_execute_with_args(sql, args ? 2 : 0, types, args, nulls, false, 0) < 0)
			elog(ERROR, "credit_sandbox fuzz: SPI_execute_with_args failed");
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->elevel != ERROR || !acceptable(edata->sqlerrcode))
		{
			fprintf(stderr, "validation fuzz: %s\n  statement: %s\n  SQLSTATE %s: %s\n  detail: %s\n",
					finding, sql, unpack_sql_state(edata->sqlerrcode), edata->message,
					edata->detail ? edata->detail : "");
			abort();
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* One input, inside the caller's subtransaction. */
static void
one_input(const char *s, int len)
{
	Datum		args[2];
	char		nulls[3] = "  ";
	const char *sql;

	if (s[0] == 'F')
	{
		check_fold(s + 1, len - 1);
		return;
	}
	sql = statement_for(s, len, args, nulls);
	if (sql == NULL)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox fuzz: SPI_connect failed");
	run(sql, args, nulls, user_facing, "refused without a user-facing SQLSTATE");
	/* accepted (a change, not an UPDATE of no row): the fixture's ordinary rows still go in */
	if (SPI_processed > 0)
		for (int i = 0; i < (int) lengthof(fixture_rows); i++)
			run(fixture_rows[i], NULL, NULL, out_of_range, "an accepted value breaks an ordinary row");
	SPI_finish();
}

static int
fuzz_one(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	/* what a client can send: valid in the database encoding, no NUL */
	if (size == 0 || size > MaxAllocSize || memchr(s, '\0', size) != NULL ||
		!pg_verifymbstr(s, (int) size, true))
		return -1;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		one_input(s, (int) size);
	}
	PG_CATCH();
	{
		/* a refusal that passed the oracle */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	/* always undone: the next input starts from the same fixture */
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return 0;
}

/* fuzz_validation(libfuzzer_args text[]): runs libFuzzer; it exits the process when done. */
Datum
credit_sandbox_fuzz_validation(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	int			nelems;
	int			argc;
	char	  **argv;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	argc = nelems + 1;
	argv = palloc(sizeof(char *) * (argc + 1));
	argv[0] = "credit_sandbox_fuzz";
	for (int i = 0; i < nelems; i++)
		argv[i + 1] = TextDatumGetCString(elems[i]);
	argv[argc] = NULL;
	PG_RETURN_INT32(LLVMFuzzerRunDriver(&argc, &argv, fuzz_one));
}
