/*-------------------------------------------------------------------------
 *
 * feed.c
 *	  The feed's writer: AFTER INSERT on warnings, per statement, an entry
 *	  for each new warning clue or tip, in the same transaction.
 *
 * It writes to the feed of the warnings' placement: on a Citus node the
 * shard of feed_entries co-located with the shard of warnings the rows
 * went to, which has no identity default.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "placement.h"
#include "spi_util.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(credit_sandbox_feed_record);

static Datum
feed_record_placed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "credit_sandbox: SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "credit_sandbox: SPI_register_trigger_data failed");
	if (SPI_execute(psprintf("INSERT INTO %s (entry_id, warning_id, operator_id, code, list, subject_key,"
							 "                occurred_at, due_at, raised_at)"
							 " OVERRIDING SYSTEM VALUE"
							 " SELECT %s, n.warning_id, n.operator_id, n.code, n.list,"
							 "        n.subject_key, n.occurred_at, n.due_at, n.raised_at"
							 "   FROM new_warnings n ORDER BY n.warning_id",
							 cs_table("feed_entries"),
							 cs_placed_nextval("feed_entries_entry_id_seq")),
					false, 0) != SPI_OK_INSERT)
		elog(ERROR, "credit_sandbox: could not write the feed's entries");
	SPI_finish();
	return PointerGetDatum(NULL);
}

Datum
credit_sandbox_feed_record(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("feed_record: not called by trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("feed_record: must be fired AFTER INSERT FOR EACH STATEMENT REFERENCING NEW TABLE AS new_warnings")));
	return cs_call_placed(trigdata->tg_relation, feed_record_placed, fcinfo);
}
