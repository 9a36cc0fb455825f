-- comments.sql -- pgTAP: every object of the extension says what it is for.  Every
-- relation (table, partition, view, sequence), every column of every table and
-- view, every function and the schema have a non-empty comment (\d+, \df+, \dn+
-- and GUI tools show it), kept short.  The objects are read from pg_depend, so a
-- table, column or function added by a later version without a comment fails
-- here.  And, as this reads the catalogue of a new install: no constraint is
-- left NOT VALID.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(10);

CREATE TEMP VIEW members AS
SELECT d.classid, d.objid
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'credit_sandbox' AND d.deptype = 'e';
CREATE TEMP VIEW member_relations AS
SELECT c.oid, c.relkind, pg_catalog.obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid;
CREATE TEMP VIEW member_columns AS
SELECT format('%s.%I', a.attrelid::regclass, a.attname) AS name, pg_catalog.col_description(a.attrelid, a.attnum) AS description
  FROM pg_attribute a JOIN member_relations r ON r.oid = a.attrelid
 WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped;
CREATE TEMP VIEW member_functions AS
SELECT p.oid::regprocedure::text AS name, pg_catalog.obj_description(p.oid, 'pg_proc') AS description
  FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid;
CREATE TEMP VIEW every_comment AS
SELECT r.oid::regclass::text AS name, r.description FROM member_relations r
UNION ALL SELECT * FROM member_columns
UNION ALL SELECT * FROM member_functions;

-- what is counted is the whole extension, not an empty query
SELECT cmp_ok((SELECT count(*) FROM member_relations WHERE relkind IN ('r', 'p', 'v') ), '>=', 43::bigint,
              'the extension''s tables and views are found (30 tables and 13 views in 0.8)');
SELECT cmp_ok((SELECT count(*) FROM member_columns), '>=', 316::bigint,
              'their columns are found (316 in 0.8)');
SELECT cmp_ok((SELECT count(*) FROM member_functions), '>=', 43::bigint,
              'the extension''s functions are found (43 in 0.8)');

SELECT is((SELECT coalesce(array_agg(r.oid::regclass::text ORDER BY 1), '{}') FROM member_relations r
            WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f') AND coalesce(btrim(r.description), '') = ''),
          '{}', 'every table, partition and view has a comment');
SELECT is((SELECT coalesce(array_agg(r.oid::regclass::text ORDER BY 1), '{}') FROM member_relations r
            WHERE r.relkind = 'S' AND coalesce(btrim(r.description), '') = ''),
          '{}', 'every sequence has a comment');
SELECT is((SELECT coalesce(array_agg(c.name ORDER BY 1), '{}') FROM member_columns c
            WHERE coalesce(btrim(c.description), '') = ''),
          '{}', 'every column of every table, partition and view has a comment');
SELECT is((SELECT coalesce(array_agg(f.name ORDER BY 1), '{}') FROM member_functions f
            WHERE coalesce(btrim(f.description), '') = ''),
          '{}', 'every function has a comment');
SELECT isnt(coalesce(btrim(pg_catalog.obj_description('credit_sandbox'::regnamespace, 'pg_namespace')), ''), '',
            'the schema has a comment');
-- short: what it is for, not its documentation
SELECT is((SELECT coalesce(array_agg(c.name ORDER BY 1), '{}') FROM every_comment c
            WHERE pg_catalog.length(c.description) > 250),
          '{}', 'no comment is longer than 250 characters');

SELECT is((SELECT coalesce(array_agg(format('%s on %s', co.conname, co.conrelid::regclass) ORDER BY 1), '{}')
             FROM pg_constraint co JOIN member_relations r ON r.oid = co.conrelid
            WHERE NOT co.convalidated),
          '{}', 'a new install has every constraint validated');

SELECT * FROM finish();
ROLLBACK;
