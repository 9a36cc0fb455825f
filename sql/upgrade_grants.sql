--
-- upgrade_grants: the grants create_roles() made under 0.4, updated to 0.5.  A platform
-- that could insert whole rows inserts every column but the generated keys, registers an
-- operator's id, name and region only, and writes no list; the regulator keeps its grants,
-- and from 0.7 its removals of defaults are recorded under its login; the views 0.7 adds
-- are the analysts' and the regulator's once create_roles() runs again.
-- In a database and with roles of its own, dropped at the end.
--
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
\set grants_db :regress_db '_upgrade_grants'
DROP DATABASE IF EXISTS :"grants_db";
CREATE DATABASE :"grants_db";
\c :"grants_db"
SET client_min_messages = warning;

CREATE EXTENSION credit_sandbox VERSION '0.1';
ALTER EXTENSION credit_sandbox UPDATE TO '0.4';
SELECT count(*) > 0 AS roles_made
  FROM credit_sandbox.create_roles('cs_upgrade_app', 'cs_upgrade_analyst', 'cs_upgrade_admin');
ALTER EXTENSION credit_sandbox UPDATE TO '0.5';

SELECT r.role, c.tab, c.col, has_column_privilege(r.role, c.tab, c.col, 'INSERT') AS may_insert
  FROM (VALUES ('cs_upgrade_app'), ('cs_upgrade_admin')) r(role),
       (VALUES ('credit_sandbox.transactions', 'txn_id'), ('credit_sandbox.transactions', 'ship_to'),
               ('credit_sandbox.returns', 'return_id'), ('credit_sandbox.returns', 'outcome'),
               ('credit_sandbox.complaints', 'complaint_id'), ('credit_sandbox.complaints', 'channel'),
               ('credit_sandbox.operators', 'name'), ('credit_sandbox.operators', 'licence_valid_until'),
               ('credit_sandbox.operator_lists', 'list')) AS c(tab, col)
 ORDER BY 1, 2, 3;
-- the keys are read back by RETURNING only
SELECT has_column_privilege('cs_upgrade_app', 'credit_sandbox.transactions', 'txn_id', 'SELECT') AS key_select,
       has_table_privilege('cs_upgrade_app', 'credit_sandbox.transactions', 'SELECT') AS table_select,
       has_column_privilege('cs_upgrade_app', 'credit_sandbox.operator_lists', 'list_entry_id', 'SELECT') AS list_key_select;

-- updated to 0.7, a login of the administrators' role removes a default: the record
-- names the login, not the extension's owner its trigger runs as
ALTER EXTENSION credit_sandbox UPDATE TO '0.7';
CREATE ROLE cs_upgrade_admin_login LOGIN IN ROLE cs_upgrade_admin;
SET SESSION AUTHORIZATION cs_upgrade_admin_login;
SET ROLE cs_upgrade_admin;
DELETE FROM credit_sandbox.prohibited_terms WHERE term = 'ivory';
RESET SESSION AUTHORIZATION;
SELECT table_name, key, removed_by FROM credit_sandbox.removed_rows;

-- the analysts' views 0.7 adds: readable by the analysts and the regulator once
-- create_roles() runs again after the update, as the README says
SELECT v AS view, has_table_privilege('cs_upgrade_analyst', 'credit_sandbox.' || v, 'SELECT') AS analyst,
       has_table_privilege('cs_upgrade_admin', 'credit_sandbox.' || v, 'SELECT') AS admin
  FROM unnest('{warnings_daily,inspection_draw_summary,inspection_task_details,sandbox_stays,overdue_tips}'::text[]) v;
SELECT count(*) > 0 AS roles_granted_again
  FROM credit_sandbox.create_roles('cs_upgrade_app', 'cs_upgrade_analyst', 'cs_upgrade_admin');
SELECT v AS view, has_table_privilege('cs_upgrade_analyst', 'credit_sandbox.' || v, 'SELECT') AS analyst,
       has_table_privilege('cs_upgrade_admin', 'credit_sandbox.' || v, 'SELECT') AS admin,
       has_table_privilege('cs_upgrade_app', 'credit_sandbox.' || v, 'SELECT') AS app
  FROM unnest('{warnings_daily,inspection_draw_summary,inspection_task_details,sandbox_stays,overdue_tips}'::text[]) v;

\c :"regress_db"
SET client_min_messages = warning;
DROP DATABASE :"grants_db";
DROP ROLE cs_upgrade_app, cs_upgrade_analyst, cs_upgrade_admin, cs_upgrade_admin_login;
