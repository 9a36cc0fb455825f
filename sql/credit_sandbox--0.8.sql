\echo Use "CREATE EXTENSION credit_sandbox" to load this file. \quit

-- credit_sandbox 0.8, the whole install script: every object once, in its
-- final form, with its comment, its grants and what pg_dump keeps of it.
-- (A database at an older version gets the same objects through the update
-- scripts; sql/upgrade.sql proves the two equal.)
--
-- Objects live in schema credit_sandbox (the control file creates it).  Names
-- marked (contract) in the specification are public and must not change.
--
-- Conventions:
-- * Times are timestamptz, moments independent of any session's TimeZone.  A
--   date column is a legal day: the date in the regulator's time zone, setting
--   credit_sandbox.time_zone (default Asia/Shanghai), see legal_day().
-- * Every function pins search_path = pg_catalog, pg_temp (or, the checks'
--   trigger, switches to it in C), so no caller's schema can put its objects
--   into the extension's queries; built-ins are pg_catalog-qualified in what
--   runs under the installing session's path (defaults, DO blocks).
-- * SECURITY DEFINER, run as the extension's owner: the functions that write
--   what no role may write (warnings, hits, grades, memberships, draws, rule
--   history) and the readers an analyst may call without table grants.  A
--   later CREATE OR REPLACE of one must say SECURITY DEFINER again
--   (test/privileges.sql notices if it does not).
-- * PUBLIC may execute no function but in_sandbox, driver and legal_day, and
--   has no privilege on a table (none is given at creation); create_roles()
--   makes and grants the application, analyst and administrator roles.
-- * Triggers that keep the catalogue and the caches right are ENABLE ALWAYS: a
--   restore runs with session_replication_role = replica (README, "Backups"),
--   as a logical-replication subscriber does, and they must still fire.
-- * pg_extension_config_dump: pg_dump keeps every row of every table (and
--   the position of every sequence), defaults the DBA edited included.

-- The schema is not a member of the extension: DROP EXTENSION leaves it, and
-- pg_dump keeps it, with its comment and privileges.
COMMENT ON SCHEMA credit_sandbox IS
    'credit_sandbox: red lines checked on every row the platforms insert, warnings and tips, credit classes, the credit sandbox and dual-random inspections.';

CREATE FUNCTION credit_sandbox.legal_day(at timestamptz) RETURNS date
    LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'credit_sandbox_legal_day';
COMMENT ON FUNCTION credit_sandbox.legal_day(timestamptz) IS
    'The date of a moment in the regulator''s time zone (credit_sandbox.time_zone): the day rules judge a row by.';
REVOKE ALL ON FUNCTION credit_sandbox.legal_day(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_sandbox.legal_day(timestamptz) TO PUBLIC;

-- Where a trigger of the extension writes: on one node the tables
-- themselves; on a Citus node (credit_sandbox.distribute()) a trigger fires
-- on a shard, and writes the shard of the target table that sits beside it
-- on the same node (co-located, or the local shard of a reference table),
-- never a distributed table from inside a shard's statement.
CREATE FUNCTION credit_sandbox.placed_table(relation regclass, tab name) RETURNS regclass
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'credit_sandbox_placed_table';
COMMENT ON FUNCTION credit_sandbox.placed_table(regclass, name) IS
    'The table tab of the extension beside relation (a trigger''s TG_RELID): its co-located or local shard on a Citus node, else tab.';
REVOKE ALL ON FUNCTION credit_sandbox.placed_table(regclass, name) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.logical_table(relation regclass) RETURNS regclass
    LANGUAGE c STRICT STABLE AS 'MODULE_PATHNAME', 'credit_sandbox_logical_table';
COMMENT ON FUNCTION credit_sandbox.logical_table(regclass) IS
    'The table relation is, or is a Citus shard of.';
REVOKE ALL ON FUNCTION credit_sandbox.logical_table(regclass) FROM PUBLIC;

-- ===================================================================== input data
-- What the platforms insert.  Constraints reject bad rows; the red lines warn
-- about valid but suspicious ones.  Keys are at most 256 (operator) or 512
-- bytes (item, address), what a B-tree entry holds: a longer one fails on a
-- named constraint (23514), not on the index (54000).

CREATE TABLE credit_sandbox.operators (
    operator_id          text PRIMARY KEY
                         CONSTRAINT operators_operator_id_not_empty CHECK (operator_id <> '')
                         CONSTRAINT operators_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    name                 text,
    region               text,
    registered_on        date,
    licence_valid_until  date,
    permits              text[]
);
COMMENT ON TABLE credit_sandbox.operators IS
    'Online operators (sellers). licence_valid_until NULL = no valid licence; permits named as in regulated_categories.permit.';
COMMENT ON COLUMN credit_sandbox.operators.operator_id IS
    'The operator''s id, as the platforms give it in every event row (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.operators.name IS 'Trading name.';
COMMENT ON COLUMN credit_sandbox.operators.region IS 'Region (district) the operator is registered in.';
COMMENT ON COLUMN credit_sandbox.operators.registered_on IS
    'Legal day of registration; a sale dated before it is unregistered (RL01). The regulator''s, not the platform''s.';
COMMENT ON COLUMN credit_sandbox.operators.licence_valid_until IS
    'Last legal day (inclusive) the business licence is valid; NULL = no valid licence (RL01, TP01). The regulator''s.';
COMMENT ON COLUMN credit_sandbox.operators.permits IS
    'Permits held, named as in regulated_categories.permit (RL01). The regulator''s.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operators', '');

CREATE TABLE credit_sandbox.operator_lists (
    list_entry_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id    text NOT NULL
                   CONSTRAINT operator_lists_operator_id_not_empty CHECK (operator_id <> '')
                   CONSTRAINT operator_lists_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    list           text NOT NULL
                   CONSTRAINT operator_lists_list_known CHECK (list IN ('abnormal', 'dishonest')),
    listed_on      date NOT NULL,
    removed_on     date,
    CONSTRAINT operator_lists_removed_after_listed CHECK (removed_on IS NULL OR removed_on >= listed_on)
);
CREATE INDEX operator_lists_operator ON credit_sandbox.operator_lists (operator_id, listed_on);
COMMENT ON TABLE credit_sandbox.operator_lists IS
    'Abnormal-operations and serious illegal-and-dishonest list entries; in force from listed_on inclusive to removed_on exclusive.';
COMMENT ON COLUMN credit_sandbox.operator_lists.list_entry_id IS 'Generated key of the entry.';
COMMENT ON COLUMN credit_sandbox.operator_lists.operator_id IS 'The listed operator (need not be registered).';
COMMENT ON COLUMN credit_sandbox.operator_lists.list IS
    'abnormal (abnormal-operations list: class C or worse) or dishonest (serious illegal-and-dishonest list: class D); both hit RL02.';
COMMENT ON COLUMN credit_sandbox.operator_lists.listed_on IS 'First legal day the entry is in force (inclusive).';
COMMENT ON COLUMN credit_sandbox.operator_lists.removed_on IS
    'Legal day the entry is lifted (exclusive); NULL = still listed.';
COMMENT ON SEQUENCE credit_sandbox.operator_lists_list_entry_id_seq IS 'Generates operator_lists.list_entry_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_lists', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_lists_list_entry_id_seq', '');

-- Hash-partitioned by operator_id when credit_sandbox.transaction_partitions is
-- set at CREATE EXTENSION (the single-machine shape of a sharded deployment:
-- every rule is keyed by operator).  Then the key includes operator_id.
-- Prices are finite: numeric holds 'Infinity' since PostgreSQL 14.
DO $$
DECLARE
    partitions int := pg_catalog.current_setting('credit_sandbox.transaction_partitions')::int;
BEGIN
    EXECUTE pg_catalog.format($t$
CREATE TABLE credit_sandbox.transactions (
    txn_id       bigint GENERATED BY DEFAULT AS IDENTITY,
    operator_id  text NOT NULL
                 CONSTRAINT transactions_operator_id_not_empty CHECK (operator_id <> '')
                 CONSTRAINT transactions_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    occurred_at  timestamptz NOT NULL
                 CONSTRAINT transactions_occurred_at_finite CHECK (isfinite(occurred_at)),
    buyer_id     text,
    ship_to      text
                 CONSTRAINT transactions_ship_to_length CHECK (pg_catalog.octet_length(ship_to) <= 512),
    item_id      text NOT NULL
                 CONSTRAINT transactions_item_id_not_empty CHECK (item_id <> '')
                 CONSTRAINT transactions_item_id_length CHECK (pg_catalog.octet_length(item_id) <= 512),
    item_title   text,
    category     text,
    quantity     int
                 CONSTRAINT transactions_quantity_positive CHECK (quantity > 0),
    unit_price   numeric NOT NULL
                 CONSTRAINT transactions_unit_price_not_negative CHECK (unit_price >= 0 AND unit_price <> 'NaN')
                 CONSTRAINT transactions_unit_price_finite CHECK (unit_price <> 'Infinity'),
    list_price   numeric
                 CONSTRAINT transactions_list_price_not_negative CHECK (list_price >= 0 AND list_price <> 'NaN')
                 CONSTRAINT transactions_list_price_finite CHECK (list_price <> 'Infinity'),
    PRIMARY KEY (%s)
) %s$t$,
        CASE WHEN partitions > 0 THEN 'operator_id, txn_id' ELSE 'txn_id' END,
        CASE WHEN partitions > 0 THEN 'PARTITION BY HASH (operator_id)' ELSE '' END);
    FOR i IN 0 .. partitions - 1 LOOP
        EXECUTE pg_catalog.format('CREATE TABLE credit_sandbox.%I PARTITION OF credit_sandbox.transactions'
                                  ' FOR VALUES WITH (MODULUS %s, REMAINDER %s)', 'transactions_p' || i, partitions, i);
        PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('credit_sandbox.%I', 'transactions_p' || i), '');
    END LOOP;
    IF partitions = 0 THEN
        PERFORM pg_catalog.pg_extension_config_dump('credit_sandbox.transactions', '');
    END IF;
END $$;
-- RL04 (orders to one address) and RL05 (lowest recent price of an item)
CREATE INDEX transactions_operator_ship_to ON credit_sandbox.transactions (operator_id, ship_to, occurred_at);
CREATE INDEX transactions_operator_item ON credit_sandbox.transactions (operator_id, item_id, occurred_at) INCLUDE (unit_price);
COMMENT ON TABLE credit_sandbox.transactions IS
    'Sales the platforms insert, checked against RL01-RL06, RL09 and TP01 as they arrive.';
COMMENT ON COLUMN credit_sandbox.transactions.txn_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.transactions.operator_id IS 'The selling operator (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.transactions.occurred_at IS
    'When the sale happened (finite); windows are on it and its legal day dates it.';
COMMENT ON COLUMN credit_sandbox.transactions.buyer_id IS 'The buyer, as the platform identifies it.';
COMMENT ON COLUMN credit_sandbox.transactions.ship_to IS
    'Delivery address, hashed by the platform (at most 512 bytes); NULL = none, skipped by RL04.';
COMMENT ON COLUMN credit_sandbox.transactions.item_id IS 'The item sold (at most 512 bytes): the key of RL03, RL05, RL06 and RL09.';
COMMENT ON COLUMN credit_sandbox.transactions.item_title IS
    'Listing title as shown to buyers: searched for prohibited (RL03) and absolute (RL06) terms.';
COMMENT ON COLUMN credit_sandbox.transactions.category IS
    'Item category, as named in the reference lists (regulated, prohibited, reference prices).';
COMMENT ON COLUMN credit_sandbox.transactions.quantity IS 'Units sold (> 0).';
COMMENT ON COLUMN credit_sandbox.transactions.unit_price IS 'Price paid per unit (finite, >= 0; RL05, RL09).';
COMMENT ON COLUMN credit_sandbox.transactions.list_price IS
    'Declared "original" price shown beside a discount (finite, >= 0); NULL = no discount claim (RL05).';
COMMENT ON SEQUENCE credit_sandbox.transactions_txn_id_seq IS 'Generates transactions.txn_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.transactions_txn_id_seq', '');

-- A partition's comments are its parent's: comments are not inherited.
DO $$
DECLARE
    parent regclass := 'credit_sandbox.transactions';
    p regclass;
BEGIN
    FOR p IN SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = parent ORDER BY 1 LOOP
        EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', p,
                                  'A hash partition of transactions (by operator_id): '
                                  || pg_catalog.obj_description(parent, 'pg_class'));
        EXECUTE (SELECT pg_catalog.string_agg(pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', p, a.attname,
                                                                pg_catalog.col_description(parent, a.attnum)), '; ')
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = parent AND a.attnum > 0 AND NOT a.attisdropped);
    END LOOP;
END $$;

CREATE TABLE credit_sandbox.returns (
    return_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    txn_id        bigint,
    operator_id   text NOT NULL
                  CONSTRAINT returns_operator_id_not_empty CHECK (operator_id <> '')
                  CONSTRAINT returns_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    category      text,
    delivered_at  timestamptz
                  CONSTRAINT returns_delivered_at_finite CHECK (isfinite(delivered_at)),
    requested_at  timestamptz NOT NULL
                  CONSTRAINT returns_requested_at_finite CHECK (isfinite(requested_at)),
    outcome       text
                  CONSTRAINT returns_outcome_known CHECK (outcome IN ('refunded', 'refused', 'pending'))
);
-- RL07 (qualifying refusals of an operator in the window)
CREATE INDEX returns_operator_refused ON credit_sandbox.returns (operator_id, requested_at) WHERE outcome = 'refused';
COMMENT ON TABLE credit_sandbox.returns IS 'Return requests the platforms insert, checked against RL07.';
COMMENT ON COLUMN credit_sandbox.returns.return_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.returns.txn_id IS 'The sale returned, if known (not enforced: it may be stored elsewhere).';
COMMENT ON COLUMN credit_sandbox.returns.operator_id IS 'The selling operator (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.returns.category IS
    'Item category; one of return_exempt_categories never counts for RL07.';
COMMENT ON COLUMN credit_sandbox.returns.delivered_at IS
    'When the goods were delivered (finite); NULL = unknown, never counts for RL07.';
COMMENT ON COLUMN credit_sandbox.returns.requested_at IS
    'When the return was requested (finite): within the return period of delivered_at it is lawful (RL07).';
COMMENT ON COLUMN credit_sandbox.returns.outcome IS 'refunded, refused (RL07 looks at these) or pending.';
COMMENT ON SEQUENCE credit_sandbox.returns_return_id_seq IS 'Generates returns.return_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.returns', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.returns_return_id_seq', '');

CREATE TABLE credit_sandbox.complaints (
    complaint_id  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    operator_id   text NOT NULL
                  CONSTRAINT complaints_operator_id_not_empty CHECK (operator_id <> '')
                  CONSTRAINT complaints_operator_id_length CHECK (pg_catalog.octet_length(operator_id) <= 256),
    received_at   timestamptz NOT NULL
                  CONSTRAINT complaints_received_at_finite CHECK (isfinite(received_at)),
    channel       text,
    category      text
);
-- RL08 (window and baseline counts)
CREATE INDEX complaints_operator_received ON credit_sandbox.complaints (operator_id, received_at);
COMMENT ON TABLE credit_sandbox.complaints IS 'Consumer complaints the platforms insert, checked against RL08.';
COMMENT ON COLUMN credit_sandbox.complaints.complaint_id IS
    'Generated key: the order the database received the row in (platforms may not supply it).';
COMMENT ON COLUMN credit_sandbox.complaints.operator_id IS 'The operator complained about (at most 256 bytes).';
COMMENT ON COLUMN credit_sandbox.complaints.received_at IS
    'When the complaint was received (finite): RL08 counts complaints in windows ending here.';
COMMENT ON COLUMN credit_sandbox.complaints.channel IS 'How it arrived (hotline, web, ...); informative only.';
COMMENT ON COLUMN credit_sandbox.complaints.category IS 'What it is about; informative only.';
COMMENT ON SEQUENCE credit_sandbox.complaints_complaint_id_seq IS 'Generates complaints.complaint_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.complaints', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.complaints_complaint_id_seq', '');

-- ===================================================================== reference lists
-- Edited by the DBA; compiled once per backend and recompiled after a change
-- (the invalidate_cache triggers, below).  Filled with defaults here: a
-- default the DBA removes is recorded in removed_rows, below.

CREATE TABLE credit_sandbox.regulated_categories (
    category  text PRIMARY KEY,
    permit    text NOT NULL CONSTRAINT regulated_categories_permit_not_empty CHECK (permit <> '')
);
COMMENT ON TABLE credit_sandbox.regulated_categories IS
    'Categories that need a permit: a sale in one by an operator without the permit hits RL01.';
COMMENT ON COLUMN credit_sandbox.regulated_categories.category IS 'Category, as in transactions.category.';
COMMENT ON COLUMN credit_sandbox.regulated_categories.permit IS 'The permit it needs, as in operators.permits.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.regulated_categories', '');

CREATE TABLE credit_sandbox.prohibited_categories (
    category  text PRIMARY KEY
);
COMMENT ON TABLE credit_sandbox.prohibited_categories IS 'Categories no one may sell: a sale in one hits RL03.';
COMMENT ON COLUMN credit_sandbox.prohibited_categories.category IS 'Category, as in transactions.category.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.prohibited_categories', '');

CREATE TABLE credit_sandbox.prohibited_terms (
    term  text PRIMARY KEY CONSTRAINT prohibited_terms_term_not_empty CHECK (term <> '')
);
COMMENT ON TABLE credit_sandbox.prohibited_terms IS
    'Terms of prohibited goods: an item_title containing one (case-insensitive) hits RL03.';
COMMENT ON COLUMN credit_sandbox.prohibited_terms.term IS 'The term, matched anywhere in the title (UTF-8, case-insensitive).';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.prohibited_terms', '');

CREATE TABLE credit_sandbox.absolute_terms (
    term  text PRIMARY KEY CONSTRAINT absolute_terms_term_not_empty CHECK (term <> '')
);
COMMENT ON TABLE credit_sandbox.absolute_terms IS
    'Advertising superlatives (best in the world, 最佳, ...): an item_title containing one hits RL06.';
COMMENT ON COLUMN credit_sandbox.absolute_terms.term IS 'The term, matched anywhere in the title (UTF-8, case-insensitive).';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.absolute_terms', '');

CREATE TABLE credit_sandbox.return_exempt_categories (
    category  text PRIMARY KEY
);
COMMENT ON TABLE credit_sandbox.return_exempt_categories IS
    'Categories exempt from returns without reason (custom-made, fresh, digital, ...): their refusals never hit RL07.';
COMMENT ON COLUMN credit_sandbox.return_exempt_categories.category IS 'Category, as in returns.category.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.return_exempt_categories', '');

CREATE TABLE credit_sandbox.reference_prices (
    reference_price_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             text,
    category            text,
    price               numeric NOT NULL
                        CONSTRAINT reference_prices_price_positive CHECK (price > 0 AND price <> 'NaN')
                        CONSTRAINT reference_prices_price_finite CHECK (price <> 'Infinity'),
    valid_from          date,
    valid_to            date,
    CONSTRAINT reference_prices_item_or_category CHECK ((item_id IS NULL) <> (category IS NULL)),
    CONSTRAINT reference_prices_valid_range CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
CREATE INDEX reference_prices_item ON credit_sandbox.reference_prices (item_id, valid_from) WHERE item_id IS NOT NULL;
CREATE INDEX reference_prices_category ON credit_sandbox.reference_prices (category, valid_from) WHERE category IS NOT NULL;
COMMENT ON TABLE credit_sandbox.reference_prices IS
    'Reference prices for RL09, of an item or of a category (exactly one set); the item''s wins, then the latest valid_from.';
COMMENT ON COLUMN credit_sandbox.reference_prices.reference_price_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.reference_prices.item_id IS 'The item priced, as in transactions.item_id; NULL for a category''s price.';
COMMENT ON COLUMN credit_sandbox.reference_prices.category IS 'The category priced; NULL for an item''s price.';
COMMENT ON COLUMN credit_sandbox.reference_prices.price IS
    'Reference unit price, in the currency of transactions.unit_price (finite, > 0).';
COMMENT ON COLUMN credit_sandbox.reference_prices.valid_from IS 'First legal day it applies (inclusive); NULL = always before.';
COMMENT ON COLUMN credit_sandbox.reference_prices.valid_to IS 'Last legal day it applies (inclusive); NULL = open.';
COMMENT ON SEQUENCE credit_sandbox.reference_prices_reference_price_id_seq IS
    'Generates reference_prices.reference_price_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.reference_prices', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.reference_prices_reference_price_id_seq', '');

INSERT INTO credit_sandbox.regulated_categories (category, permit) VALUES
    ('food', 'food_business'), ('alcohol', 'alcohol_retail'), ('medicine', 'drug_trading'),
    ('medical_device', 'medical_device'), ('tobacco', 'tobacco_retail');
INSERT INTO credit_sandbox.prohibited_categories (category) VALUES
    ('firearms'), ('wildlife_products'), ('counterfeit_currency');
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES
    ('象牙'), ('仿真枪'), ('假币'), ('穿山甲'), ('ivory'), ('replica gun');
INSERT INTO credit_sandbox.absolute_terms (term) VALUES
    ('最佳'), ('国家级'), ('第一'), ('最高级'), ('顶级'), ('best in the world'), ('No.1');
INSERT INTO credit_sandbox.return_exempt_categories (category) VALUES
    ('custom_made'), ('fresh_produce'), ('digital_goods'), ('opened_software');

-- ===================================================================== rules (contract)

CREATE TABLE credit_sandbox.rules (
    code       text PRIMARY KEY,
    title      text NOT NULL,
    list       text NOT NULL CONSTRAINT rules_list_known CHECK (list IN ('risk_trigger', 'admin_tip')),
    params     jsonb NOT NULL DEFAULT '{}',
    tolerable  boolean NOT NULL DEFAULT false,
    enabled    boolean NOT NULL DEFAULT true,
    version    int NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- who did it is the login: inside a SECURITY DEFINER function current_user
    -- is the owner, and a member who SET ROLE to a group must be named
    changed_by name NOT NULL DEFAULT SESSION_USER
);
COMMENT ON TABLE credit_sandbox.rules IS
    'The nine red lines and the TP01 tip. Parameters are validated when written; a change bumps version and applies to the next inserted row.';
COMMENT ON COLUMN credit_sandbox.rules.code IS 'RL01-RL09 (red lines) or TP01 (tip).';
COMMENT ON COLUMN credit_sandbox.rules.title IS 'Short name of the red line, shown in open_warnings.';
COMMENT ON COLUMN credit_sandbox.rules.list IS
    'What a hit writes: risk_trigger (a warning clue) or admin_tip (an administrative tip).';
COMMENT ON COLUMN credit_sandbox.rules.params IS
    'Parameters, e.g. RL04 {"window": "24 hours", "threshold": 8}; intervals as interval text, validated when written.';
COMMENT ON COLUMN credit_sandbox.rules.tolerable IS
    'A sandbox member''s first hit in 365 days is a tip with a 7-day correction period instead of a clue.';
COMMENT ON COLUMN credit_sandbox.rules.enabled IS 'false = not checked.';
COMMENT ON COLUMN credit_sandbox.rules.version IS
    'Bumped by a change of list, params, tolerable or enabled; warnings record it (rule_history keeps each).';
COMMENT ON COLUMN credit_sandbox.rules.changed_at IS 'When the current version was written.';
COMMENT ON COLUMN credit_sandbox.rules.changed_by IS 'Login (session user) that wrote the current version.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.rules', '');

CREATE FUNCTION credit_sandbox.rules_validate() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_rules_validate';
COMMENT ON FUNCTION credit_sandbox.rules_validate() IS
    'Trigger on rules: refuses bad parameters with a clear error, bumps version on a change.';
REVOKE ALL ON FUNCTION credit_sandbox.rules_validate() FROM PUBLIC;
CREATE TRIGGER rules_validate BEFORE INSERT OR UPDATE ON credit_sandbox.rules
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.rules_validate();
ALTER TABLE credit_sandbox.rules ENABLE ALWAYS TRIGGER rules_validate;

INSERT INTO credit_sandbox.rules (code, title, list, params, tolerable) VALUES
    ('RL01', 'licence / permit',        'risk_trigger', '{}', false),
    ('RL02', 'listed operator trading', 'risk_trigger', '{}', false),
    ('RL03', 'prohibited goods',        'risk_trigger', '{}', false),
    ('RL04', 'order brushing',          'risk_trigger', '{"window": "24 hours", "threshold": 8}', false),
    ('RL05', 'false discount',          'risk_trigger', '{"lookback": "7 days"}', true),
    ('RL06', 'misleading advertising',  'risk_trigger', '{}', true),
    ('RL07', 'refused lawful return',   'risk_trigger', '{"return_period": "7 days", "window": "30 days", "threshold": 1}', true),
    ('RL08', 'complaint surge',         'risk_trigger', '{"window": "30 days", "threshold": 5, "factor": 3, "baseline": "90 days"}', false),
    ('RL09', 'price gouging',           'risk_trigger', '{"max_markup_pct": 50}', false),
    ('TP01', 'licence expiring',        'admin_tip',    '{"expires_within": "30 days"}', false);

-- Every version of every rule, so a warning's rule_version can be read back.
CREATE TABLE credit_sandbox.rule_history (
    code       text NOT NULL,
    version    int NOT NULL,
    list       text NOT NULL,
    params     jsonb NOT NULL,
    tolerable  boolean NOT NULL,
    enabled    boolean NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by name NOT NULL,
    PRIMARY KEY (code, version)
);
COMMENT ON TABLE credit_sandbox.rule_history IS
    'Every version of every rule, written by a trigger on rules: what a warning''s rule_version meant.';
COMMENT ON COLUMN credit_sandbox.rule_history.code IS 'The rule, as in rules.code.';
COMMENT ON COLUMN credit_sandbox.rule_history.version IS 'Its version, as in warnings.rule_version.';
COMMENT ON COLUMN credit_sandbox.rule_history.list IS 'risk_trigger or admin_tip, in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.params IS 'Parameters of that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.tolerable IS 'Tolerable in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.enabled IS 'Enabled in that version.';
COMMENT ON COLUMN credit_sandbox.rule_history.changed_at IS 'When the version was written.';
COMMENT ON COLUMN credit_sandbox.rule_history.changed_by IS 'Login that wrote it.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.rule_history', '');
INSERT INTO credit_sandbox.rule_history
SELECT code, version, list, params, tolerable, enabled, changed_at, changed_by FROM credit_sandbox.rules;

CREATE FUNCTION credit_sandbox.rules_record_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT ($1).code, ($1).version, ($1).list, ($1).params,'
                              ' ($1).tolerable, ($1).enabled, ($1).changed_at, ($1).changed_by',
                              credit_sandbox.placed_table(TG_RELID, 'rule_history'))
        USING NEW;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION credit_sandbox.rules_record_version() IS
    'Trigger on rules: writes each new version to rule_history (as the owner: no role writes the history).';
REVOKE ALL ON FUNCTION credit_sandbox.rules_record_version() FROM PUBLIC;
CREATE TRIGGER rules_record_version AFTER INSERT ON credit_sandbox.rules
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.rules_record_version();
CREATE TRIGGER rules_record_new_version AFTER UPDATE ON credit_sandbox.rules
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION credit_sandbox.rules_record_version();
ALTER TABLE credit_sandbox.rules ENABLE ALWAYS TRIGGER rules_record_version;
ALTER TABLE credit_sandbox.rules ENABLE ALWAYS TRIGGER rules_record_new_version;

-- ===================================================================== warnings (contract)

CREATE TABLE credit_sandbox.warnings (
    warning_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id   text NOT NULL,
    code          text NOT NULL,
    list          text NOT NULL CONSTRAINT warnings_list_known CHECK (list IN ('risk_trigger', 'admin_tip')),
    subject_key   text NOT NULL,
    source_table  text NOT NULL,
    source_id     bigint NOT NULL,
    occurred_at   timestamptz NOT NULL,
    raised_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    rule_version  int NOT NULL,
    evidence      jsonb NOT NULL,
    hits          bigint NOT NULL DEFAULT 1,
    last_hit_at   timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'open'
                  CONSTRAINT warnings_status_known
                  CHECK (status IN ('open', 'acknowledged', 'corrected', 'escalated', 'closed')),
    due_at        timestamptz,
    -- lifecycle, written only by acknowledge / record_correction / escalate_overdue / close_warning
    status_changed_at  timestamptz,
    status_changed_by  name,
    status_note        text,
    escalated_to       bigint
);
COMMENT ON TABLE credit_sandbox.warnings IS
    'Warning clues (risk_trigger) and administrative tips (admin_tip), one open row per (operator_id, code, subject_key).';
COMMENT ON COLUMN credit_sandbox.warnings.warning_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.warnings.operator_id IS 'The operator it is about (registered or not).';
COMMENT ON COLUMN credit_sandbox.warnings.code IS 'The rule hit, as in rules.code (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.warnings.list IS 'risk_trigger (warning clue) or admin_tip (administrative tip).';
COMMENT ON COLUMN credit_sandbox.warnings.subject_key IS
    'What it is about: item_id (RL03, RL05, RL06, RL09), ship_to (RL04), else operator_id.';
COMMENT ON COLUMN credit_sandbox.warnings.source_table IS
    'Table of the first hit''s row: transactions, returns, complaints, or warnings (an escalated tip).';
COMMENT ON COLUMN credit_sandbox.warnings.source_id IS 'Key of that row in source_table.';
COMMENT ON COLUMN credit_sandbox.warnings.occurred_at IS 'Data time of the first hit''s row (its occurred_at, requested_at or received_at).';
COMMENT ON COLUMN credit_sandbox.warnings.raised_at IS 'Wall-clock time it was written (now() of that transaction).';
COMMENT ON COLUMN credit_sandbox.warnings.rule_version IS 'Version of the rule that judged the first hit (rule_history).';
COMMENT ON COLUMN credit_sandbox.warnings.evidence IS 'The observed values and the thresholds they were held against.';
COMMENT ON COLUMN credit_sandbox.warnings.hits IS 'Hits counted on it while open (the first included).';
COMMENT ON COLUMN credit_sandbox.warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.warnings.status IS
    'open -> acknowledged -> corrected | escalated -> closed; only an open one counts further hits.';
COMMENT ON COLUMN credit_sandbox.warnings.due_at IS
    'End of a tolerance tip''s correction period (occurred_at + 7 days); NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.warnings.status_changed_at IS 'When status last changed; NULL = never.';
COMMENT ON COLUMN credit_sandbox.warnings.status_changed_by IS 'Login that last changed status.';
COMMENT ON COLUMN credit_sandbox.warnings.status_note IS 'Note given with the latest status change that had one.';
COMMENT ON COLUMN credit_sandbox.warnings.escalated_to IS 'For an escalated tip: the warning clue escalate_overdue wrote for it.';
COMMENT ON SEQUENCE credit_sandbox.warnings_warning_id_seq IS 'Generates warnings.warning_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warnings', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warnings_warning_id_seq', '');
-- dedup of open warnings; the tolerance look-back
CREATE UNIQUE INDEX warnings_open_key ON credit_sandbox.warnings (operator_id, code, subject_key)
    WHERE status = 'open';
CREATE INDEX warnings_operator_code_last_hit ON credit_sandbox.warnings (operator_id, code, last_hit_at);

-- Every hit, new warning or added to an open one: which row hit, and when.
-- operator_id is the column a sharded deployment distributes the hit log by,
-- co-located with warnings (README, "Partitioning and scaling out").
CREATE TABLE credit_sandbox.warning_hits (
    warning_id    bigint NOT NULL,
    source_table  text NOT NULL,
    source_id     bigint NOT NULL,
    hit_at        timestamptz NOT NULL,
    operator_id   text CONSTRAINT warning_hits_operator_id_not_null CHECK (operator_id IS NOT NULL)
);
CREATE INDEX warning_hits_warning ON credit_sandbox.warning_hits (warning_id);
CREATE INDEX warning_hits_source ON credit_sandbox.warning_hits (source_table, source_id);
COMMENT ON TABLE credit_sandbox.warning_hits IS
    'Every hit, the first of a warning and each one counted on it: which row hit, and when.';
COMMENT ON COLUMN credit_sandbox.warning_hits.warning_id IS 'The warning the hit was written to or counted on.';
COMMENT ON COLUMN credit_sandbox.warning_hits.source_table IS 'Table of the row that hit: transactions, returns, complaints or warnings.';
COMMENT ON COLUMN credit_sandbox.warning_hits.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.warning_hits.hit_at IS 'Data time of that row.';
COMMENT ON COLUMN credit_sandbox.warning_hits.operator_id IS
    'The warning''s operator: the distribution column of a sharded deployment.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warning_hits', '');

-- ===================================================================== grading

-- Points taken off a score of 100 per unit of each indicator (editable).
CREATE TABLE credit_sandbox.grading_weights (
    indicator    text PRIMARY KEY,
    weight       numeric NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE credit_sandbox.grading_weights IS
    'Points taken off a score of 100 per unit of each grading indicator (editable).';
COMMENT ON COLUMN credit_sandbox.grading_weights.indicator IS 'The indicator, as in operator_grades.indicators.';
COMMENT ON COLUMN credit_sandbox.grading_weights.weight IS 'Points off per unit of the indicator.';
COMMENT ON COLUMN credit_sandbox.grading_weights.description IS 'What one unit of the indicator is.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.grading_weights', '');
INSERT INTO credit_sandbox.grading_weights (indicator, weight, description) VALUES
    ('no_valid_licence',           30, 'no licence valid on the day (1) or a valid one (0)'),
    ('registered_under_a_year',    15, 'registered less than a year before the day, or not registered (1)'),
    ('abnormal_list',              30, 'on the abnormal-operations list on the day (1)'),
    ('dishonest_list',             60, 'on the serious illegal-and-dishonest list on the day (1)'),
    ('warning_clues',              15, 'warning clues whose last hit lies in the 365 days before'),
    ('admin_tips',                  4, 'administrative tips other than TP01 whose last hit lies in the 365 days before'),
    ('open_warning_clues',         10, 'warning clues still open or acknowledged'),
    ('complaints_per_1000_orders',  2, 'complaints in the 365 days before, per 1,000 orders (at least 1,000 orders assumed)'),
    ('refusals_per_1000_orders',    5, 'refused returns in the 365 days before, per 1,000 orders (at least 1,000 orders assumed)');

-- Lowest score of each class; below C's is D (editable, A > B > C).
CREATE TABLE credit_sandbox.grade_boundaries (
    class      text PRIMARY KEY,
    min_score  numeric NOT NULL
);
COMMENT ON TABLE credit_sandbox.grade_boundaries IS
    'Lowest score of classes A, B and C (A > B > C); a lower score is D (editable).';
COMMENT ON COLUMN credit_sandbox.grade_boundaries.class IS 'A, B or C.';
COMMENT ON COLUMN credit_sandbox.grade_boundaries.min_score IS 'Lowest score (out of 100) of the class.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.grade_boundaries', '');
INSERT INTO credit_sandbox.grade_boundaries (class, min_score) VALUES ('A', 90), ('B', 70), ('C', 50);

CREATE FUNCTION credit_sandbox.grading_validate() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_grading_validate';
COMMENT ON FUNCTION credit_sandbox.grading_validate() IS
    'Trigger on grading_weights and grade_boundaries: refuses unknown indicators or classes and bad numbers.';
REVOKE ALL ON FUNCTION credit_sandbox.grading_validate() FROM PUBLIC;
CREATE TRIGGER grading_validate BEFORE INSERT OR UPDATE ON credit_sandbox.grading_weights
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.grading_validate();
CREATE TRIGGER grading_validate BEFORE INSERT OR UPDATE ON credit_sandbox.grade_boundaries
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.grading_validate();
ALTER TABLE credit_sandbox.grading_weights ENABLE ALWAYS TRIGGER grading_validate;
ALTER TABLE credit_sandbox.grade_boundaries ENABLE ALWAYS TRIGGER grading_validate;
-- An ordinary trigger: a restore replaces one boundary at a time.
CREATE FUNCTION credit_sandbox.grade_boundaries_ordered() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_grade_boundaries_ordered';
COMMENT ON FUNCTION credit_sandbox.grade_boundaries_ordered() IS
    'Trigger on grade_boundaries, per statement: A, B and C present, their scores strictly decreasing.';
REVOKE ALL ON FUNCTION credit_sandbox.grade_boundaries_ordered() FROM PUBLIC;
CREATE TRIGGER grade_boundaries_ordered AFTER INSERT OR UPDATE OR DELETE ON credit_sandbox.grade_boundaries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.grade_boundaries_ordered();

-- Every grading, kept: the class of an operator is its latest row.
CREATE TABLE credit_sandbox.operator_grades (
    grade_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id   text NOT NULL,
    graded_as_of  timestamptz NOT NULL,
    graded_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    score         numeric NOT NULL,
    score_class   text NOT NULL,
    class         text NOT NULL CONSTRAINT operator_grades_class_known CHECK (class IN ('A', 'B', 'C', 'D')),
    indicators    jsonb NOT NULL,
    hard_rules    jsonb NOT NULL,
    cause         text NOT NULL
);
COMMENT ON TABLE credit_sandbox.operator_grades IS
    'History of credit classes. indicators: {indicator: {value, weight, points}}; hard_rules: the rules that capped the class; score_class: the class by score alone.';
COMMENT ON COLUMN credit_sandbox.operator_grades.grade_id IS 'Generated key (unique across Citus nodes, not in time order across them).';
COMMENT ON COLUMN credit_sandbox.operator_grades.operator_id IS 'The operator graded.';
COMMENT ON COLUMN credit_sandbox.operator_grades.graded_as_of IS
    'The moment judged: indicators count the 365 days before it, on its legal day.';
COMMENT ON COLUMN credit_sandbox.operator_grades.graded_at IS
    'Wall-clock time the grade was written, under the operator''s lock: an operator''s class is its latest row by graded_at (then grade_id).';
COMMENT ON COLUMN credit_sandbox.operator_grades.score IS '100 minus the points of every indicator (2 decimals).';
COMMENT ON COLUMN credit_sandbox.operator_grades.score_class IS 'The class by score alone (grade_boundaries).';
COMMENT ON COLUMN credit_sandbox.operator_grades.class IS 'The class: score_class capped by the hard rules; A (low risk) to D (high).';
COMMENT ON COLUMN credit_sandbox.operator_grades.indicators IS '{indicator: {value, weight, points}}: why the score is what it is.';
COMMENT ON COLUMN credit_sandbox.operator_grades.hard_rules IS 'JSON array: the hard rules that capped the class.';
COMMENT ON COLUMN credit_sandbox.operator_grades.cause IS
    'What graded it: grade, regrade, first grading, or warning clue <code> (a clue caps class A at B).';
COMMENT ON SEQUENCE credit_sandbox.operator_grades_grade_id_seq IS 'Generates operator_grades.grade_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_grades', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_grades_grade_id_seq', '');
CREATE INDEX operator_grades_latest ON credit_sandbox.operator_grades (operator_id, graded_at, grade_id);

CREATE FUNCTION credit_sandbox.grade(operator_id text, at timestamptz DEFAULT pg_catalog.now()) RETURNS text
    LANGUAGE c STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_grade';
COMMENT ON FUNCTION credit_sandbox.grade(text, timestamptz) IS
    'Grades one operator as of at, records it in operator_grades, returns A..D; a member graded below A leaves the sandbox.';
REVOKE ALL ON FUNCTION credit_sandbox.grade(text, timestamptz) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.regrade(at timestamptz DEFAULT pg_catalog.now()) RETURNS bigint
    LANGUAGE c STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_regrade';
COMMENT ON FUNCTION credit_sandbox.regrade(timestamptz) IS
    'Grades every operator as of at in one pass; returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.regrade(timestamptz) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.grade_ungraded(at timestamptz DEFAULT pg_catalog.now()) RETURNS bigint
    LANGUAGE c STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_grade_ungraded';
COMMENT ON FUNCTION credit_sandbox.grade_ungraded(timestamptz) IS
    'Grades, in one pass, every operator never graded; returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.grade_ungraded(timestamptz) FROM PUBLIC;
-- What regrade and grade_ungraded run on Citus on each shard group's worker,
-- under the group's locks (src/grading.c); on one node it grades everyone.
-- Only they call it, as the extension's owner.
CREATE FUNCTION credit_sandbox.grade_shard_group(operator_id text, at timestamptz, only_ungraded boolean)
    RETURNS bigint
    LANGUAGE c STRICT SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_grade_shard_group';
COMMENT ON FUNCTION credit_sandbox.grade_shard_group(text, timestamptz, boolean) IS
    'Grades as of at, in one pass, every operator (or every one never graded) stored beside operator_id: its Citus shard group, or all on one node; returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.grade_shard_group(text, timestamptz, boolean) FROM PUBLIC;

-- The latest class of each graded operator.
CREATE VIEW credit_sandbox.operator_classes WITH (security_barrier) AS
SELECT DISTINCT ON (g.operator_id) g.operator_id, g.class, g.score, g.graded_as_of, g.grade_id
  FROM credit_sandbox.operator_grades g
 ORDER BY g.operator_id, g.graded_at DESC, g.grade_id DESC;
COMMENT ON VIEW credit_sandbox.operator_classes IS 'The latest class of each graded operator.';
COMMENT ON COLUMN credit_sandbox.operator_classes.operator_id IS 'The operator.';
COMMENT ON COLUMN credit_sandbox.operator_classes.class IS 'Its latest class, A (low risk) to D (high).';
COMMENT ON COLUMN credit_sandbox.operator_classes.score IS 'The score of that grading (out of 100).';
COMMENT ON COLUMN credit_sandbox.operator_classes.graded_as_of IS 'The moment that grading judged.';
COMMENT ON COLUMN credit_sandbox.operator_classes.grade_id IS 'That grading in operator_grades.';

-- ===================================================================== sandbox

-- One row per stay in the sandbox: open while exited_at IS NULL.  Stays are
-- stamped when the operator's lock is held (clock_timestamp), not when the
-- transaction began: stays of one operator follow each other and never
-- overlap, and none ends before it began.
CREATE TABLE credit_sandbox.sandbox_memberships (
    membership_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id    text NOT NULL,
    admitted_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    admitted_by    name NOT NULL DEFAULT SESSION_USER,
    admit_reason   text NOT NULL,
    exited_at      timestamptz,
    exit_reason    text,
    exit_code      text,
    exit_warning_id bigint,
    exit_hit_at    timestamptz,
    CONSTRAINT sandbox_memberships_exit_has_reason CHECK ((exited_at IS NULL) = (exit_reason IS NULL))
);
CREATE UNIQUE INDEX sandbox_memberships_current ON credit_sandbox.sandbox_memberships (operator_id)
    WHERE exited_at IS NULL;
CREATE INDEX sandbox_memberships_operator ON credit_sandbox.sandbox_memberships (operator_id, admitted_at);
COMMENT ON TABLE credit_sandbox.sandbox_memberships IS
    'Stays in the credit sandbox, one row each, kept after they end; current while exited_at is NULL.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.membership_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.operator_id IS 'The member; at most one current stay each.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admitted_at IS 'When the stay began (clock time under the operator''s lock).';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admitted_by IS 'Login that admitted it (admit or renew_sandbox).';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.admit_reason IS 'Why: class A and its score, by admit or a renewal.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exited_at IS 'When the stay ended (clock time); NULL = current.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_reason IS 'Why it ended: the class and hard rules, or the clue''s code and title.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_code IS 'CLASS (graded below A) or the code of the warning clue that ended it.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_warning_id IS 'The warning clue that ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_memberships.exit_hit_at IS 'Data time of the row whose hit ended it, if one did.';
COMMENT ON SEQUENCE credit_sandbox.sandbox_memberships_membership_id_seq IS 'Generates sandbox_memberships.membership_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.sandbox_memberships', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.sandbox_memberships_membership_id_seq', '');

CREATE FUNCTION credit_sandbox.lock_operator(operator_id text) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'credit_sandbox_lock_operator';
COMMENT ON FUNCTION credit_sandbox.lock_operator(text) IS
    'Takes the transaction-level lock that serialises the checks of one operator (on Citus, on the operator''s worker).';
REVOKE ALL ON FUNCTION credit_sandbox.lock_operator(text) FROM PUBLIC;

CREATE FUNCTION credit_sandbox.lock_all_operators() RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'credit_sandbox_lock_all_operators';
COMMENT ON FUNCTION credit_sandbox.lock_all_operators() IS
    'Takes every operator''s lock, in the global order, until the transaction ends: for what works across operators.';
REVOKE ALL ON FUNCTION credit_sandbox.lock_all_operators() FROM PUBLIC;

CREATE FUNCTION credit_sandbox.in_sandbox(operator_id text) RETURNS boolean
    LANGUAGE c STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_in_sandbox';
COMMENT ON FUNCTION credit_sandbox.in_sandbox(text) IS 'Whether the operator is in the sandbox now. Anyone may ask.';
REVOKE ALL ON FUNCTION credit_sandbox.in_sandbox(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_sandbox.in_sandbox(text) TO PUBLIC;

-- Admits a class-A operator (graded now); returns false when it is already a member.
CREATE FUNCTION credit_sandbox.admit(operator_id text) RETURNS boolean
    LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    g credit_sandbox.operator_grades;
BEGIN
    IF NOT EXISTS (SELECT FROM credit_sandbox.operators o WHERE o.operator_id = admit.operator_id) THEN
        RAISE EXCEPTION 'operator "%" does not exist', admit.operator_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Insert the operator into credit_sandbox.operators first.';
    END IF;
    PERFORM credit_sandbox.lock_operator(admit.operator_id);
    PERFORM credit_sandbox.grade(admit.operator_id);
    SELECT * INTO g FROM credit_sandbox.operator_grades x
     WHERE x.operator_id = admit.operator_id ORDER BY x.graded_at DESC, x.grade_id DESC LIMIT 1;
    IF g.class <> 'A' THEN
        RAISE EXCEPTION 'operator "%" is class %, and only class A enters the sandbox', admit.operator_id, g.class
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Score %s; hard rules: %s.', g.score,
                                  coalesce((SELECT string_agg(r, '; ') FROM jsonb_array_elements_text(g.hard_rules) r), 'none')),
                  HINT = 'See credit_sandbox.operator_grades for the indicators behind the class.';
    END IF;
    INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
    VALUES (admit.operator_id, format('admitted by %s: class A, score %s', SESSION_USER, g.score))
    ON CONFLICT (operator_id) WHERE exited_at IS NULL DO NOTHING;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION credit_sandbox.admit(text) IS
    'Grades the operator now and admits it to the sandbox if class A (else an error); false when already a member.';
REVOKE ALL ON FUNCTION credit_sandbox.admit(text) FROM PUBLIC;

-- Grades everyone as of at (members below A leave), then admits every
-- class-A operator that is not a member.  Returns what changed.  Every
-- operator locked first (regrade takes them too): no check is half-way
-- through an operator while its class and membership are decided.
CREATE FUNCTION credit_sandbox.renew_sandbox(at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (operator_id text, action text, reason text)
    LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    stays bigint[];
BEGIN
    PERFORM credit_sandbox.lock_all_operators();
    SELECT array_agg(m.membership_id) INTO stays
      FROM credit_sandbox.sandbox_memberships m WHERE m.exited_at IS NULL;
    PERFORM credit_sandbox.regrade(renew_sandbox.at);
    RETURN QUERY
    SELECT m.operator_id, 'removed', m.exit_reason
      FROM credit_sandbox.sandbox_memberships m
     WHERE m.membership_id = ANY (stays) AND m.exited_at IS NOT NULL
     ORDER BY m.operator_id;
    RETURN QUERY
    INSERT INTO credit_sandbox.sandbox_memberships AS m (operator_id, admit_reason)
    SELECT c.operator_id, format('renewal as of %s: class A, score %s', renew_sandbox.at, c.score)
      FROM credit_sandbox.operator_classes c
     WHERE c.class = 'A'
       -- not correlated: on Citus the view is a function's rows, which a correlated
       -- subquery of a distributed table cannot follow
       AND c.operator_id NOT IN (SELECT x.operator_id FROM credit_sandbox.sandbox_memberships x
                                  WHERE x.exited_at IS NULL)
     ORDER BY c.operator_id
    ON CONFLICT DO NOTHING
    RETURNING m.operator_id, 'admitted', m.admit_reason;
END $$;
COMMENT ON FUNCTION credit_sandbox.renew_sandbox(timestamptz) IS
    'Regrades everyone as of at, removes members below A, admits every class-A non-member; returns each change.';
REVOKE ALL ON FUNCTION credit_sandbox.renew_sandbox(timestamptz) FROM PUBLIC;

-- Who was in the sandbox at a moment, and since when.
CREATE FUNCTION credit_sandbox.sandbox_members_at(at timestamptz)
    RETURNS TABLE (operator_id text, admitted_at timestamptz, admit_reason text)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- (PL/pgSQL: Citus cannot plan a SQL function's parameters)
    RETURN QUERY
    SELECT m.operator_id, m.admitted_at, m.admit_reason
      FROM credit_sandbox.sandbox_memberships m
     WHERE m.admitted_at <= sandbox_members_at.at
       AND (m.exited_at IS NULL OR m.exited_at > sandbox_members_at.at)
     ORDER BY m.operator_id;
END $$;
COMMENT ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz) IS
    'The members at a moment, with the start of their stay: membership history for analysts.';
REVOKE ALL ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz) FROM PUBLIC;

-- ===================================================================== operators' own view and the audit trail
-- An operator (the merchant) reads its own warnings and tips, and acknowledges
-- and records corrections on its own tips, through a login the regulator maps
-- to its operator ids; it reads nothing else.  Every status change is kept,
-- append-only, in warning_status_history.
--
-- Who is the caller: the login, session_user, everywhere here, never
-- current_user.  The views take it as (SELECT SESSION_USER), a value computed
-- once where the query is planned: on Citus a query's SESSION_USER sent to the
-- workers would be the user of the coordinator's connection (owner_rows).  acknowledge and record_correction are SECURITY DEFINER (they
-- write warnings), so inside them current_user is the extension's owner and
-- only session_user still names the caller; my_warnings uses the same test so
-- that it shows exactly the tips those functions accept.  SET ROLE cannot
-- change session_user: a login that is also a member of another login's role
-- still sees only what the regulator mapped to it.

CREATE TABLE credit_sandbox.operator_logins (
    login        name NOT NULL,
    operator_id  text NOT NULL,
    PRIMARY KEY (login, operator_id)
);
COMMENT ON TABLE credit_sandbox.operator_logins IS
    'Which operators each login of the operator role acts for (the regulator''s): my_warnings, acknowledge and record_correction.';
COMMENT ON COLUMN credit_sandbox.operator_logins.login IS 'The login (session_user), as in pg_roles.rolname; not checked to exist.';
COMMENT ON COLUMN credit_sandbox.operator_logins.operator_id IS 'An operator it acts for (need not be registered).';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.operator_logins', '');

CREATE TABLE credit_sandbox.warning_status_history (
    history_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id   bigint NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    changed_by   name NOT NULL,
    changed_at   timestamptz NOT NULL,
    note         text
);
CREATE INDEX warning_status_history_warning ON credit_sandbox.warning_status_history (warning_id, history_id);
COMMENT ON TABLE credit_sandbox.warning_status_history IS
    'Every status change of a warning or tip, append-only: acknowledge, record_correction, close_warning and escalate_overdue each add a row.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.history_id IS 'Generated key: the order the changes were made in.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.warning_id IS 'The warning or tip (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.from_status IS
    'Its status before; NULL for a change made before 0.7 (the update to 0.7 kept each warning''s last one).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.to_status IS 'Its status after: acknowledged, corrected, escalated or closed.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.changed_by IS 'Login (session user) that made the change.';
COMMENT ON COLUMN credit_sandbox.warning_status_history.changed_at IS 'When (now() of that transaction, as warnings.status_changed_at).';
COMMENT ON COLUMN credit_sandbox.warning_status_history.note IS
    'The note given with the change; for an escalation, the warning clue written for the tip.';
COMMENT ON SEQUENCE credit_sandbox.warning_status_history_history_id_seq IS 'Generates warning_status_history.history_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warning_status_history', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.warning_status_history_history_id_seq', '');

-- Append-only for everyone, the owner included: no grant allows a change, and
-- this trigger stops the owner (or a superuser) changing the record by mistake.
-- ENABLE ALWAYS, so session_replication_role = replica does not skip it.
CREATE FUNCTION credit_sandbox.refuse_history_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% on warning_status_history is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'The history of warning statuses is append-only: rows are only ever added.',
              HINT = 'A status change is made by acknowledge, record_correction, close_warning or escalate_overdue, which add a row.';
END $$;
COMMENT ON FUNCTION credit_sandbox.refuse_history_change() IS
    'Trigger on warning_status_history: refuses UPDATE, DELETE and TRUNCATE, for every role.';
REVOKE ALL ON FUNCTION credit_sandbox.refuse_history_change() FROM PUBLIC;
CREATE TRIGGER refuse_history_change BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_sandbox.warning_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.refuse_history_change();
ALTER TABLE credit_sandbox.warning_status_history ENABLE ALWAYS TRIGGER refuse_history_change;

-- Internal (granted to nobody), called by acknowledge and record_correction:
-- a login that may close warnings is the regulator's and may change any
-- warning; any other only the tips (admin_tip) of its own operators.  The
-- same error whether the warning does not exist, is another operator's or is
-- a warning clue, so that the error says nothing of other operators' rows.
CREATE FUNCTION credit_sandbox.check_own_tip(warning_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    -- the login, read here: on Citus SESSION_USER in a statement is the
    -- user of the coordinator's connection to the worker
    caller name := SESSION_USER;
BEGIN
    IF has_function_privilege(caller, 'credit_sandbox.close_warning(bigint, text)', 'EXECUTE') THEN
        RETURN;
    END IF;
    -- a statement, not IF NOT EXISTS (...): Citus plans no expression's
    -- EXISTS over a distributed table with a parameter ("a column definition
    -- list is required for functions returning record")
    PERFORM FROM credit_sandbox.warnings w
      JOIN credit_sandbox.operator_logins l ON l.operator_id = w.operator_id
     WHERE w.warning_id = check_own_tip.warning_id AND w.list = 'admin_tip' AND l.login = caller;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied for warning %', check_own_tip.warning_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Login %s may acknowledge and record corrections only on the tips (admin_tip) of the operators operator_logins maps it to.',
                                  quote_ident(caller)),
                  HINT = 'Your tips are the rows of credit_sandbox.my_warnings with list admin_tip; the regulator maps logins to operators.';
    END IF;
END $$;
COMMENT ON FUNCTION credit_sandbox.check_own_tip(bigint) IS
    'Internal: refuses (42501) a warning that is not a tip of the calling login''s operators, unless the login may close warnings (the regulator).';
REVOKE ALL ON FUNCTION credit_sandbox.check_own_tip(bigint) FROM PUBLIC;

-- The calling login's operators' warnings and tips, every status: the
-- columns of open_warnings.
CREATE VIEW credit_sandbox.my_warnings WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.list, w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.raised_at, w.due_at,
       w.rule_version, r.tolerable, w.evidence, w.source_table, w.source_id,
       (o.operator_id IS NOT NULL) AS registered,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = (SELECT SESSION_USER));
COMMENT ON VIEW credit_sandbox.my_warnings IS
    'The warning clues and tips, every status, of the operators operator_logins maps the calling login (session_user) to.';
COMMENT ON COLUMN credit_sandbox.my_warnings.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.my_warnings.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.my_warnings.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.my_warnings.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.my_warnings.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.my_warnings.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.my_warnings.list IS 'risk_trigger (warning clue) or admin_tip (tip: acknowledge and record_correction take it).';
COMMENT ON COLUMN credit_sandbox.my_warnings.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.my_warnings.status IS 'open, acknowledged, corrected, escalated or closed.';
COMMENT ON COLUMN credit_sandbox.my_warnings.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.my_warnings.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.raised_at IS 'Wall-clock time it was written.';
COMMENT ON COLUMN credit_sandbox.my_warnings.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.my_warnings.rule_version IS 'Version of the rule that judged the first hit.';
COMMENT ON COLUMN credit_sandbox.my_warnings.tolerable IS 'Whether the rule is tolerable now.';
COMMENT ON COLUMN credit_sandbox.my_warnings.evidence IS 'Observed values and thresholds.';
COMMENT ON COLUMN credit_sandbox.my_warnings.source_table IS 'Table of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.my_warnings.registered IS 'Whether the operator is in operators.';
COMMENT ON COLUMN credit_sandbox.my_warnings.in_sandbox IS 'Whether the operator is in the sandbox now.';

-- The status history of the warnings my_warnings shows.
CREATE VIEW credit_sandbox.my_warning_history WITH (security_barrier) AS
SELECT h.history_id, h.warning_id, h.from_status, h.to_status, h.changed_by, h.changed_at, h.note
  FROM credit_sandbox.warning_status_history h
  JOIN credit_sandbox.warnings w ON w.warning_id = h.warning_id
 WHERE w.operator_id IN (SELECT l.operator_id FROM credit_sandbox.operator_logins l WHERE l.login = (SELECT SESSION_USER));
COMMENT ON VIEW credit_sandbox.my_warning_history IS
    'The status history (warning_status_history) of the warnings and tips of the calling login''s operators.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.history_id IS 'The order the changes were made in.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.warning_id IS 'The warning or tip (my_warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.my_warning_history.from_status IS 'Its status before; NULL for a change made before 0.7.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.to_status IS 'Its status after.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.changed_by IS 'Login that made the change.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.changed_at IS 'When.';
COMMENT ON COLUMN credit_sandbox.my_warning_history.note IS 'The note given; for an escalation, the warning clue written for the tip.';

-- ===================================================================== correction and escalation

-- Internal: the status changes it allows are the caller's to choose, so it is
-- granted to nobody; acknowledge, record_correction and close_warning use it.
-- Each change adds its row to warning_status_history.
CREATE FUNCTION credit_sandbox.change_warning_status(warning_id bigint, from_status text[], to_status text,
                                                     note text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    w credit_sandbox.warnings;
    old_status text;
    -- the login, read here: on Citus SESSION_USER in a statement is the
    -- user of the coordinator's connection to the worker
    caller name := SESSION_USER;
BEGIN
    SELECT * INTO w FROM credit_sandbox.warnings x WHERE x.warning_id = change_warning_status.warning_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'warning % does not exist', change_warning_status.warning_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM credit_sandbox.lock_operator(w.operator_id);
    -- read again under the lock: the status another transaction left.  The
    -- operator named too, here and below: on Citus (tables distributed by
    -- operator_id) the row's shard, where FOR UPDATE and UPDATE run.
    SELECT x.status INTO old_status FROM credit_sandbox.warnings x
     WHERE x.operator_id = w.operator_id AND x.warning_id = w.warning_id FOR UPDATE;
    IF NOT old_status = ANY (from_status) THEN
        RAISE EXCEPTION 'warning % is %, not %', w.warning_id, old_status, array_to_string(from_status, ' or ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A warning goes open -> acknowledged -> corrected or escalated -> closed.';
    END IF;
    UPDATE credit_sandbox.warnings x
       SET status = to_status, status_changed_at = pg_catalog.now(), status_changed_by = caller,
           status_note = coalesce(note, x.status_note)
     WHERE x.operator_id = w.operator_id AND x.warning_id = w.warning_id;
    INSERT INTO credit_sandbox.warning_status_history (warning_id, from_status, to_status, changed_by, changed_at, note)
    VALUES (w.warning_id, old_status, to_status, caller, pg_catalog.now(), note);
END $$;
COMMENT ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) IS
    'Internal: moves a warning from one of from_status to to_status, under its operator''s lock, and records the change in warning_status_history.';
REVOKE ALL ON FUNCTION credit_sandbox.change_warning_status(bigint, text[], text, text) FROM PUBLIC;

-- The regulator's on any warning, an operator login's on its own tips
-- (check_own_tip).
CREATE FUNCTION credit_sandbox.acknowledge(warning_id bigint, note text DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT credit_sandbox.check_own_tip(warning_id);
    SELECT credit_sandbox.change_warning_status(warning_id, '{open}', 'acknowledged', note)
$$;
COMMENT ON FUNCTION credit_sandbox.acknowledge(bigint, text) IS
    'open -> acknowledged: the warning is seen (it no longer counts hits; a new hit opens a new one). The regulator on any warning, an operator login on its own tips.';
REVOKE ALL ON FUNCTION credit_sandbox.acknowledge(bigint, text) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.record_correction(warning_id bigint, note text DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT credit_sandbox.check_own_tip(warning_id);
    SELECT credit_sandbox.change_warning_status(warning_id, '{open,acknowledged}', 'corrected', note)
$$;
COMMENT ON FUNCTION credit_sandbox.record_correction(bigint, text) IS
    'open or acknowledged -> corrected: the operator corrected it (a tip so marked is never escalated). The regulator on any warning, an operator login on its own tips.';
REVOKE ALL ON FUNCTION credit_sandbox.record_correction(bigint, text) FROM PUBLIC;
CREATE FUNCTION credit_sandbox.close_warning(warning_id bigint, note text DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT credit_sandbox.change_warning_status(warning_id, '{open,acknowledged,corrected,escalated}', 'closed', note)
$$;
COMMENT ON FUNCTION credit_sandbox.close_warning(bigint, text) IS 'Any status but closed -> closed: the case is settled.';
REVOKE ALL ON FUNCTION credit_sandbox.close_warning(bigint, text) FROM PUBLIC;

CREATE FUNCTION credit_sandbox.escalate_overdue(at timestamptz DEFAULT pg_catalog.now()) RETURNS bigint
    LANGUAGE c STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_escalate_overdue';
COMMENT ON FUNCTION credit_sandbox.escalate_overdue(timestamptz) IS
    'Escalates every tip past due_at and not corrected as of at (never later than now()): status escalated, recorded in warning_status_history, and a new warning clue on its key. Meant for a schedule (pg_cron).';
REVOKE ALL ON FUNCTION credit_sandbox.escalate_overdue(timestamptz) FROM PUBLIC;

-- ===================================================================== dual-random inspections

CREATE TABLE credit_sandbox.inspectors (
    inspector_id  text PRIMARY KEY CONSTRAINT inspectors_inspector_id_not_empty CHECK (inspector_id <> ''),
    name          text,
    region        text,
    active        boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE credit_sandbox.inspectors IS 'Inspectors a draw may assign to tasks.';
COMMENT ON COLUMN credit_sandbox.inspectors.inspector_id IS 'The inspector''s id: hashed with the seed to draw.';
COMMENT ON COLUMN credit_sandbox.inspectors.name IS 'Name.';
COMMENT ON COLUMN credit_sandbox.inspectors.region IS 'Region the inspector works in; informative only.';
COMMENT ON COLUMN credit_sandbox.inspectors.active IS 'false = left out of draws.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspectors', '');

CREATE TABLE credit_sandbox.inspector_conflicts (
    inspector_id  text NOT NULL REFERENCES credit_sandbox.inspectors ON DELETE CASCADE,
    operator_id   text NOT NULL,
    reason        text,
    PRIMARY KEY (inspector_id, operator_id)
);
COMMENT ON TABLE credit_sandbox.inspector_conflicts IS 'Inspectors never assigned to an operator (a conflict of interest).';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.inspector_id IS 'The inspector.';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.operator_id IS 'The operator it must not inspect.';
COMMENT ON COLUMN credit_sandbox.inspector_conflicts.reason IS 'Why; informative only.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspector_conflicts', '');

-- A draw and everything needed to recompute it: seed, parameters, the pool
-- of operators with their classes, the inspectors and their conflicts.
CREATE TABLE credit_sandbox.inspection_draws (
    draw_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seed                 text NOT NULL,
    ratios               jsonb NOT NULL,
    inspectors_per_task  int NOT NULL,
    drawn_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    drawn_by             name NOT NULL DEFAULT SESSION_USER,
    inspector_pool       text[] NOT NULL,
    conflicts            jsonb NOT NULL
);
COMMENT ON TABLE credit_sandbox.inspection_draws IS
    'Dual-random draws, each with every input needed to recompute it (verify_draw).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.draw_id IS 'Generated key.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.seed IS 'The seed, published before the draw: every hash is sha256(seed || '':'' || ...).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.ratios IS 'Share of each class drawn, e.g. {"A": 0.03, "D": 0.80}; a class left out is not drawn.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.inspectors_per_task IS 'Inspectors assigned to each task (>= 1).';
COMMENT ON COLUMN credit_sandbox.inspection_draws.drawn_at IS 'When the draw was made.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.drawn_by IS 'Login that made it.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.inspector_pool IS 'The active inspectors at the draw, sorted.';
COMMENT ON COLUMN credit_sandbox.inspection_draws.conflicts IS 'The conflicts at the draw: [[inspector_id, operator_id], ...].';
COMMENT ON SEQUENCE credit_sandbox.inspection_draws_draw_id_seq IS 'Generates inspection_draws.draw_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspection_draws', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspection_draws_draw_id_seq', '');

CREATE TABLE credit_sandbox.inspection_pool (
    draw_id      bigint NOT NULL REFERENCES credit_sandbox.inspection_draws ON DELETE CASCADE,
    operator_id  text NOT NULL,
    class        text,
    triggered    boolean NOT NULL,
    PRIMARY KEY (draw_id, operator_id)
);
COMMENT ON TABLE credit_sandbox.inspection_pool IS
    'The operators a draw chose from (no-disturbance members excluded), with their class at the draw.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.operator_id IS 'An operator of its pool.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.class IS 'Its latest class at the draw; NULL = unregistered, never drawn at random.';
COMMENT ON COLUMN credit_sandbox.inspection_pool.triggered IS 'It had an open warning clue: a triggered task unless drawn.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspection_pool', '');

CREATE TABLE credit_sandbox.inspection_tasks (
    draw_id      bigint NOT NULL REFERENCES credit_sandbox.inspection_draws ON DELETE CASCADE,
    operator_id  text NOT NULL,
    reason       text NOT NULL CONSTRAINT inspection_tasks_reason_known CHECK (reason IN ('random', 'triggered')),
    inspectors   text[] NOT NULL,
    PRIMARY KEY (draw_id, operator_id)
);
COMMENT ON TABLE credit_sandbox.inspection_tasks IS 'What a draw gave: one task per operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.operator_id IS 'The operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.reason IS 'random (drawn in its class) or triggered (an open warning clue).';
COMMENT ON COLUMN credit_sandbox.inspection_tasks.inspectors IS 'The inspectors assigned, conflicts skipped, in drawn order.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.inspection_tasks', '');

-- The tasks a draw's recorded inputs give.  sha256 over the UTF-8 text,
-- compared as bytes, so anyone can redo a draw with any sha256 tool.
CREATE FUNCTION credit_sandbox.draw_tasks(draw_id bigint)
    RETURNS TABLE (operator_id text, reason text, inspectors text[])
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no SQL function's parameters
    RETURN QUERY
    WITH d AS (SELECT * FROM credit_sandbox.inspection_draws x WHERE x.draw_id = draw_tasks.draw_id),
    ranked AS (
        SELECT p.operator_id, p.class, p.triggered,
               row_number() OVER (PARTITION BY p.class
                                  ORDER BY sha256(convert_to(d.seed || ':' || p.operator_id, 'UTF8'))) AS rank,
               count(*) OVER (PARTITION BY p.class) AS n,
               (d.ratios ->> p.class)::numeric AS ratio
          FROM credit_sandbox.inspection_pool p, d
         WHERE p.draw_id = d.draw_id AND p.class IS NOT NULL),
    chosen AS (
        SELECT r.operator_id, 'random' AS reason FROM ranked r
         WHERE r.ratio IS NOT NULL AND r.rank <= ceil(r.ratio * r.n)
        UNION ALL
        SELECT p.operator_id, 'triggered' FROM credit_sandbox.inspection_pool p, d
         WHERE p.draw_id = d.draw_id AND p.triggered
           AND NOT EXISTS (SELECT FROM ranked r WHERE r.operator_id = p.operator_id
                              AND r.ratio IS NOT NULL AND r.rank <= ceil(r.ratio * r.n)))
    SELECT c.operator_id, c.reason,
           ARRAY(SELECT i FROM unnest(d.inspector_pool) AS i
                  WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(d.conflicts) AS x(pair)
                                     WHERE x.pair ->> 0 = i AND x.pair ->> 1 = c.operator_id)
                  ORDER BY sha256(convert_to(d.seed || ':' || c.operator_id || ':' || i, 'UTF8'))
                  LIMIT d.inspectors_per_task)
      FROM chosen c, d;
END $$;
COMMENT ON FUNCTION credit_sandbox.draw_tasks(bigint) IS
    'The tasks a recorded draw''s inputs give (the one definition draw_inspections and verify_draw share).';
REVOKE ALL ON FUNCTION credit_sandbox.draw_tasks(bigint) FROM PUBLIC;

CREATE FUNCTION credit_sandbox.draw_inspections(seed text,
        ratios jsonb DEFAULT '{"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}',
        inspectors_per_task int DEFAULT 2) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    k text;
    v jsonb;
    new_draw bigint;
BEGIN
    IF seed IS NULL OR seed = '' THEN
        RAISE EXCEPTION 'draw seed must not be empty' USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Publish the seed before the draw, for instance the closing figures of a public lottery.';
    END IF;
    IF ratios IS NULL OR jsonb_typeof(ratios) <> 'object' THEN
        RAISE EXCEPTION 'draw ratios must be a JSON object such as {"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.80}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(ratios) LOOP
        IF k NOT IN ('A', 'B', 'C', 'D') THEN
            RAISE EXCEPTION 'draw ratios: unknown class "%"', k USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Classes are A, B, C and D.';
        END IF;
        IF jsonb_typeof(v) <> 'number' OR v::text::numeric < 0 OR v::text::numeric > 1 THEN
            RAISE EXCEPTION 'draw ratios: the ratio of class % must be a number from 0 to 1, not %', k, v
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF inspectors_per_task IS NULL OR inspectors_per_task < 1 THEN
        RAISE EXCEPTION 'inspectors_per_task must be at least 1, not %', inspectors_per_task
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- on Citus the draw's tables refer to inspection_draws, a reference
    -- table: one connection per node throughout
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    -- ungraded operators are graded by the draw
    PERFORM credit_sandbox.grade_ungraded();

    INSERT INTO credit_sandbox.inspection_draws (seed, ratios, inspectors_per_task, inspector_pool, conflicts)
    SELECT draw_inspections.seed, draw_inspections.ratios, draw_inspections.inspectors_per_task,
           ARRAY(SELECT i.inspector_id FROM credit_sandbox.inspectors i WHERE i.active ORDER BY i.inspector_id),
           coalesce((SELECT jsonb_agg(jsonb_build_array(c.inspector_id, c.operator_id)
                                      ORDER BY c.inspector_id, c.operator_id)
                       FROM credit_sandbox.inspector_conflicts c), '[]')
    RETURNING draw_id INTO new_draw;

    -- the pool: graded operators off the no-disturbance list, and every
    -- operator with an open warning clue (registered or not)
    INSERT INTO credit_sandbox.inspection_pool (draw_id, operator_id, class, triggered)
    SELECT new_draw, x.operator_id, c.class,
           EXISTS (SELECT FROM credit_sandbox.warnings w
                    WHERE w.operator_id = x.operator_id AND w.list = 'risk_trigger'
                      AND w.status IN ('open', 'acknowledged'))
      FROM (SELECT o.operator_id FROM credit_sandbox.operators o
            UNION
            SELECT w.operator_id FROM credit_sandbox.warnings w
             WHERE w.list = 'risk_trigger' AND w.status IN ('open', 'acknowledged')) x
      LEFT JOIN credit_sandbox.operator_classes c ON c.operator_id = x.operator_id
     WHERE NOT EXISTS (SELECT FROM credit_sandbox.no_disturbance n WHERE n.operator_id = x.operator_id);

    INSERT INTO credit_sandbox.inspection_tasks (draw_id, operator_id, reason, inspectors)
    SELECT new_draw, t.operator_id, t.reason, t.inspectors FROM credit_sandbox.draw_tasks(new_draw) t;
    RETURN new_draw;
END $$;
COMMENT ON FUNCTION credit_sandbox.draw_inspections(text, jsonb, integer) IS
    'Draws inspection tasks from a published seed: per-class ratios of graded operators off the no-disturbance list, plus every open clue; returns the draw id.';
REVOKE ALL ON FUNCTION credit_sandbox.draw_inspections(text, jsonb, integer) FROM PUBLIC;

-- Recomputes a recorded draw from its recorded inputs: true when the
-- recorded tasks are exactly what they give.
CREATE FUNCTION credit_sandbox.verify_draw(draw_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT FROM credit_sandbox.inspection_draws d WHERE d.draw_id = verify_draw.draw_id) THEN
        RAISE EXCEPTION 'draw % does not exist', verify_draw.draw_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN NOT EXISTS (
        (SELECT t.operator_id, t.reason, t.inspectors FROM credit_sandbox.inspection_tasks t
          WHERE t.draw_id = verify_draw.draw_id
         EXCEPT ALL
         SELECT * FROM credit_sandbox.draw_tasks(verify_draw.draw_id))
        UNION ALL
        (SELECT * FROM credit_sandbox.draw_tasks(verify_draw.draw_id)
         EXCEPT ALL
         SELECT t.operator_id, t.reason, t.inspectors FROM credit_sandbox.inspection_tasks t
          WHERE t.draw_id = verify_draw.draw_id));
END $$;
COMMENT ON FUNCTION credit_sandbox.verify_draw(bigint) IS
    'Recomputes a recorded draw from its recorded inputs: true when its tasks are exactly what they give.';
REVOKE ALL ON FUNCTION credit_sandbox.verify_draw(bigint) FROM PUBLIC;

-- ===================================================================== analyst views
-- Every view is a security barrier: an analyst's function in a WHERE clause
-- sees only the rows the view returns, whatever cost it claims.

-- Sandbox members with no open warning or tip: left alone by random inspections.
CREATE VIEW credit_sandbox.no_disturbance WITH (security_barrier) AS
SELECT m.operator_id, o.name, o.region, m.admitted_at, c.class, c.score
  FROM credit_sandbox.sandbox_memberships m
  JOIN credit_sandbox.operators o ON o.operator_id = m.operator_id
  LEFT JOIN credit_sandbox.operator_classes c ON c.operator_id = m.operator_id
 WHERE m.exited_at IS NULL
   AND NOT EXISTS (SELECT FROM credit_sandbox.warnings w
                    WHERE w.operator_id = m.operator_id AND w.status IN ('open', 'acknowledged'));
COMMENT ON VIEW credit_sandbox.no_disturbance IS
    'The no-disturbance list: sandbox members with no open or acknowledged warning or tip, left out of random inspections.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.operator_id IS 'The member.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.admitted_at IS 'When its current stay began.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.class IS 'Its latest class.';
COMMENT ON COLUMN credit_sandbox.no_disturbance.score IS 'Its latest score (out of 100).';

CREATE VIEW credit_sandbox.open_warnings WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.list, w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.raised_at, w.due_at,
       w.rule_version, r.tolerable, w.evidence, w.source_table, w.source_id,
       (o.operator_id IS NOT NULL) AS registered,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.status IN ('open', 'acknowledged');
COMMENT ON VIEW credit_sandbox.open_warnings IS
    'Open and acknowledged warning clues and tips, with the operator and the rule.';
COMMENT ON COLUMN credit_sandbox.open_warnings.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.open_warnings.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.open_warnings.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.open_warnings.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.open_warnings.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.open_warnings.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.open_warnings.list IS 'risk_trigger (warning clue) or admin_tip (tip).';
COMMENT ON COLUMN credit_sandbox.open_warnings.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.open_warnings.status IS 'open or acknowledged.';
COMMENT ON COLUMN credit_sandbox.open_warnings.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.open_warnings.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.raised_at IS 'Wall-clock time it was written.';
COMMENT ON COLUMN credit_sandbox.open_warnings.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.open_warnings.rule_version IS 'Version of the rule that judged the first hit.';
COMMENT ON COLUMN credit_sandbox.open_warnings.tolerable IS 'Whether the rule is tolerable now.';
COMMENT ON COLUMN credit_sandbox.open_warnings.evidence IS 'Observed values and thresholds.';
COMMENT ON COLUMN credit_sandbox.open_warnings.source_table IS 'Table of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.source_id IS 'Key of that row.';
COMMENT ON COLUMN credit_sandbox.open_warnings.registered IS 'Whether the operator is in operators.';
COMMENT ON COLUMN credit_sandbox.open_warnings.in_sandbox IS 'Whether the operator is in the sandbox now.';

CREATE VIEW credit_sandbox.operator_risk WITH (security_barrier) AS
SELECT o.operator_id, o.name, o.region, c.class, c.score, c.graded_as_of,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = o.operator_id AND m.exited_at IS NULL) AS in_sandbox,
       (SELECT count(*) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id
           AND w.list = 'risk_trigger' AND w.status IN ('open', 'acknowledged')) AS open_warning_clues,
       (SELECT count(*) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id
           AND w.list = 'admin_tip' AND w.status IN ('open', 'acknowledged')) AS open_tips,
       (SELECT max(w.last_hit_at) FROM credit_sandbox.warnings w WHERE w.operator_id = o.operator_id) AS last_hit_at,
       g.indicators, g.hard_rules
  FROM credit_sandbox.operators o
  LEFT JOIN credit_sandbox.operator_classes c ON c.operator_id = o.operator_id
  LEFT JOIN credit_sandbox.operator_grades g ON g.operator_id = c.operator_id AND g.grade_id = c.grade_id;
COMMENT ON VIEW credit_sandbox.operator_risk IS
    'Each registered operator''s risk: latest class and why, sandbox membership, open clues and tips.';
COMMENT ON COLUMN credit_sandbox.operator_risk.operator_id IS 'The operator.';
COMMENT ON COLUMN credit_sandbox.operator_risk.name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.operator_risk.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.operator_risk.class IS 'Its latest class, A (low risk) to D; NULL = never graded.';
COMMENT ON COLUMN credit_sandbox.operator_risk.score IS 'Its latest score (out of 100).';
COMMENT ON COLUMN credit_sandbox.operator_risk.graded_as_of IS 'The moment its latest grading judged.';
COMMENT ON COLUMN credit_sandbox.operator_risk.in_sandbox IS 'Whether it is in the sandbox now.';
COMMENT ON COLUMN credit_sandbox.operator_risk.open_warning_clues IS 'Its open or acknowledged warning clues.';
COMMENT ON COLUMN credit_sandbox.operator_risk.open_tips IS 'Its open or acknowledged tips.';
COMMENT ON COLUMN credit_sandbox.operator_risk.last_hit_at IS 'Data time of its latest hit, any warning.';
COMMENT ON COLUMN credit_sandbox.operator_risk.indicators IS 'The indicators of its latest grading: {indicator: {value, weight, points}}.';
COMMENT ON COLUMN credit_sandbox.operator_risk.hard_rules IS 'The hard rules that capped its latest class.';

-- Hits per red line per legal day (in credit_sandbox.time_zone).
CREATE VIEW credit_sandbox.rule_hits_daily WITH (security_barrier) AS
SELECT credit_sandbox.legal_day(h.hit_at) AS day,
       w.code, w.list, count(*) AS hits, count(DISTINCT w.warning_id) AS warnings,
       count(DISTINCT w.operator_id) AS operators
  FROM credit_sandbox.warning_hits h
  JOIN credit_sandbox.warnings w ON w.operator_id = h.operator_id AND w.warning_id = h.warning_id
 GROUP BY 1, 2, 3;
COMMENT ON VIEW credit_sandbox.rule_hits_daily IS 'Hits per rule and list per legal day.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.day IS 'Legal day of the hits'' rows (credit_sandbox.time_zone).';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.code IS 'The rule.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.list IS 'risk_trigger or admin_tip.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.hits IS 'Hits that day.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.warnings IS 'Warnings they were counted on.';
COMMENT ON COLUMN credit_sandbox.rule_hits_daily.operators IS 'Operators they were about.';

-- The pilot's headline figures.
CREATE VIEW credit_sandbox.summary WITH (security_barrier) AS
SELECT (SELECT count(*) FROM credit_sandbox.sandbox_memberships WHERE exited_at IS NULL) AS sandbox_operators,
       (SELECT count(*) FROM credit_sandbox.no_disturbance) AS no_disturbance_operators,
       (SELECT count(*) FROM credit_sandbox.warnings WHERE list = 'risk_trigger') AS warning_clues,
       (SELECT count(*) FROM credit_sandbox.warnings WHERE list = 'admin_tip') AS admin_tips,
       (SELECT count(DISTINCT operator_id) FROM credit_sandbox.operator_grades) AS classified_operators,
       (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE reason = 'random') AS random_spot_checks,
       (SELECT count(*) FROM credit_sandbox.inspection_tasks WHERE reason = 'triggered') AS triggered_inspections;
COMMENT ON VIEW credit_sandbox.summary IS 'The pilot''s headline figures, one row.';
COMMENT ON COLUMN credit_sandbox.summary.sandbox_operators IS 'Operators in the sandbox now.';
COMMENT ON COLUMN credit_sandbox.summary.no_disturbance_operators IS 'Of them, those on the no-disturbance list.';
COMMENT ON COLUMN credit_sandbox.summary.warning_clues IS 'Warning clues ever written, any status.';
COMMENT ON COLUMN credit_sandbox.summary.admin_tips IS 'Administrative tips ever written, any status.';
COMMENT ON COLUMN credit_sandbox.summary.classified_operators IS 'Operators graded at least once.';
COMMENT ON COLUMN credit_sandbox.summary.random_spot_checks IS 'Random inspection tasks over all draws.';
COMMENT ON COLUMN credit_sandbox.summary.triggered_inspections IS 'Triggered inspection tasks over all draws.';

-- ===================================================================== analyst views: over time
-- Every warning whatever its status, draws and their tasks, stays and their
-- ends, tips past their deadline: what analysts follow without the admin
-- role.  Security barriers, like the views above; granted by create_roles().

-- Warnings by the legal day of their first hit, the operator's region and
-- the red line, every status.  Hits are those counted on these warnings,
-- whatever day they came (rule_hits_daily counts hits by their own day).
CREATE VIEW credit_sandbox.warnings_daily WITH (security_barrier) AS
SELECT credit_sandbox.legal_day(w.occurred_at) AS day, o.region, w.code, r.title AS rule_title,
       count(*) AS warnings,
       count(*) FILTER (WHERE w.list = 'risk_trigger') AS warning_clues,
       count(*) FILTER (WHERE w.list = 'admin_tip') AS admin_tips,
       sum(w.hits)::bigint AS hits,
       count(DISTINCT w.operator_id) AS operators,
       count(*) FILTER (WHERE w.status = 'open') AS open,
       count(*) FILTER (WHERE w.status = 'acknowledged') AS acknowledged,
       count(*) FILTER (WHERE w.status = 'corrected') AS corrected,
       count(*) FILTER (WHERE w.status = 'escalated') AS escalated,
       count(*) FILTER (WHERE w.status = 'closed') AS closed
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW credit_sandbox.warnings_daily IS
    'Every warning clue and tip, any status, counted per legal day of its first hit, region and rule.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.day IS
    'Legal day (credit_sandbox.time_zone) of the warnings'' first hit (warnings.occurred_at).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.region IS 'The operators'' region; NULL = unregistered or no region given.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.warnings IS 'Warning clues and tips first hit that day (warning_clues + admin_tips).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.warning_clues IS 'Of them, warning clues (risk_trigger).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.admin_tips IS 'Of them, administrative tips (admin_tip).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.hits IS 'Hits counted on them, the later days'' included.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.operators IS 'Operators they are about.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.open IS 'Of them, status open now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.acknowledged IS 'Of them, status acknowledged now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.corrected IS 'Of them, status corrected now.';
COMMENT ON COLUMN credit_sandbox.warnings_daily.escalated IS 'Of them, status escalated now (tips past due, turned into clues).';
COMMENT ON COLUMN credit_sandbox.warnings_daily.closed IS 'Of them, status closed now.';

-- One row per draw.  The seed is shown: it was published before the draw
-- and anyone checks the draw with it (verify_draw is the analysts' too).
-- Conflicts of interest are not shown: who is related to whom is personal,
-- and the tasks already show they were respected.
-- The pool and the tasks counted per draw before the join, not by subqueries
-- correlated on draw_id: on Citus they are distributed by operator_id.
CREATE VIEW credit_sandbox.inspection_draw_summary WITH (security_barrier) AS
SELECT d.draw_id, d.drawn_at, d.drawn_by, d.seed, d.ratios, d.inspectors_per_task,
       cardinality(d.inspector_pool) AS inspectors,
       coalesce(p.operators, 0) AS pool_operators, coalesce(p.by_class, '{}') AS pool_by_class,
       coalesce(t.random, 0) AS random_tasks, coalesce(t.triggered, 0) AS triggered_tasks
  FROM credit_sandbox.inspection_draws d
  -- counted per draw, then joined: Citus plans no subquery correlated on a draw
  LEFT JOIN (SELECT c.draw_id, sum(c.n)::bigint AS operators,
                    coalesce(jsonb_object_agg(c.class, c.n) FILTER (WHERE c.class IS NOT NULL), '{}') AS by_class
               FROM (SELECT p.draw_id, p.class, count(*) AS n FROM credit_sandbox.inspection_pool p
                      GROUP BY p.draw_id, p.class) c
              GROUP BY c.draw_id) p ON p.draw_id = d.draw_id
  LEFT JOIN (SELECT t.draw_id, count(*) FILTER (WHERE t.reason = 'random') AS random,
                    count(*) FILTER (WHERE t.reason = 'triggered') AS triggered
               FROM credit_sandbox.inspection_tasks t GROUP BY t.draw_id) t ON t.draw_id = d.draw_id;
COMMENT ON VIEW credit_sandbox.inspection_draw_summary IS
    'Each dual-random draw: its published inputs, the pool per class and the tasks it gave (conflicts of interest left out).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.draw_id IS 'The draw (inspection_draws.draw_id).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.drawn_at IS 'When it was made.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.drawn_by IS 'Login that made it.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.seed IS
    'The seed, published before the draw: verify_draw(draw_id) or any sha256 tool recomputes the draw from it.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.ratios IS 'Share of each class drawn; a class left out is not drawn.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.inspectors_per_task IS 'Inspectors assigned to each task.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.inspectors IS 'Active inspectors at the draw (its inspector pool).';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.pool_operators IS
    'Operators it chose from: off the no-disturbance list, or with an open warning clue.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.pool_by_class IS
    'Of them, how many in each class at the draw, e.g. {"A": 40, "B": 7}; unregistered ones are in no class.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.random_tasks IS 'Tasks drawn at random in their class.';
COMMENT ON COLUMN credit_sandbox.inspection_draw_summary.triggered_tasks IS 'Tasks for an open warning clue, not drawn at random.';

-- One row per task, with the operator, its class at the draw and the
-- inspectors by name.  0.7 records no visit or outcome: a task is what the
-- draw assigned.
CREATE VIEW credit_sandbox.inspection_task_details WITH (security_barrier) AS
SELECT t.draw_id, d.drawn_at, t.operator_id, o.name AS operator_name, o.region, p.class, t.reason,
       t.inspectors,
       ARRAY(SELECT i.name FROM unnest(t.inspectors) WITH ORDINALITY AS x(inspector_id, n)
               LEFT JOIN credit_sandbox.inspectors i ON i.inspector_id = x.inspector_id
              ORDER BY x.n) AS inspector_names
  FROM credit_sandbox.inspection_tasks t
  JOIN credit_sandbox.inspection_draws d ON d.draw_id = t.draw_id
  LEFT JOIN credit_sandbox.inspection_pool p ON p.draw_id = t.draw_id AND p.operator_id = t.operator_id
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = t.operator_id;
COMMENT ON VIEW credit_sandbox.inspection_task_details IS
    'Each inspection task of each draw: the operator, its class at the draw, random or triggered, and its inspectors.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.draw_id IS 'The draw.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.drawn_at IS 'When the draw was made.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.operator_id IS 'The operator to inspect.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.class IS 'Its class at the draw; NULL = unregistered.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.reason IS 'random (drawn in its class) or triggered (an open warning clue).';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.inspectors IS 'The inspectors assigned, in drawn order.';
COMMENT ON COLUMN credit_sandbox.inspection_task_details.inspector_names IS
    'Their names, in the same order (NULL for an inspector since deleted).';

-- One row per stay in the sandbox, current or ended, with why it began and
-- why it ended.  A stay begins at clock time under the operator's lock, after
-- now() of the transaction that admits it: its duration is not negative.
CREATE VIEW credit_sandbox.sandbox_stays WITH (security_barrier) AS
SELECT m.membership_id, m.operator_id, o.name AS operator_name, o.region,
       m.admitted_at, credit_sandbox.legal_day(m.admitted_at) AS admitted_on, m.admitted_by, m.admit_reason,
       m.exited_at, credit_sandbox.legal_day(m.exited_at) AS exited_on, m.exit_code, m.exit_reason,
       m.exit_warning_id, m.exit_hit_at, m.exited_at IS NULL AS ongoing,
       coalesce(m.exited_at, greatest(m.admitted_at, now())) - m.admitted_at AS duration
  FROM credit_sandbox.sandbox_memberships m
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = m.operator_id;
COMMENT ON VIEW credit_sandbox.sandbox_stays IS
    'Every stay in the credit sandbox, current or ended: when and why it began and ended.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.membership_id IS 'The stay (sandbox_memberships.membership_id).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.operator_id IS 'The member.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.operator_name IS 'Its trading name.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.region IS 'Its region.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_at IS 'When the stay began.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_on IS 'Its legal day (credit_sandbox.time_zone).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admitted_by IS 'Login that admitted it (admit or renew_sandbox).';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.admit_reason IS 'Why: class A and its score.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exited_at IS 'When the stay ended; NULL = ongoing.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exited_on IS 'Its legal day; NULL = ongoing.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_code IS 'CLASS (graded below A) or the code of the warning clue that ended it.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_reason IS 'Why it ended: the class, or the clue''s code and title.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_warning_id IS 'The warning clue that ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.exit_hit_at IS 'Data time of the row whose hit ended it, if one did.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.ongoing IS 'Whether the stay goes on now.';
COMMENT ON COLUMN credit_sandbox.sandbox_stays.duration IS
    'How long it lasted, or has lasted until now() (0 in the transaction that began it).';

-- Tips past due_at and neither corrected, closed nor escalated: what
-- escalate_overdue() escalates on its next run.
CREATE VIEW credit_sandbox.overdue_tips WITH (security_barrier) AS
SELECT w.warning_id, w.operator_id, o.name AS operator_name, o.region, w.code, r.title AS rule_title,
       w.subject_key, w.status, w.hits, w.occurred_at, w.last_hit_at, w.due_at,
       now() - w.due_at AS overdue_by,
       floor(date_part('epoch', now() - w.due_at) / 86400)::integer AS days_overdue,
       EXISTS (SELECT FROM credit_sandbox.sandbox_memberships m
                WHERE m.operator_id = w.operator_id AND m.exited_at IS NULL) AS in_sandbox
  FROM credit_sandbox.warnings w
  LEFT JOIN credit_sandbox.operators o ON o.operator_id = w.operator_id
  LEFT JOIN credit_sandbox.rules r ON r.code = w.code
 WHERE w.list = 'admin_tip' AND w.status IN ('open', 'acknowledged') AND w.due_at < now();
COMMENT ON VIEW credit_sandbox.overdue_tips IS
    'Tips past their correction deadline and not corrected, closed or escalated: what escalate_overdue() escalates next.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.warning_id IS 'The tip (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.operator_name IS 'Its trading name; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.region IS 'Its region; NULL if unregistered.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.code IS 'The rule hit.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.rule_title IS 'The rule''s title.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.status IS 'open or acknowledged.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.hits IS 'Hits counted on it.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.last_hit_at IS 'Data time of the latest hit''s row.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.due_at IS 'End of its correction period (occurred_at + correction period).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.overdue_by IS 'How long past due_at it is now.';
COMMENT ON COLUMN credit_sandbox.overdue_tips.days_overdue IS 'Whole days past due_at (24-hour periods, 0 in the first).';
COMMENT ON COLUMN credit_sandbox.overdue_tips.in_sandbox IS 'Whether the operator is in the sandbox now.';

-- ===================================================================== views on Citus
-- Citus checks the privileges of the user who runs a query on the shards it
-- reads, not those of the owner of a view the query names (Citus issues 1683
-- and 6161): through the coordinator, an analyst's view would need the
-- analyst to be granted the tables.  So on a Citus node distribute() moves
-- each view of the extension to schema credit_sandbox_queries, which no role
-- may use, and puts in its place a view of the same name, columns, comments
-- and grants that reads it through this function, as the extension's owner.
-- On one node it is not used: the views read their tables with their owner's
-- rights, and a filter on a view is pushed into its query.  It returns the
-- rows of a view of credit_sandbox_queries to a login that may read the view
-- of the same name in credit_sandbox, and nothing else.
CREATE FUNCTION credit_sandbox.owner_rows(query anyelement) RETURNS SETOF anyelement
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source regclass;
    facing regclass;
BEGIN
    SELECT q.oid, f.oid INTO source, facing
      FROM pg_type t
      JOIN pg_class q ON q.oid = t.typrelid AND q.relkind = 'v'
      JOIN pg_namespace n ON n.oid = q.relnamespace AND n.nspname = 'credit_sandbox_queries'
      JOIN pg_class f ON f.relname = q.relname AND f.relnamespace = 'credit_sandbox'::regnamespace
     WHERE t.oid = pg_typeof(query);
    IF facing IS NULL OR NOT has_table_privilege(SESSION_USER, facing, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for the rows of %', pg_typeof(query)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'owner_rows gives the rows of a view of credit_sandbox_queries to a login that may read the view of the same name in credit_sandbox.';
    END IF;
    RETURN QUERY EXECUTE format('SELECT * FROM %s', source);
END $$;
COMMENT ON FUNCTION credit_sandbox.owner_rows(anyelement) IS
    'Citus: the rows of the view credit_sandbox_queries.X whose row type query has, read as the extension''s owner, for a login that may read credit_sandbox.X (the views distribute() puts in place); 42501 otherwise.';
REVOKE ALL ON FUNCTION credit_sandbox.owner_rows(anyelement) FROM PUBLIC;

-- ===================================================================== checks

-- As the extension's owner, so that an application that may only insert rows
-- still gets its warnings written.  The function switches to its owner and to
-- search_path pg_catalog, pg_temp in C (src/trigger.c): SECURITY DEFINER's
-- effect, without setting search_path on every call.
CREATE FUNCTION credit_sandbox.check_rows() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_check_rows';
COMMENT ON FUNCTION credit_sandbox.check_rows() IS
    'Red-line driver: FOR EACH ROW, or FOR EACH STATEMENT with REFERENCING NEW TABLE; argument: the event kind.';
REVOKE ALL ON FUNCTION credit_sandbox.check_rows() FROM PUBLIC;

-- The tables behind the per-backend caches: the rule catalogue, operators'
-- facts, membership and reference prices.  After the statement, and before it
-- too: a statement that changes them and inserts rows (WITH o AS (INSERT INTO
-- operators ...) INSERT INTO transactions ...) runs its AFTER triggers in an
-- order of its own, and the checks must not judge its rows on stale caches.
CREATE FUNCTION credit_sandbox.invalidate_cache() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_invalidate_cache';
COMMENT ON FUNCTION credit_sandbox.invalidate_cache() IS
    'Trigger on the tables behind the per-backend caches: every backend rebuilds them after a change.';
REVOKE ALL ON FUNCTION credit_sandbox.invalidate_cache() FROM PUBLIC;
DO $$
DECLARE
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['rules', 'regulated_categories', 'prohibited_categories', 'prohibited_terms',
                               'absolute_terms', 'return_exempt_categories', 'operators', 'operator_lists',
                               'sandbox_memberships', 'reference_prices'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
                                  ' ON credit_sandbox.%I FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.invalidate_cache()', tab);
        EXECUTE pg_catalog.format('ALTER TABLE credit_sandbox.%I ENABLE ALWAYS TRIGGER invalidate_cache', tab);
        EXECUTE pg_catalog.format('CREATE TRIGGER invalidate_cache_before BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE'
                                  ' ON credit_sandbox.%I FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.invalidate_cache()', tab);
        EXECUTE pg_catalog.format('ALTER TABLE credit_sandbox.%I ENABLE ALWAYS TRIGGER invalidate_cache_before', tab);
    END LOOP;
END $$;

-- Which driver checks the event tables: 'statement' (default: one call per
-- statement over its transition table) or 'row' (one call per row; the one
-- that runs on Citus shards).  Both give the same warnings.
CREATE FUNCTION credit_sandbox.set_driver(driver text) RETURNS text
    LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab text;
BEGIN
    IF driver NOT IN ('row', 'statement') THEN
        RAISE EXCEPTION 'unknown driver "%"', driver
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''row'' or ''statement''.';
    END IF;
    FOREACH tab IN ARRAY ARRAY['transactions', 'returns', 'complaints'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS check_rows ON credit_sandbox.%I', tab);
        IF driver = 'row' THEN
            EXECUTE format('CREATE TRIGGER check_rows AFTER INSERT ON credit_sandbox.%I
                            FOR EACH ROW EXECUTE FUNCTION credit_sandbox.check_rows(%L)', tab, tab);
        ELSE
            EXECUTE format('CREATE TRIGGER check_rows AFTER INSERT ON credit_sandbox.%I
                            REFERENCING NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.check_rows(%L)', tab, tab);
        END IF;
    END LOOP;
    RETURN driver;
END $$;
COMMENT ON FUNCTION credit_sandbox.set_driver(text) IS
    'Makes the check_rows triggers of the event tables statement-level (default) or row-level; returns the driver.';
REVOKE ALL ON FUNCTION credit_sandbox.set_driver(text) FROM PUBLIC;

CREATE FUNCTION credit_sandbox.driver() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN t.tgtype & 1 = 1 THEN 'row' ELSE 'statement' END
      FROM pg_trigger t
     WHERE t.tgrelid = 'credit_sandbox.transactions'::regclass AND t.tgname = 'check_rows'
$$;
COMMENT ON FUNCTION credit_sandbox.driver() IS 'The driver in use: row or statement. Anyone may ask.';
REVOKE ALL ON FUNCTION credit_sandbox.driver() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_sandbox.driver() TO PUBLIC;

SELECT credit_sandbox.set_driver('statement');

-- ===================================================================== replay

-- Stored rows of [since, until) judged again, table by table in id order,
-- against the current rules or a proposed change of them; writes nothing.
CREATE FUNCTION credit_sandbox.replay(since timestamptz DEFAULT '-infinity',
                                      until timestamptz DEFAULT 'infinity',
                                      rules jsonb DEFAULT NULL)
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, list text,
                   subject_key text, occurred_at timestamptz, rule_version integer,
                   first_hit boolean, evidence jsonb)
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_replay';
COMMENT ON FUNCTION credit_sandbox.replay(timestamptz, timestamptz, jsonb) IS
    'The hits the stored rows of [since, until) give, replayed in id order; rules: a proposed change, e.g. {"RL04": {"threshold": 5}, "RL06": {"enabled": false}} (rule_version NULL for changed rules). Writes nothing.';
REVOKE ALL ON FUNCTION credit_sandbox.replay(timestamptz, timestamptz, jsonb) FROM PUBLIC;

-- Internal: on Citus, replay() runs this on the node of every shard of
-- transactions, for the shard group of that shard.
CREATE FUNCTION credit_sandbox.replay_placed(shard regclass, since timestamptz, until timestamptz, rules jsonb)
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, list text,
                   subject_key text, occurred_at timestamptz, rule_version integer,
                   first_hit boolean, evidence jsonb)
    LANGUAGE c AS 'MODULE_PATHNAME', 'credit_sandbox_replay_placed';
COMMENT ON FUNCTION credit_sandbox.replay_placed(regclass, timestamptz, timestamptz, jsonb) IS
    'Internal: replay() of the shard group of shard, a Citus shard on this node (replay() calls it on Citus).';
REVOKE ALL ON FUNCTION credit_sandbox.replay_placed(regclass, timestamptz, timestamptz, jsonb) FROM PUBLIC;

-- Every stored row of the range whose logged hits differ from a replay under
-- the current rules: 'missing' (a hit the replay gives and the log lacks) or
-- 'extra' (a logged hit the replay does not give).  None on a healthy
-- database whose rules did not change over the range.
CREATE FUNCTION credit_sandbox.check_consistency(since timestamptz DEFAULT '-infinity',
                                                 until timestamptz DEFAULT 'infinity')
    RETURNS TABLE (source_table text, source_id bigint, operator_id text, code text, problem text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no SQL function's parameters; a hit is
    -- joined to its warning on the operator too, Citus's distribution column
    RETURN QUERY
    WITH replayed AS (
        SELECT r.source_table, r.source_id, r.operator_id, r.code
          FROM credit_sandbox.replay(since, until) r
    ), logged AS (
        SELECT h.source_table, h.source_id, w.operator_id, w.code
          FROM credit_sandbox.warning_hits h
          JOIN credit_sandbox.warnings w ON w.operator_id = h.operator_id AND w.warning_id = h.warning_id
         WHERE h.source_table IN ('transactions', 'returns', 'complaints')
           AND h.hit_at >= since AND h.hit_at < until
    ), missing AS (
        SELECT * FROM replayed EXCEPT SELECT * FROM logged
    ), extra AS (
        SELECT * FROM logged EXCEPT SELECT * FROM replayed
    )
    SELECT m.*, 'missing' FROM missing m
    UNION ALL
    SELECT e.*, 'extra' FROM extra e
    ORDER BY 1, 2, 4;
END $$;
COMMENT ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) IS
    'Stored rows of [since, until) whose logged hits differ from a replay under the current rules: problem ''missing'' or ''extra''.';
REVOKE ALL ON FUNCTION credit_sandbox.check_consistency(timestamptz, timestamptz) FROM PUBLIC;

-- ===================================================================== restores

-- pg_dump keeps every row of the tables filled with defaults.  On restore,
-- CREATE EXTENSION installs the default rows first and the dump's rows arrive
-- next: a row replaces the one with the same key instead of failing the whole
-- COPY.  (A dumped rule replaces its untouched default: see rules_validate.)
CREATE FUNCTION credit_sandbox.replace_same_key() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    condition text := 'true';
BEGIN
    FOR i IN 0 .. TG_NARGS - 1 LOOP
        condition := condition || format(' AND t.%1$I = ($1).%1$I', TG_ARGV[i]);
    END LOOP;
    EXECUTE format('DELETE FROM %s t WHERE %s', TG_RELID::regclass, condition) USING NEW;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION credit_sandbox.replace_same_key() IS
    'Trigger: an inserted row replaces the row with the same key (arguments: the key columns), so a restore''s rows replace the defaults.';
REVOKE ALL ON FUNCTION credit_sandbox.replace_same_key() FROM PUBLIC;
-- (table, its key); the dump's history of a rule version is the true one
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('regulated_categories', '''category'''), ('prohibited_categories', '''category'''),
                                   ('prohibited_terms', '''term'''), ('absolute_terms', '''term'''),
                                   ('return_exempt_categories', '''category'''), ('grading_weights', '''indicator'''),
                                   ('grade_boundaries', '''class'''), ('rule_history', '''code'', ''version''')
                           ) AS k(tab, key_columns) LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER replace_same_key BEFORE INSERT ON credit_sandbox.%I FOR EACH ROW'
                                  ' EXECUTE FUNCTION credit_sandbox.replace_same_key(%s)', t.tab, t.key_columns);
        EXECUTE pg_catalog.format('ALTER TABLE credit_sandbox.%I ENABLE ALWAYS TRIGGER replace_same_key', t.tab);
    END LOOP;
END $$;

-- Rows removed from the tables CREATE EXTENSION fills with defaults.  A
-- restore runs CREATE EXTENSION, which installs every default again, before
-- the dump's rows arrive: without this record a default the DBA had removed
-- would come back (a term no longer prohibited would warn again).  A
-- restored record removes its row again; a row inserted again drops its
-- record.  removed_at and removed_by are NULL for a removal made before 0.4.
CREATE TABLE credit_sandbox.removed_rows (
    table_name  name NOT NULL,
    key         jsonb NOT NULL,
    removed_at  timestamptz DEFAULT pg_catalog.now(),
    -- the login, as in rules.changed_by: the trigger that writes the record
    -- runs as the extension's owner
    removed_by  name DEFAULT SESSION_USER,
    PRIMARY KEY (table_name, key)
);
COMMENT ON TABLE credit_sandbox.removed_rows IS
    'Default rows the DBA removed (key = the row''s primary key as JSON); a restore removes them again.';
COMMENT ON COLUMN credit_sandbox.removed_rows.table_name IS
    'Table of the removed row: rules, a reference list, grading_weights or grade_boundaries.';
COMMENT ON COLUMN credit_sandbox.removed_rows.key IS 'Its whole primary key as a JSON object, e.g. {"term": "ivory"}.';
COMMENT ON COLUMN credit_sandbox.removed_rows.removed_at IS 'When it was removed; NULL = before 0.4 (found missing by the update).';
COMMENT ON COLUMN credit_sandbox.removed_rows.removed_by IS 'Login (session user) that removed it; NULL = before 0.4.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.removed_rows', '');

-- The primary key of a row of table tab, as a JSON object: {"term": "ivory"}.
CREATE FUNCTION credit_sandbox.primary_key_of(tab regclass, row_data jsonb) RETURNS jsonb
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_object_agg(a.attname, row_data -> a.attname::text)
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = tab AND i.indisprimary
$$;
COMMENT ON FUNCTION credit_sandbox.primary_key_of(regclass, jsonb) IS
    'The primary key of a row (given as JSON) of table tab, as a JSON object.';
REVOKE ALL ON FUNCTION credit_sandbox.primary_key_of(regclass, jsonb) FROM PUBLIC;

-- AFTER INSERT, UPDATE or DELETE (with transition tables) and BEFORE
-- TRUNCATE, per statement: the keys that left the table are recorded, the
-- keys that entered it forgotten.  SECURITY DEFINER: a DBA allowed to edit a
-- list need not be allowed to write the record.
CREATE FUNCTION credit_sandbox.record_removed_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key_of text := format('credit_sandbox.primary_key_of(%s, to_jsonb(x))', TG_RELID);
    -- on a Citus node TG_RELID is a shard: the record names its table, and
    -- goes to this node's shard of removed_rows (every node's shard of the
    -- table fires this trigger alike)
    tab name := (SELECT c.relname FROM pg_class c WHERE c.oid = credit_sandbox.logical_table(TG_RELID));
    records regclass := credit_sandbox.placed_table(TG_RELID, 'removed_rows');
    gone text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        gone := format('SELECT %s FROM %s x', key_of,
                       CASE WHEN TG_OP = 'TRUNCATE' THEN TG_RELID::regclass::text ELSE 'old_rows' END);
        -- an UPDATE that keeps a key removes nothing
        IF TG_OP = 'UPDATE' THEN
            gone := gone || format(' EXCEPT SELECT %s FROM new_rows x', key_of);
        END IF;
        -- (a record written by hand removed the row, and is there already)
        EXECUTE format('INSERT INTO %s (table_name, key) SELECT %L, k FROM (%s) AS g(k)'
                       ' ON CONFLICT DO NOTHING', records, tab, gone);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('DELETE FROM %s r WHERE r.table_name = %L'
                       ' AND r.key IN (SELECT %s FROM new_rows x)', records, tab, key_of);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION credit_sandbox.record_removed_rows() IS
    'Trigger on the tables filled with defaults: records the keys that left the table in removed_rows, forgets those that came back.';
REVOKE ALL ON FUNCTION credit_sandbox.record_removed_rows() FROM PUBLIC;

-- AFTER INSERT on removed_rows: the recorded row goes (again).  Only one row
-- of a table whose removals are recorded, named by its whole primary key: a
-- record cannot empty a table or reach the warnings.
CREATE FUNCTION credit_sandbox.remove_recorded_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab regclass := to_regclass(format('credit_sandbox.%I', NEW.table_name));
BEGIN
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = tab AND t.tgname = 'record_removed_rows')
       OR NEW.key IS DISTINCT FROM credit_sandbox.primary_key_of(tab, NEW.key) THEN
        RAISE EXCEPTION 'removed_rows: % % is not the primary key of a table filled with defaults',
                        NEW.table_name, NEW.key
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Record rows of rules, the reference lists, grading_weights or grade_boundaries.';
    END IF;
    -- a record on a Citus node's shard of removed_rows removes the row from this node's shard
    IF TG_RELID <> 'credit_sandbox.removed_rows'::regclass THEN
        tab := credit_sandbox.placed_table(TG_RELID, NEW.table_name);
    END IF;
    EXECUTE format('DELETE FROM %s t WHERE to_jsonb(t) @> $1', tab) USING NEW.key;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION credit_sandbox.remove_recorded_row() IS
    'Trigger on removed_rows: a recorded (or restored) record removes its row again.';
REVOKE ALL ON FUNCTION credit_sandbox.remove_recorded_row() FROM PUBLIC;
CREATE TRIGGER remove_recorded_row AFTER INSERT ON credit_sandbox.removed_rows
    FOR EACH ROW EXECUTE FUNCTION credit_sandbox.remove_recorded_row();
-- a restore runs as replica: the record must still take effect
ALTER TABLE credit_sandbox.removed_rows ENABLE ALWAYS TRIGGER remove_recorded_row;

-- Ordinary (ORIGIN) triggers: under replica a restore or a subscriber
-- brings the records themselves.
DO $$
DECLARE
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['rules', 'regulated_categories', 'prohibited_categories', 'prohibited_terms',
                               'absolute_terms', 'return_exempt_categories', 'grading_weights',
                               'grade_boundaries'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER record_removed_rows AFTER DELETE ON credit_sandbox.%I'
                                  ' REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE pg_catalog.format('CREATE TRIGGER record_inserted_rows AFTER INSERT ON credit_sandbox.%I'
                                  ' REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE pg_catalog.format('CREATE TRIGGER record_updated_rows AFTER UPDATE ON credit_sandbox.%I'
                                  ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT'
                                  ' EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
        EXECUTE pg_catalog.format('CREATE TRIGGER record_truncated_rows BEFORE TRUNCATE ON credit_sandbox.%I'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.record_removed_rows()', tab);
    END LOOP;
END $$;

-- ===================================================================== delivery: the feed (contract)

-- Every new warning or tip is an entry, written by the trigger below in the
-- transaction that writes the warning (a prepared one included).  An entry is
-- written without a position: ids are handed out at insert, but transactions
-- commit in any order, so an id order read by a consumer would skip a
-- transaction that commits late.  A reader gives positions ("seals") to the
-- entries that have committed, in entry order, under the row lock of
-- feed_seal, which only the feed's functions take; the next sealer starts
-- after that seal has committed, so every later position is higher than every
-- position any reader can have seen, and an entry that commits late is sealed
-- by the next read, above them.  Writers take no lock a reader waits for, and
-- a reader never waits for a writer: an open or prepared transaction's
-- entries stay unsealed, the others go on.
CREATE TABLE credit_sandbox.feed_entries (
    entry_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position      bigint,
    warning_id    bigint NOT NULL,
    operator_id   text NOT NULL,
    code          text NOT NULL,
    list          text NOT NULL,
    subject_key   text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    due_at        timestamptz,
    raised_at     timestamptz NOT NULL
);
COMMENT ON TABLE credit_sandbox.feed_entries IS
    'The feed: one entry per new warning clue or tip, written in its transaction; read with read_feed.';
COMMENT ON COLUMN credit_sandbox.feed_entries.entry_id IS 'Generated key, in insert (not commit) order.';
COMMENT ON COLUMN credit_sandbox.feed_entries.position IS
    'Order of delivery, given once the entry has committed (by read_feed); NULL until then.';
COMMENT ON COLUMN credit_sandbox.feed_entries.warning_id IS 'The warning (warnings.warning_id).';
COMMENT ON COLUMN credit_sandbox.feed_entries.operator_id IS 'The operator it is about.';
COMMENT ON COLUMN credit_sandbox.feed_entries.code IS 'The rule hit (RL01-RL09, TP01).';
COMMENT ON COLUMN credit_sandbox.feed_entries.list IS 'risk_trigger (warning clue) or admin_tip (tip).';
COMMENT ON COLUMN credit_sandbox.feed_entries.subject_key IS 'What it is about: item, address or operator.';
COMMENT ON COLUMN credit_sandbox.feed_entries.occurred_at IS 'Data time of the first hit''s row.';
COMMENT ON COLUMN credit_sandbox.feed_entries.due_at IS 'End of a tip''s correction period; NULL for clues and TP01.';
COMMENT ON COLUMN credit_sandbox.feed_entries.raised_at IS 'Wall-clock time the warning was written.';
COMMENT ON SEQUENCE credit_sandbox.feed_entries_entry_id_seq IS 'Generates feed_entries.entry_id.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_entries', '');
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_entries_entry_id_seq', '');
CREATE UNIQUE INDEX feed_entries_position ON credit_sandbox.feed_entries (position);
-- the entries still to seal: few, whatever the feed's length
CREATE INDEX feed_entries_unsealed ON credit_sandbox.feed_entries (entry_id) WHERE position IS NULL;

-- Positions are never handed out twice, not even by a seal that rolled back
-- (whose reader may have shown them to a consumer): a sequence, not a count.
CREATE SEQUENCE credit_sandbox.feed_position_seq AS bigint;
COMMENT ON SEQUENCE credit_sandbox.feed_position_seq IS 'Generates feed_entries.position.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_position_seq', '');

-- The sealers' lock: one row, locked FOR UPDATE by a seal and updated when it
-- sealed something.  Locking a row takes UPDATE privilege, which no role has
-- (an advisory lock any login could take and hold), and no autovacuum or
-- pg_dump lock conflicts with it.  A REPEATABLE READ reader whose snapshot
-- misses a later seal gets 40001 from the update, instead of sealing above
-- positions it cannot see.  Registered, but none of it is dumped: CREATE
-- EXTENSION makes the row a restore finds.
CREATE TABLE credit_sandbox.feed_seal (
    one_row       boolean PRIMARY KEY DEFAULT true CONSTRAINT feed_seal_one_row CHECK (one_row),
    seals         bigint NOT NULL DEFAULT 0,
    sealed_at     timestamptz
);
COMMENT ON TABLE credit_sandbox.feed_seal IS
    'One row, the lock under which read_feed gives the feed''s committed entries their positions.';
COMMENT ON COLUMN credit_sandbox.feed_seal.one_row IS 'Always true: the table has one row.';
COMMENT ON COLUMN credit_sandbox.feed_seal.seals IS 'Seals that gave positions (since the extension was created).';
COMMENT ON COLUMN credit_sandbox.feed_seal.sealed_at IS 'Start (now()) of the transaction of the latest of them; NULL = none yet.';
INSERT INTO credit_sandbox.feed_seal DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_seal', 'WHERE false');

CREATE TABLE credit_sandbox.feed_subscriptions (
    name          text PRIMARY KEY,
    acked_to      bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name NOT NULL DEFAULT SESSION_USER,
    acked_at      timestamptz
);
COMMENT ON TABLE credit_sandbox.feed_subscriptions IS
    'Named readers of the feed (create_subscription) and how far each has acknowledged (ack_feed).';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.name IS 'Its name, as given to read_feed and ack_feed.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.acked_to IS
    'Position up to which its entries are acknowledged; read_feed returns those above.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.created_at IS 'When it was created.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.created_by IS 'Login that created it.';
COMMENT ON COLUMN credit_sandbox.feed_subscriptions.acked_at IS 'When it last acknowledged entries; NULL = never.';
SELECT pg_catalog.pg_extension_config_dump('credit_sandbox.feed_subscriptions', '');

-- A statement trigger with its transition table: one INSERT per statement,
-- whatever the number of warnings (today the checks write one at a time).
-- ORIGIN, like the checks: a restore (replica mode) brings the entries back
-- from the dump instead of writing them again.
CREATE FUNCTION credit_sandbox.feed_record() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_sandbox_feed_record';
COMMENT ON FUNCTION credit_sandbox.feed_record() IS
    'Trigger on warnings: writes an entry of the feed for each new warning clue or tip, in the same transaction.';
REVOKE ALL ON FUNCTION credit_sandbox.feed_record() FROM PUBLIC;
CREATE TRIGGER warnings_feed AFTER INSERT ON credit_sandbox.warnings
    REFERENCING NEW TABLE AS new_warnings
    FOR EACH STATEMENT EXECUTE FUNCTION credit_sandbox.feed_record();

CREATE FUNCTION credit_sandbox.create_subscription(name text, from_start boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    start bigint := 0;
    created text;
BEGIN
    IF create_subscription.name IS NULL OR from_start IS NULL THEN
        RAISE EXCEPTION 'a feed subscription needs a name and from_start' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- from now on: above the highest position given so far (entries that have
    -- committed but have no position yet come too).  Read first, then
    -- inserted: on Citus the entries are distributed and the subscriptions a
    -- reference table, whose inserts set no FOUND (RETURNING tells).
    IF NOT from_start THEN
        start := coalesce((SELECT pg_catalog.max(e.position) FROM credit_sandbox.feed_entries e), 0);
    END IF;
    INSERT INTO credit_sandbox.feed_subscriptions AS s (name, acked_to) VALUES (create_subscription.name, start)
        ON CONFLICT ON CONSTRAINT feed_subscriptions_pkey DO NOTHING
        RETURNING s.name INTO created;
    IF created IS NULL THEN
        RAISE EXCEPTION 'feed subscription "%" already exists', create_subscription.name
            USING ERRCODE = 'duplicate_object';
    END IF;
END $$;
COMMENT ON FUNCTION credit_sandbox.create_subscription(text, boolean) IS
    'Creates a named subscription to the feed, reading from its first entry (from_start) or from the entries that come next.';
REVOKE ALL ON FUNCTION credit_sandbox.create_subscription(text, boolean) FROM PUBLIC;

-- Returns the subscription's entries above its acknowledged position, in
-- position order, the same ones until ack_feed moves it.  First seals the
-- committed entries that have no position (up to max_entries, oldest first),
-- unless the transaction is read-only (a standby's, say: it returns what has
-- positions) or another reader is sealing now (it does not wait: the entries
-- that reader seals are above all those it can read).  On Citus it waits
-- for that reader, and refuses a read-only transaction.
CREATE FUNCTION credit_sandbox.read_feed(name text, max_entries int DEFAULT 100)
    RETURNS TABLE ("position" bigint, warning_id bigint, operator_id text, code text, list text, subject_key text,
                   occurred_at timestamptz, due_at timestamptz, raised_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked bigint;
    sealed bigint;
    operators text[];
    entries bigint[];
    positions bigint[];
    read_only boolean := pg_catalog.current_setting('transaction_read_only')::boolean;
    distributed boolean := false;
    seal boolean := false;
BEGIN
    IF max_entries IS NULL OR max_entries < 1 THEN
        RAISE EXCEPTION 'max_entries must be at least 1, not %', coalesce(max_entries::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.acked_to INTO acked FROM credit_sandbox.feed_subscriptions s WHERE s.name = read_feed.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', read_feed.name
            USING ERRCODE = 'undefined_object', HINT = 'Create it with create_subscription(name).';
    END IF;
    -- On Citus (the entries distributed) a seal commits on the coordinator,
    -- where the lock is, before on the workers (two-phase): a reader that
    -- skipped the lock, or a read-only one, could see part of a seal and be
    -- acknowledged past a position that commits a moment later.  So there a
    -- reader waits for the lock, then updates the row, on every node, which
    -- waits for the seal before it to have committed there too.
    IF EXISTS (SELECT FROM pg_catalog.pg_extension x WHERE x.extname = 'citus') THEN
        distributed := EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                                WHERE p.logicalrelid = 'credit_sandbox.feed_entries'::pg_catalog.regclass);
    END IF;
    IF distributed AND read_only THEN
        RAISE EXCEPTION 'read_feed cannot run in a read-only transaction on Citus'
            USING ERRCODE = 'read_only_sql_transaction',
                  DETAIL = 'A seal commits on each node in turn: only a reader that waits for it, by updating feed_seal, sees all of its positions or none.',
                  HINT = 'Read the feed in a read-write transaction.';
    ELSIF distributed THEN
        -- one connection per node: a seal's positions and its update of the
        -- row commit together on each worker
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
        PERFORM FROM credit_sandbox.feed_seal l FOR UPDATE;
        UPDATE credit_sandbox.feed_seal l SET seals = l.seals;
        seal := EXISTS (SELECT e.entry_id FROM credit_sandbox.feed_entries e WHERE e.position IS NULL);
    ELSIF NOT read_only THEN
        PERFORM FROM credit_sandbox.feed_seal l FOR UPDATE SKIP LOCKED;
        seal := FOUND AND EXISTS (SELECT e.entry_id FROM credit_sandbox.feed_entries e WHERE e.position IS NULL);
        IF seal THEN
            UPDATE credit_sandbox.feed_seal l SET seals = l.seals;
        END IF;
    END IF;
    IF seal THEN
        -- a new statement, so (READ COMMITTED) a new snapshot: every seal
        -- before this one has committed and is seen.  The positions are
        -- drawn here, in entry order, then written: Citus sends no nextval
        -- to the workers.  (Entry order on Citus: by worker, then as inserted.)
        SELECT pg_catalog.array_agg(b.operator_id ORDER BY b.entry_id), pg_catalog.array_agg(b.entry_id ORDER BY b.entry_id)
          INTO operators, entries
          FROM (SELECT e.operator_id, e.entry_id FROM credit_sandbox.feed_entries e
                 WHERE e.position IS NULL ORDER BY e.entry_id LIMIT max_entries) b;
        positions := ARRAY(SELECT pg_catalog.nextval('credit_sandbox.feed_position_seq')
                             FROM pg_catalog.generate_series(1, pg_catalog.cardinality(entries)));
        UPDATE credit_sandbox.feed_entries e SET position = n.pos
          FROM unnest(operators, entries, positions) AS n(operator_id, entry_id, pos)
         WHERE e.operator_id = n.operator_id AND e.entry_id = n.entry_id AND e.position IS NULL;
        GET DIAGNOSTICS sealed = ROW_COUNT;
        IF sealed > 0 THEN
            UPDATE credit_sandbox.feed_seal l SET seals = l.seals + 1, sealed_at = pg_catalog.now();
        END IF;
    END IF;
    RETURN QUERY
        SELECT e.position, e.warning_id, e.operator_id, e.code, e.list, e.subject_key, e.occurred_at, e.due_at,
               e.raised_at
          FROM credit_sandbox.feed_entries e
         WHERE e.position > acked
         ORDER BY e.position
         LIMIT max_entries;
END $$;
COMMENT ON FUNCTION credit_sandbox.read_feed(text, int) IS
    'Up to max_entries entries of the feed the subscription has not acknowledged, ascending by position; the same again until ack_feed.';
REVOKE ALL ON FUNCTION credit_sandbox.read_feed(text, int) FROM PUBLIC;

-- Moves the subscription past its entries up to up_to, never back, and never
-- past the highest position given so far (which would skip entries sealed
-- later).  Returns how many entries that acknowledged.
CREATE FUNCTION credit_sandbox.ack_feed(name text, up_to bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked bigint;
    new_acked bigint;
    n bigint;
BEGIN
    SELECT s.acked_to INTO acked FROM credit_sandbox.feed_subscriptions s WHERE s.name = ack_feed.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed subscription "%" does not exist', ack_feed.name
            USING ERRCODE = 'undefined_object', HINT = 'Create it with create_subscription(name).';
    END IF;
    SELECT pg_catalog.max(e.position), pg_catalog.count(*) INTO new_acked, n
      FROM credit_sandbox.feed_entries e WHERE e.position > acked AND e.position <= up_to;
    IF n > 0 THEN
        UPDATE credit_sandbox.feed_subscriptions s SET acked_to = new_acked, acked_at = pg_catalog.now()
         WHERE s.name = ack_feed.name;
    END IF;
    RETURN n;
END $$;
COMMENT ON FUNCTION credit_sandbox.ack_feed(text, bigint) IS
    'Acknowledges the subscription''s entries up to position up_to (read_feed returns them no more); returns how many.';
REVOKE ALL ON FUNCTION credit_sandbox.ack_feed(text, bigint) FROM PUBLIC;

-- ===================================================================== privileges
-- Four kinds of user (README, "Privileges"): the platforms' applications
-- insert rows, analysts read the views, administrators edit the rules and
-- lists and run grading, renewal, escalation and draws, and operators read
-- and answer their own warnings and tips (my_warnings).  No role may write
-- what the extension derives (warnings, hits, grades, memberships, draws,
-- rule history): only its functions do, as the extension's owner.
GRANT USAGE ON SCHEMA credit_sandbox TO PUBLIC;

-- A platform inserts every column of an event but its generated key, so a
-- row's place among the rows before it is the order the database received
-- it in, and no platform can take a key another's insert will be given.
-- Of an operator it registers the id, name and region; registration dates,
-- licences, permits and the lists are the regulator's (the admin role's).
CREATE FUNCTION credit_sandbox.platform_columns(tab regclass) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tab AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''
$$;
COMMENT ON FUNCTION credit_sandbox.platform_columns(regclass) IS
    'The columns of an event table the platforms insert: every column but the generated key.';
REVOKE ALL ON FUNCTION credit_sandbox.platform_columns(regclass) FROM PUBLIC;

-- Creates the four group roles (NOLOGIN) that do not exist yet and grants
-- them what they need; the DBA then grants membership to login roles.  Give
-- other names to grant to roles of one's own.  Idempotent: run it again after
-- ALTER EXTENSION UPDATE, which may add views.  Returns the statements it ran.
-- Not at CREATE EXTENSION: roles are cluster-wide, and which roles a
-- cluster has is the DBA's decision.
CREATE FUNCTION credit_sandbox.create_roles(app name DEFAULT 'credit_sandbox_app',
                                            analyst name DEFAULT 'credit_sandbox_analyst',
                                            admin name DEFAULT 'credit_sandbox_admin',
                                            operator name DEFAULT 'credit_sandbox_operator') RETURNS SETOF text
    LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text;
BEGIN
    IF NOT (SELECT pg_has_role(e.extowner, 'USAGE') FROM pg_extension e WHERE e.extname = 'credit_sandbox') THEN
        RAISE EXCEPTION 'only the owner of extension credit_sandbox may create its roles'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- on Citus a grant reaches every node; the reference tables with foreign keys take
    -- it only over one connection per node
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    FOREACH s IN ARRAY ARRAY[app, analyst, admin, operator] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = s) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', s);
            RETURN NEXT format('CREATE ROLE %I NOLOGIN', s);
        END IF;
    END LOOP;
    FOREACH s IN ARRAY ARRAY[
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I, %I, %I', app, analyst, admin),
        -- the platforms: insert events, every column but the generated key,
        -- which they may only read back from their own insert (INSERT ...
        -- RETURNING, see src/key_readback.c); register an operator's id,
        -- name and region; nothing of the regulator's (licences, permits,
        -- registration dates, the lists).  Table-level grants of older
        -- versions are revoked first.
        format('REVOKE INSERT, SELECT ON credit_sandbox.transactions, credit_sandbox.returns,'
               ' credit_sandbox.complaints, credit_sandbox.operators, credit_sandbox.operator_lists FROM %I', app),
        format('REVOKE SELECT (list_entry_id) ON credit_sandbox.operator_lists FROM %I', app),
        format('GRANT INSERT (%s), SELECT (txn_id) ON credit_sandbox.transactions TO %I',
               credit_sandbox.platform_columns('credit_sandbox.transactions'), app),
        format('GRANT INSERT (%s), SELECT (return_id) ON credit_sandbox.returns TO %I',
               credit_sandbox.platform_columns('credit_sandbox.returns'), app),
        format('GRANT INSERT (%s), SELECT (complaint_id) ON credit_sandbox.complaints TO %I',
               credit_sandbox.platform_columns('credit_sandbox.complaints'), app),
        -- and the generated keys, which the library refuses to a platform that
        -- names one (src/key_readback.c): on Citus the coordinator draws the key and
        -- names it in the statement the shard checks with the platform's privileges
        format('GRANT INSERT (txn_id) ON credit_sandbox.transactions TO %I', app),
        format('GRANT INSERT (return_id) ON credit_sandbox.returns TO %I', app),
        format('GRANT INSERT (complaint_id) ON credit_sandbox.complaints TO %I', app),
        format('GRANT INSERT (operator_id, name, region) ON credit_sandbox.operators TO %I', app),
        -- analysts: every view, and the readers that need no base table
        format('GRANT SELECT ON %s TO %I',
               (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) FROM pg_class c
                 WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('v', 'm')), analyst),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.sandbox_members_at(timestamptz),'
               ' credit_sandbox.verify_draw(bigint) TO %I, %I', analyst, admin),
        -- the views of a Citus node read their queries through owner_rows
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.owner_rows(anyelement) TO %I, %I, %I', analyst, admin, operator),
        -- administrators: read everything; edit operators, lists, rules,
        -- grading and inspectors; never the events or what is derived
        format('GRANT SELECT ON ALL TABLES IN SCHEMA credit_sandbox TO %I', admin),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operators, credit_sandbox.operator_lists,'
               ' credit_sandbox.regulated_categories, credit_sandbox.prohibited_categories,'
               ' credit_sandbox.prohibited_terms, credit_sandbox.absolute_terms,'
               ' credit_sandbox.return_exempt_categories, credit_sandbox.reference_prices,'
               ' credit_sandbox.inspectors, credit_sandbox.inspector_conflicts TO %I', admin),
        format('GRANT UPDATE ON credit_sandbox.rules, credit_sandbox.grading_weights,'
               ' credit_sandbox.grade_boundaries TO %I', admin),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.grade(text, timestamptz), credit_sandbox.regrade(timestamptz),'
               ' credit_sandbox.grade_ungraded(timestamptz), credit_sandbox.admit(text),'
               ' credit_sandbox.renew_sandbox(timestamptz), credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text), credit_sandbox.close_warning(bigint, text),'
               ' credit_sandbox.escalate_overdue(timestamptz), credit_sandbox.draw_inspections(text, jsonb, int),'
               ' credit_sandbox.set_driver(text), credit_sandbox.replay(timestamptz, timestamptz, jsonb),'
               ' credit_sandbox.check_consistency(timestamptz, timestamptz) TO %I', admin),
        -- the audit trail, for administrators and analysts; the regulator
        -- maps operator logins to operators
        format('GRANT SELECT ON credit_sandbox.warning_status_history TO %I', analyst),
        format('GRANT INSERT, UPDATE, DELETE ON credit_sandbox.operator_logins TO %I', admin),
        -- operators: their own warnings and tips, and their answer to a tip;
        -- nothing else (functions check whose tip it is: check_own_tip)
        format('GRANT USAGE ON SCHEMA credit_sandbox TO %I', operator),
        format('GRANT SELECT ON credit_sandbox.my_warnings, credit_sandbox.my_warning_history TO %I', operator),
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.acknowledge(bigint, text),'
               ' credit_sandbox.record_correction(bigint, text) TO %I', operator),
        -- the feed is the regulator's: its subscriptions deliver every operator's warnings
        format('GRANT EXECUTE ON FUNCTION credit_sandbox.create_subscription(text, boolean),'
               ' credit_sandbox.read_feed(text, int), credit_sandbox.ack_feed(text, bigint) TO %I', admin)] LOOP
        EXECUTE s;
        RETURN NEXT s;
    END LOOP;
END $$;
COMMENT ON FUNCTION credit_sandbox.create_roles(name, name, name, name) IS
    'Creates the application, analyst, administrator and operator group roles (NOLOGIN) that do not exist and grants them their privileges; returns the statements run. Idempotent.';
REVOKE ALL ON FUNCTION credit_sandbox.create_roles(name, name, name, name) FROM PUBLIC;

-- ===================================================================== scale-out (contract)

-- Citus: run once on the coordinator, after the workers are added.  Every
-- table becomes distributed by operator_id, co-located with transactions,
-- or a reference table (one shard on every node); the checks then run on
-- the workers, on the shards the rows land in (src/placement.c).  Each node
-- ran CREATE EXTENSION itself (Citus propagates it) and holds its own copy
-- of every table, so what Citus cannot distribute is changed on every node
-- first: the primary keys without operator_id and the foreign keys go, and
-- come back through Citus afterwards.  The extension's triggers are off
-- while Citus copies the rows already stored into the shards (a row copied
-- is no new row to check), and each gets its enable mode back.
CREATE FUNCTION credit_sandbox.distribute() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab text;
    r record;
    versions text[];
    low bigint;
    failed text;
    ddl text;
    view_ddl text[];
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'credit_sandbox.distribute() needs Citus'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The citus extension is not installed in this database.',
                  HINT = 'On one node the tables need no distribution; on Citus, CREATE EXTENSION citus and add the workers first.';
    END IF;
    IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'credit_sandbox.transactions'::regclass) THEN
        RETURN;
    END IF;
    IF NOT citus_is_coordinator() THEN
        RAISE EXCEPTION 'credit_sandbox.distribute() runs on the coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT array_agg(DISTINCT w.result) INTO versions
      FROM run_command_on_workers($q$SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox'$q$) w;
    IF versions IS NOT NULL AND versions <> ARRAY[(SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox')] THEN
        RAISE EXCEPTION 'credit_sandbox is not at the same version on every worker'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Workers have %s.', versions),
                  HINT = 'Run ALTER EXTENSION credit_sandbox UPDATE on each worker.';
    END IF;
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- foreign keys to reference tables: one connection per node throughout
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);

    CREATE TEMP TABLE trigger_modes ON COMMIT DROP AS
        SELECT t.tgrelid::regclass AS tab, t.tgname, t.tgenabled
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND NOT t.tgisinternal;
    CREATE TEMP TABLE foreign_keys ON COMMIT DROP AS
        SELECT k.conrelid::regclass AS tab, k.conname, pg_get_constraintdef(k.oid) AS definition
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND k.contype = 'f';
    CREATE TEMP TABLE new_keys ON COMMIT DROP AS
        SELECT c.oid::regclass AS tab, k.conname, a.attname AS id_column
          FROM pg_class c
          JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
         WHERE c.relnamespace = 'credit_sandbox'::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT EXISTS (SELECT FROM pg_attribute o
                            WHERE o.attrelid = c.oid AND o.attname = 'operator_id' AND o.attnum = ANY (k.conkey))
           AND EXISTS (SELECT FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'operator_id')
           AND NOT c.relispartition;

    FOR r IN SELECT pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', f.tab, f.conname) AS ddl
               FROM foreign_keys f
             UNION ALL
             SELECT pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', k.tab, k.conname) FROM new_keys k
             UNION ALL
             SELECT 'DROP INDEX credit_sandbox.feed_entries_position'
             UNION ALL
             SELECT pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER USER', m.tab)
               FROM (SELECT DISTINCT t.tab FROM trigger_modes t) m LOOP
        EXECUTE r.ddl;
        SELECT pg_catalog.string_agg(n.result, '; ') INTO failed FROM run_command_on_workers(r.ddl) n WHERE NOT n.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not prepare every worker''s tables for distribution'
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pg_catalog.format('%s: %s', r.ddl, failed);
        END IF;
    END LOOP;

    FOREACH tab IN ARRAY ARRAY['rules', 'rule_history', 'regulated_categories', 'prohibited_categories',
                               'prohibited_terms', 'absolute_terms', 'return_exempt_categories', 'reference_prices',
                               'grading_weights', 'grade_boundaries', 'inspectors', 'inspection_draws',
                               'warning_status_history', 'removed_rows', 'feed_seal', 'feed_subscriptions'] LOOP
        PERFORM create_reference_table(pg_catalog.format('credit_sandbox.%I', tab));
    END LOOP;
    PERFORM create_distributed_table('credit_sandbox.transactions', 'operator_id');
    FOREACH tab IN ARRAY ARRAY['operators', 'operator_lists', 'returns', 'complaints', 'warnings', 'warning_hits',
                               'operator_grades', 'sandbox_memberships', 'operator_logins', 'feed_entries',
                               'inspection_pool', 'inspection_tasks', 'inspector_conflicts'] LOOP
        PERFORM create_distributed_table(pg_catalog.format('credit_sandbox.%I', tab), 'operator_id',
                                         colocate_with => 'credit_sandbox.transactions');
    END LOOP;

    -- through Citus: to the tables on every node and to every shard
    FOR r IN SELECT * FROM new_keys LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (operator_id, %I)',
                                  r.tab, r.conname, r.id_column);
    END LOOP;
    FOR r IN SELECT * FROM foreign_keys LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tab, r.conname, r.definition);
    END LOOP;
    -- shard moves (citus_rebalance_start) replicate logically: every table needs a replica identity
    ALTER TABLE credit_sandbox.warning_hits REPLICA IDENTITY FULL;
    -- An id drawn on a node is its Citus group id above 2^48 plus its own sequence's next
    -- value (src/placement.c).  Rows restored from a dump may carry another cluster's
    -- group ids: every node's sequences start above all their low parts.
    FOR r IN SELECT a.attrelid::regclass AS tab, a.attname,
                    pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) AS seq
               FROM pg_attribute a JOIN pg_dist_partition p ON p.logicalrelid = a.attrelid
              WHERE a.attidentity <> '' AND p.partmethod = 'h'
                AND a.attrelid::regclass::text LIKE 'credit_sandbox.%' LOOP
        EXECUTE pg_catalog.format('SELECT coalesce(max(%I & %s), 0) FROM %s', r.attname,
                                  (1::bigint << 48) - 1, r.tab) INTO low;
        IF low > 0 THEN
            SELECT pg_catalog.string_agg(n.result, '; ') INTO failed
              FROM run_command_on_all_nodes(pg_catalog.format(
                       'SELECT pg_catalog.setval(%1$L, GREATEST(%2$s, (SELECT last_value FROM %1$s)))', r.seq, low)) n
             WHERE NOT n.success;
            IF failed IS NOT NULL THEN
                RAISE EXCEPTION 'could not move % past the restored ids on every node', r.seq
                    USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = failed;
            END IF;
        END IF;
    END LOOP;
    FOR r IN SELECT m.* FROM trigger_modes m WHERE m.tgenabled <> 'D' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE %s TRIGGER %I', r.tab,
                                  CASE r.tgenabled WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END,
                                  r.tgname);
    END LOOP;

    -- The views: their queries to credit_sandbox_queries, in their place views
    -- reading them through owner_rows (see there), with their comments and
    -- grants; on every node alike, as the views are each node's own.  Computed
    -- before the first change, which renames.
    SELECT ARRAY['CREATE SCHEMA credit_sandbox_queries',
                 'COMMENT ON SCHEMA credit_sandbox_queries IS ''credit_sandbox on Citus: the queries of the views, read through credit_sandbox.owner_rows as the extension''''s owner.''',
                 'ALTER EXTENSION credit_sandbox ADD SCHEMA credit_sandbox_queries']
           || array_agg(d.statement ORDER BY v.relname, d.n) INTO view_ddl
      FROM pg_class v,
           LATERAL unnest(ARRAY[pg_catalog.format('ALTER VIEW credit_sandbox.%I SET SCHEMA credit_sandbox_queries', v.relname),
                                pg_catalog.format('CREATE VIEW credit_sandbox.%1$I WITH (security_barrier) AS'
                                                  ' SELECT * FROM credit_sandbox.owner_rows(NULL::credit_sandbox_queries.%1$I)',
                                                  v.relname),
                                pg_catalog.format('ALTER EXTENSION credit_sandbox ADD VIEW credit_sandbox.%I', v.relname),
                                pg_catalog.format('COMMENT ON VIEW credit_sandbox.%I IS %L', v.relname,
                                                  pg_catalog.obj_description(v.oid, 'pg_class'))]
                          || ARRAY(SELECT pg_catalog.format('COMMENT ON COLUMN credit_sandbox.%I.%I IS %L', v.relname,
                                                            a.attname, pg_catalog.col_description(v.oid, a.attnum))
                                     FROM pg_attribute a WHERE a.attrelid = v.oid AND a.attnum > 0 ORDER BY a.attnum)
                          || ARRAY(SELECT pg_catalog.format('GRANT %s ON credit_sandbox.%I TO %s', g.privilege_type,
                                                            v.relname, g.grantee::regrole)
                                     FROM aclexplode(v.relacl) g WHERE g.grantee NOT IN (0, v.relowner)))
               WITH ORDINALITY AS d(statement, n)
     WHERE v.relnamespace = 'credit_sandbox'::regnamespace AND v.relkind = 'v';
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    FOREACH ddl IN ARRAY view_ddl LOOP
        EXECUTE ddl;
        SELECT pg_catalog.string_agg(n.result, '; ') INTO failed
          FROM run_command_on_workers('SET citus.enable_ddl_propagation = off; ' || ddl) n WHERE NOT n.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not put the views in place on every worker'
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pg_catalog.format('%s: %s', ddl, failed);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION credit_sandbox.distribute() IS
    'Citus coordinator, once, after the workers are added: every table distributed by operator_id (co-located) or a reference table. 0A000 without Citus.';
REVOKE ALL ON FUNCTION credit_sandbox.distribute() FROM PUBLIC;
