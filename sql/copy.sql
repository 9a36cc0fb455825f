--
-- copy: COPY into the event tables is checked like INSERT, row by row in the order of
-- the data, under both drivers (statement: one call over the transition table; row).
-- Operators 'CP1-...' (statement driver) and 'CP2-...' (row driver).
--
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
INSERT INTO credit_sandbox.operators (operator_id, registered_on, licence_valid_until, permits)
SELECT p || '-' || s, '2020-01-01', '2031-12-31', '{}'
  FROM unnest(ARRAY['CP1', 'CP2']) p, unnest(ARRAY['m1', 'm4', 'o1', 'o2']) s;
-- m1 and m4 are sandbox members
INSERT INTO credit_sandbox.sandbox_memberships (operator_id, admit_reason)
SELECT p || '-' || s, 'test: copy' FROM unnest(ARRAY['CP1', 'CP2']) p, unnest(ARRAY['m1', 'm4']) s;
SELECT credit_sandbox.driver();
COPY credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, category, unit_price, list_price) FROM STDIN;
CP1-m4	2030-06-01 00:01:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:02:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:03:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:04:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:05:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:06:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:07:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:08:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:09:00+08	S1	i	plain	misc	10	\N
CP1-m4	2030-06-01 00:10:00+08	S1	i	plain	misc	10	\N
CP1-u	2030-06-01 10:00:00+08	\N	i1	plain	misc	10	\N
CP1-o1	2030-06-05 10:00:00+08	\N	k	plain	misc	100	120
CP1-o1	2030-06-04 10:00:00+08	\N	k	plain	misc	50	\N
CP1-o1	2030-06-06 10:00:00+08	\N	k	plain	misc	100	60
CP1-o1	2030-06-01 10:00:00+08	\N	g	ivory gun	firearms	10	\N
CP1-m1	2030-06-01 10:00:00+08	\N	a	最佳 耳机	misc	10	\N
CP1-m1	2030-06-01 11:00:00+08	\N	a	最佳 耳机	misc	10	\N
CP1-m1	2030-06-01 12:00:00+08	\N	b	Best In The World	misc	10	\N
\.
COPY credit_sandbox.complaints (operator_id, received_at, channel) FROM STDIN;
CP1-o2	2030-06-01 10:00:00+08	web
CP1-o2	2030-06-01 11:00:00+08	web
CP1-o2	2030-06-01 12:00:00+08	web
CP1-o2	2030-06-01 13:00:00+08	web
CP1-o2	2030-06-01 14:00:00+08	web
CP1-o2	2030-06-01 15:00:00+08	web
\.
SELECT credit_sandbox.set_driver('row');
COPY credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title, category, unit_price, list_price) FROM STDIN;
CP2-m4	2030-06-01 00:01:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:02:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:03:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:04:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:05:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:06:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:07:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:08:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:09:00+08	S1	i	plain	misc	10	\N
CP2-m4	2030-06-01 00:10:00+08	S1	i	plain	misc	10	\N
CP2-u	2030-06-01 10:00:00+08	\N	i1	plain	misc	10	\N
CP2-o1	2030-06-05 10:00:00+08	\N	k	plain	misc	100	120
CP2-o1	2030-06-04 10:00:00+08	\N	k	plain	misc	50	\N
CP2-o1	2030-06-06 10:00:00+08	\N	k	plain	misc	100	60
CP2-o1	2030-06-01 10:00:00+08	\N	g	ivory gun	firearms	10	\N
CP2-m1	2030-06-01 10:00:00+08	\N	a	最佳 耳机	misc	10	\N
CP2-m1	2030-06-01 11:00:00+08	\N	a	最佳 耳机	misc	10	\N
CP2-m1	2030-06-01 12:00:00+08	\N	b	Best In The World	misc	10	\N
\.
COPY credit_sandbox.complaints (operator_id, received_at, channel) FROM STDIN;
CP2-o2	2030-06-01 10:00:00+08	web
CP2-o2	2030-06-01 11:00:00+08	web
CP2-o2	2030-06-01 12:00:00+08	web
CP2-o2	2030-06-01 13:00:00+08	web
CP2-o2	2030-06-01 14:00:00+08	web
CP2-o2	2030-06-01 15:00:00+08	web
\.
SELECT credit_sandbox.set_driver('statement');
-- what COPY under the statement driver gave
SELECT operator_id, code, subject_key, list, hits, occurred_at, last_hit_at, due_at
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'CP1-%' ORDER BY operator_id, code, subject_key;
SELECT operator_id, exit_code, exit_reason, exit_hit_at FROM credit_sandbox.sandbox_memberships
 WHERE operator_id LIKE 'CP1-%' ORDER BY operator_id;
-- the row driver gave the same (no difference either way)
WITH w AS (SELECT substr(operator_id, 1, 3) AS p, substr(operator_id, 5) AS op, code,
                  CASE WHEN subject_key = operator_id THEN substr(subject_key, 5) ELSE subject_key END AS key,
                  list, hits, evidence, occurred_at, last_hit_at, due_at, status, rule_version
             FROM credit_sandbox.warnings WHERE operator_id LIKE 'CP_-%')
(SELECT 'only statement' AS side, op, code, key FROM (SELECT op, code, key, list, hits, evidence, occurred_at, last_hit_at, due_at, status, rule_version FROM w WHERE p = 'CP1'
                                        EXCEPT SELECT op, code, key, list, hits, evidence, occurred_at, last_hit_at, due_at, status, rule_version FROM w WHERE p = 'CP2') d
 UNION ALL
 SELECT 'only row', op, code, key FROM (SELECT op, code, key, list, hits, evidence, occurred_at, last_hit_at, due_at, status, rule_version FROM w WHERE p = 'CP2'
                                  EXCEPT SELECT op, code, key, list, hits, evidence, occurred_at, last_hit_at, due_at, status, rule_version FROM w WHERE p = 'CP1') d)
ORDER BY 1, 2, 3, 4;
SELECT count(*) FILTER (WHERE operator_id LIKE 'CP1-%') AS statement_driver,
       count(*) FILTER (WHERE operator_id LIKE 'CP2-%') AS row_driver
  FROM credit_sandbox.warnings WHERE operator_id LIKE 'CP_-%';
SELECT substr(operator_id, 5) AS op, count(DISTINCT (exit_code, exit_reason, exit_hit_at)) AS same_exit, count(*)
  FROM credit_sandbox.sandbox_memberships WHERE operator_id LIKE 'CP_-%' GROUP BY 1 ORDER BY 1;
SELECT cs_test_cleanup('CP1-');
SELECT cs_test_cleanup('CP2-');
