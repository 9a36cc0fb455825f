/*-------------------------------------------------------------------------
 *
 * key_readback.c
 *	  The platforms read back the generated keys of the rows they insert
 *	  (INSERT ... RETURNING txn_id), and nothing else of anyone's.
 *
 * RETURNING needs SELECT on the returned column, and a column grant lets
 * its holder read that column of every row: every platform's ids.  Row-level
 * security could tell rows apart, but PostgreSQL refuses COPY FROM into a
 * table with row-level security, and the platforms load with COPY.  So the
 * column grant stays, and this executor permission hook refuses every use
 * of it but one: on the event tables, a role without table-level SELECT may
 * read only the rows its own statement inserts (the relation is both
 * inserted into and read in one range-table entry: INSERT ... RETURNING).
 * Whoever holds table-level SELECT (administrators, the views' owner) is
 * not affected.
 *
 * The generated key is the database's to choose: an INSERT or COPY that
 * names it is refused to a role without table-level INSERT.  The platforms'
 * role holds INSERT on the key column nonetheless, for Citus: the
 * coordinator draws the key and names it in the statement it sends to the
 * shard, where the platform's own privileges are checked.  So a shard (a
 * relation that is not the event table itself) is not refused here.
 *
 * The hook acts in every backend that has loaded the library: the library
 * must be preloaded (shared_preload_libraries), as the README says.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "evaluate.h"
#include "key_readback.h"
#include "spi_util.h"

#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

static ExecutorCheckPerms_hook_type previous_hook = NULL;

/* The event table relid is, or NULL. */
static const EventTable *
event_table(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);
	char	   *name;

	if (!OidIsValid(nsp) || nsp != get_namespace_oid(CS_SCHEMA, true))
		return NULL;
	name = get_rel_name(relid);
	for (int i = 0; i < NUM_EVENT_KINDS; i++)
		if (strcmp(name, cs_event_tables[i].name) == 0)
			return &cs_event_tables[i];
	return NULL;
}

/* Whether a statement inserting columns into an event table names its generated key. */
static bool
names_key(const EventTable *table, Oid relid, Bitmapset *inserted)
{
	AttrNumber	key = get_attnum(relid, table->id_column);

	return key != InvalidAttrNumber &&
		bms_is_member(key - FirstLowInvalidHeapAttributeNumber, inserted);
}

/*
 * False for a read of an event table that is not a RETURNING of the
 * statement's own insert (an error, when asked to report one).
 */
static bool
check_one(Oid relid, AclMode required, Bitmapset *inserted, Oid check_as, bool ereport_on_violation)
{
	Oid			user = OidIsValid(check_as) ? check_as : GetUserId();
	const EventTable *table = event_table(relid);

	if (table == NULL)
		return true;
	if ((required & ACL_INSERT) != 0 && names_key(table, relid, inserted) &&
		pg_class_aclcheck(relid, user, ACL_INSERT) != ACLCHECK_OK)
	{
		if (!ereport_on_violation)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for column %s of table %s", table->id_column, table->name),
				 errdetail("The database generates the key of every row a platform inserts."),
				 errhint("Leave %s out of the column list.", table->id_column)));
	}
	if ((required & ACL_SELECT) == 0 || (required & ACL_INSERT) != 0 ||
		pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK)
		return true;
	if (!ereport_on_violation)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for table %s", get_rel_name(relid)),
			 errdetail("A column grant on credit_sandbox.%s serves INSERT ... RETURNING only: it reads back the keys of the rows the statement inserts.",
					   get_rel_name(relid)),
			 errhint("Read back generated keys with INSERT ... RETURNING.")));
	pg_unreachable();
}

static bool
check_key_readback(CS_PERMISSIONS_HOOK_PARAMS)
{
	ListCell   *lc;

	foreach(lc, CS_PERMISSIONS)
	{
		CsPermission *perm = lfirst(lc);

		/* a range-table entry that is not a relation requires no permission */
		if (!check_one(perm->relid, perm->requiredPerms, perm->insertedCols, perm->checkAsUser,
					   ereport_on_violation))
			return false;
	}
	return previous_hook ? previous_hook(CS_PERMISSIONS_HOOK_ARGS) : true;
}

void
cs_key_readback_init(void)
{
	previous_hook = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = check_key_readback;
}
