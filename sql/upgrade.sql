--
-- upgrade: CREATE EXTENSION at the oldest released version, rows and warnings
-- under it, then ALTER EXTENSION ... UPDATE through every released version in
-- turn: the rows stay, the checks go on where they were, and the objects are
-- those of a new install.  In a database of its own, so that the extension
-- the other tests share is untouched.
--
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
\set upgrade_db :regress_db '_upgrade'
DROP DATABASE IF EXISTS :"upgrade_db";
CREATE DATABASE :"upgrade_db";
\c :"upgrade_db"
SET client_min_messages = warning;

-- The extension's objects, each with what defines it: members (functions with
-- their body, volatility, strictness, SECURITY DEFINER and settings; relations
-- with their kind, options and view query; sequences with their parameters and
-- owning column), their columns (position, type, default, privileges),
-- constraints (and whether they are validated), indexes, triggers (and whether
-- replica mode fires them), privileges, the schema's privileges, every comment,
-- and what pg_dump keeps.  Privileges are compared as the grants they hold: an
-- ACL left at its default equals one made explicit.
CREATE FUNCTION acl_text(acl aclitem[]) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(format('%s=%s%s/%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                                      a.privilege_type, CASE WHEN a.is_grantable THEN '*' END, a.grantor::regrole),
                               ' ' ORDER BY 1), 'none')
      FROM aclexplode(acl) a
$$;
CREATE FUNCTION extension_objects() RETURNS TABLE (object text, definition text) LANGUAGE sql AS $$
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'credit_sandbox'),
members AS (
    SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
SELECT pg_describe_object(m.classid, m.objid, m.objsubid),
       concat_ws(' | ',
                 (SELECT concat_ws(' ', pg_get_functiondef(p.oid), 'volatility', p.provolatile, 'strict', p.proisstrict,
                                   'parallel', p.proparallel, 'security definer', p.prosecdef,
                                   'config', coalesce(p.proconfig::text, 'none'),
                                   'acl', acl_text(coalesce(p.proacl, acldefault('f', p.proowner))))
                    FROM pg_proc p WHERE m.classid = 'pg_proc'::regclass AND p.oid = m.objid),
                 (SELECT concat_ws(' ', c.relkind, 'options', coalesce(c.reloptions::text, 'none'),
                                   'acl', acl_text(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                                                  c.relowner))),
                                   pg_get_viewdef(c.oid))
                    FROM pg_class c WHERE m.classid = 'pg_class'::regclass AND c.oid = m.objid),
                 (SELECT concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
                                   'owned by', (SELECT format('%s.%I', d.refobjid::regclass, a.attname)
                                                  FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid
                                                                                    AND a.attnum = d.refobjsubid
                                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                                                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
                    FROM pg_sequence s WHERE m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid))
  FROM members m
UNION ALL
SELECT 'schema credit_sandbox', acl_text(coalesce(n.nspacl, acldefault('n', n.nspowner)))
  FROM pg_namespace n WHERE n.nspname = 'credit_sandbox'
UNION ALL
SELECT format('column %s.%I', a.attrelid::regclass, a.attname),
       concat_ws(' ', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity::text, a.attgenerated::text,
                 pg_get_expr(ad.adbin, ad.adrelid), 'acl', acl_text(a.attacl))
  FROM pg_attribute a JOIN rels r ON r.oid = a.attrelid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s on %s', co.conname, co.conrelid::regclass),
       concat_ws(' ', pg_get_constraintdef(co.oid), CASE WHEN co.convalidated THEN 'validated' ELSE 'not validated' END)
  FROM pg_constraint co JOIN rels r ON r.oid = co.conrelid
UNION ALL
SELECT format('index %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN rels r ON r.oid = i.indrelid
UNION ALL
SELECT format('trigger %s on %s', t.tgname, t.tgrelid::regclass), pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
  FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid
 WHERE NOT t.tgisinternal
UNION ALL
-- every comment on an object in the schema: members, columns, constraints,
-- indexes, triggers
SELECT 'comment on ' || pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
  FROM pg_description d
 WHERE (d.classoid = 'pg_class'::regclass
        AND d.objoid IN (SELECT r.oid FROM rels r UNION ALL SELECT i.indexrelid FROM pg_index i JOIN rels r ON r.oid = i.indrelid))
    OR (d.classoid = 'pg_proc'::regclass
        AND d.objoid IN (SELECT m.objid FROM members m WHERE m.classid = 'pg_proc'::regclass))
    OR (d.classoid = 'pg_constraint'::regclass
        AND d.objoid IN (SELECT co.oid FROM pg_constraint co JOIN rels r ON r.oid = co.conrelid))
    OR (d.classoid = 'pg_trigger'::regclass
        AND d.objoid IN (SELECT t.oid FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid))
    OR (d.classoid = 'pg_namespace'::regclass
        AND d.objoid IN (SELECT n.oid FROM pg_namespace n WHERE n.nspname = 'credit_sandbox'))
UNION ALL
SELECT format('dumped %s', cfg.rel::regclass), coalesce(cfg.cond, '')
  FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg(rel, cond)
$$;

-- a new install of the default version, to compare with the updated one
CREATE EXTENSION credit_sandbox;
CREATE TABLE new_install AS SELECT * FROM extension_objects();
SELECT count(*) > 300 AS many_objects FROM new_install;
DROP EXTENSION credit_sandbox;

CREATE EXTENSION credit_sandbox VERSION '0.1';
SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox';

-- a DBA's edits, a sandbox member, warnings open and acknowledged
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 3}' WHERE code = 'RL04';
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES ('tiger bone');
DELETE FROM credit_sandbox.prohibited_terms WHERE term = 'ivory';
INSERT INTO credit_sandbox.operators (operator_id, name, region, registered_on, licence_valid_until, permits)
VALUES ('UPM', 'member', 'r1', '2020-01-01', '2099-12-31', '{}'),
       ('UPB', 'brushing', 'r1', '2020-01-01', '2099-12-31', '{}');
SELECT credit_sandbox.admit('UPM');
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price)
VALUES ('UPU', '2025-03-10 10:00+08', 'b1', NULL, 'i1', 'cup', 'kitchen', 1, 10),
       ('UPM', '2025-03-10 10:00+08', 'b1', NULL, 'm1', '最佳 tea', 'tea', 1, 10),
       ('UPB', '2025-03-10 10:00+08', 'b1', 'addr', 'i1', 'cup', 'kitchen', 1, 10),
       ('UPB', '2025-03-10 11:00+08', 'b2', 'addr', 'i1', 'cup', 'kitchen', 1, 10),
       ('UPB', '2025-03-10 12:00+08', 'b3', 'addr', 'i2', 'tiger bone wine', 'drinks', 1, 10);
SELECT credit_sandbox.acknowledge(warning_id) FROM credit_sandbox.warnings WHERE code = 'RL03';
-- a warning deleted by hand leaves its hit behind: the update to 0.4 cannot name
-- the hit's operator, and warning_hits_operator_id_not_null cannot be validated
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price)
VALUES ('UPX', '2025-03-10 10:00+08', 'b1', NULL, 'i1', 'cup', 'kitchen', 1, 10);
DELETE FROM credit_sandbox.warnings WHERE operator_id = 'UPX';

-- what must survive the update (contract columns only: later versions may add columns)
CREATE FUNCTION stored_rows() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('warning %s %s %s %s %s hits=%s %s v%s', warning_id, operator_id, code, list, subject_key,
                  hits, status, rule_version) FROM credit_sandbox.warnings
    UNION ALL SELECT format('hit %s %s %s', warning_id, source_table, source_id) FROM credit_sandbox.warning_hits
    UNION ALL SELECT format('rule %s v%s %s', code, version, params) FROM credit_sandbox.rules WHERE version > 1
    UNION ALL SELECT format('rule history %s v%s %s', code, version, params) FROM credit_sandbox.rule_history
               WHERE code = 'RL04'
    UNION ALL SELECT format('transaction %s %s %s', txn_id, operator_id, item_title) FROM credit_sandbox.transactions
    UNION ALL SELECT format('member %s in=%s', operator_id, exited_at IS NULL) FROM credit_sandbox.sandbox_memberships
    UNION ALL SELECT format('grade %s %s', operator_id, class) FROM credit_sandbox.operator_grades
    UNION ALL SELECT 'prohibited term ' || term FROM credit_sandbox.prohibited_terms
$$;
CREATE TABLE before_update AS SELECT * FROM stored_rows() AS r;
SELECT * FROM before_update ORDER BY 1;

-- every released version after the first, in order, each step checked: a
-- release adds its step here
ALTER EXTENSION credit_sandbox UPDATE TO '0.4';
SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox';
ALTER EXTENSION credit_sandbox UPDATE TO '0.5';
SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox';
-- validates what 0.4 added NOT VALID, but for the constraint the hit left
-- behind violates: that one stays NOT VALID, and a WARNING names the fix
ALTER EXTENSION credit_sandbox UPDATE TO '0.7';
SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox';
ALTER EXTENSION credit_sandbox UPDATE TO '0.8';
SELECT extversion FROM pg_extension WHERE extname = 'credit_sandbox';

-- the steps above are the whole update path to the default version
SELECT e.extversion, a.default_version, e.extversion = a.default_version AS at_default_version, p.path
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
  JOIN pg_extension_update_paths('credit_sandbox') p ON p.source = '0.1' AND p.target = a.default_version
 WHERE e.extname = 'credit_sandbox';
-- the objects are those of a new install but that constraint
CREATE VIEW differences AS
(SELECT 'new install only' AS side, * FROM new_install EXCEPT SELECT 'new install only', * FROM extension_objects())
UNION ALL
(SELECT 'updated only', * FROM extension_objects() EXCEPT SELECT 'updated only', * FROM new_install);
SELECT * FROM differences ORDER BY 2, 1;
-- nothing stored was lost or changed
SELECT * FROM before_update EXCEPT SELECT * FROM stored_rows();
-- the fix the WARNING names; then the objects are those of a new install
DELETE FROM credit_sandbox.warning_hits WHERE operator_id IS NULL;
ALTER TABLE credit_sandbox.warning_hits VALIDATE CONSTRAINT warning_hits_operator_id_not_null;
SELECT * FROM differences ORDER BY 2, 1;
-- the removal made under 0.1 is known: a restore would not bring the term back
SELECT table_name, key, removed_at, removed_by FROM credit_sandbox.removed_rows;

-- the checks go on where they were: the open RL01 warning counts the next hit,
-- the open tip counts the member's next hit on its key, RL04 keeps threshold 3,
-- the removed term still warns nothing, a new unknown operator warns
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price)
VALUES ('UPU', '2025-03-11 10:00+08', 'b1', NULL, 'i1', 'cup', 'kitchen', 1, 10),
       ('UPM', '2025-03-11 10:00+08', 'b1', NULL, 'm1', '最佳 tea', 'tea', 1, 10),
       ('UPB', '2025-03-10 13:00+08', 'b4', 'addr', 'i3', 'ivory comb', 'home', 1, 10),
       ('UPN', '2025-03-11 10:00+08', 'b1', NULL, 'i1', 'cup', 'kitchen', 1, 10);
SELECT w.operator_id, w.code, w.list, w.subject_key, w.hits, w.status, w.rule_version,
       w.evidence ->> 'threshold' AS threshold
  FROM credit_sandbox.warnings w ORDER BY w.warning_id;
SELECT credit_sandbox.in_sandbox('UPM') AS member_still_in;
-- a rule's next version follows the one made under 0.1
UPDATE credit_sandbox.rules SET params = '{"window": "24 hours", "threshold": 4}' WHERE code = 'RL04';
SELECT code, version, params FROM credit_sandbox.rule_history WHERE code = 'RL04' ORDER BY version;

\c :"regress_db"
SET client_min_messages = warning;
DROP DATABASE :"upgrade_db";
