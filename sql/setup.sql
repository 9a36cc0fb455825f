--
-- setup: CREATE EXTENSION, and what it installs that the other tests rely on.
-- The later tests reuse this database (contrib_regression) and this extension.
--
CREATE EXTENSION credit_sandbox;
-- the rules (contract: code, title, list, params, tolerable, enabled, version)
SELECT code, title, list, params, tolerable, enabled, version
  FROM credit_sandbox.rules ORDER BY code;
-- every rule's first version is in rule_history
SELECT code, version, h.params = r.params AS same_params
  FROM credit_sandbox.rule_history h JOIN credit_sandbox.rules r USING (code, version) ORDER BY code;
-- the default reference lists
SELECT category, permit FROM credit_sandbox.regulated_categories ORDER BY category;
SELECT category FROM credit_sandbox.prohibited_categories ORDER BY category;
SELECT term FROM credit_sandbox.prohibited_terms ORDER BY term;
SELECT term FROM credit_sandbox.absolute_terms ORDER BY term;
SELECT category FROM credit_sandbox.return_exempt_categories ORDER BY category;
SELECT count(*) AS reference_prices FROM credit_sandbox.reference_prices;
-- the contract columns of the tables applications and analysts use
SELECT table_name, column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'credit_sandbox'
   AND (table_name, column_name) IN (
        ('operators', 'operator_id'), ('operators', 'name'), ('operators', 'region'),
        ('operators', 'registered_on'), ('operators', 'licence_valid_until'), ('operators', 'permits'),
        ('operator_lists', 'operator_id'), ('operator_lists', 'list'), ('operator_lists', 'listed_on'),
        ('operator_lists', 'removed_on'),
        ('transactions', 'txn_id'), ('transactions', 'operator_id'), ('transactions', 'occurred_at'),
        ('transactions', 'buyer_id'), ('transactions', 'ship_to'), ('transactions', 'item_id'),
        ('transactions', 'item_title'), ('transactions', 'category'), ('transactions', 'quantity'),
        ('transactions', 'unit_price'), ('transactions', 'list_price'),
        ('returns', 'return_id'), ('returns', 'txn_id'), ('returns', 'operator_id'), ('returns', 'category'),
        ('returns', 'delivered_at'), ('returns', 'requested_at'), ('returns', 'outcome'),
        ('complaints', 'complaint_id'), ('complaints', 'operator_id'), ('complaints', 'received_at'),
        ('complaints', 'channel'), ('complaints', 'category'),
        ('reference_prices', 'item_id'), ('reference_prices', 'category'), ('reference_prices', 'price'),
        ('reference_prices', 'valid_from'), ('reference_prices', 'valid_to'),
        ('rules', 'code'), ('rules', 'title'), ('rules', 'list'), ('rules', 'params'), ('rules', 'tolerable'),
        ('rules', 'enabled'), ('rules', 'version'),
        ('warnings', 'warning_id'), ('warnings', 'operator_id'), ('warnings', 'code'), ('warnings', 'list'),
        ('warnings', 'subject_key'), ('warnings', 'source_table'), ('warnings', 'source_id'),
        ('warnings', 'occurred_at'), ('warnings', 'raised_at'), ('warnings', 'rule_version'),
        ('warnings', 'evidence'), ('warnings', 'hits'), ('warnings', 'last_hit_at'), ('warnings', 'status'),
        ('warnings', 'due_at'))
 ORDER BY table_name, column_name;
-- the check triggers: statement driver by default
SELECT credit_sandbox.driver();
-- settings and their defaults
SHOW credit_sandbox.time_zone;
SHOW credit_sandbox.tolerance_window;
SHOW credit_sandbox.correction_period;
-- a helper for the later tests: deletes every row of operators whose id starts with
-- prefix from every table of the extension (and the rows attached to their warnings)
CREATE FUNCTION cs_test_cleanup(prefix text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r' AND c.relname <> 'warnings'
                AND c.relname <> 'warning_status_history'  -- append-only: its rows stay
                AND a.attname = 'warning_id' AND NOT a.attisdropped
                AND NOT EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'operator_id')
    LOOP
        EXECUTE format('DELETE FROM %s WHERE warning_id IN (SELECT w.warning_id FROM credit_sandbox.warnings w
                                                             WHERE w.operator_id LIKE %L)', t, prefix || '%');
    END LOOP;
    FOR t IN SELECT a.attrelid::regclass FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind = 'r'
                AND a.attname = 'operator_id' AND NOT a.attisdropped
    LOOP
        EXECUTE format('DELETE FROM %s WHERE operator_id LIKE %L', t, prefix || '%');
    END LOOP;
END $$;
