-- hostile.sql -- pgTAP: hostile input at the tables and functions.  Malformed rule
-- parameters (fixed and randomly built), grading weights and boundaries, huge and odd
-- UTF-8 titles, NULL in every column, extreme numbers and timestamps.  Each attempt
-- either goes in and is judged as the red lines say, or is refused with an ERROR of a
-- class a user can act on (22, 23, 42, 54; P0002 from the API's own "does not exist"),
-- never an internal error; and the backend survives all of it.
-- Random parts use a fixed seed, printed; to try another one:
--   PGOPTIONS='-c cs_test.hostile_seed=0.123' pg_prove -d DB test/hostile.sql
-- Operators 'HX-...'.  One transaction, rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(110);

\ir lib/defaults.sql
\ir lib/helpers.sql

CREATE TEMP TABLE hostile_start AS
SELECT pg_backend_pid() AS pid, pg_postmaster_start_time() AS started,
       coalesce(current_setting('cs_test.hostile_seed', true), '0.4242')::float8 AS seed;
SELECT diag('random seed ' || seed || ' (PGOPTIONS=''-c cs_test.hostile_seed=' || seed || ''' repeats this run)')
  FROM hostile_start;
SELECT setseed(seed) FROM hostile_start;

-- ------------------------------------------------------------------ helpers
-- Every attempt and what came of it: 'ok' or the SQLSTATE, with the message.
CREATE TEMP TABLE outcomes (n serial, label text, state text, message text);
CREATE FUNCTION pg_temp.attempt(label text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text := 'ok';
    msg text;
BEGIN
    BEGIN
        EXECUTE sql;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    INSERT INTO outcomes (label, state, message) VALUES (attempt.label, st, msg);
    RETURN st;
END $$;
-- the attempts of a group whose outcome is not the expected one, or NULL
CREATE FUNCTION pg_temp.unexpected(prefix text, expected text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(label || ' -> ' || state || coalesce(' (' || message || ')', ''), E'\n' ORDER BY n)
      FROM outcomes WHERE label LIKE prefix || '%' AND state <> expected $$;
CREATE FUNCTION pg_temp.rule_versions() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_object_agg(code, jsonb_build_array(version, params)) FROM credit_sandbox.rules $$;
CREATE FUNCTION pg_temp.pick(items text[]) RETURNS text LANGUAGE sql AS $$
    SELECT items[1 + floor(random() * array_length(items, 1))::int] $$;
-- an insert of one sale, for attempt()
CREATE FUNCTION pg_temp.sale(op text, at text, item text DEFAULT 'HX-i', price text DEFAULT '10',
                             list_price text DEFAULT 'NULL', quantity text DEFAULT '1', ship text DEFAULT 'NULL')
RETURNS text LANGUAGE sql AS $$
    SELECT format('INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, ship_to, item_id, item_title,'
                  ' category, quantity, unit_price, list_price) VALUES (%L, %s, %s, %L, ''plain'', ''misc'', %s, %s, %s)',
                  op, at, ship, item, quantity, price, list_price) $$;

-- ================================================================== rule parameters
CREATE TEMP TABLE before_params AS SELECT code, params FROM credit_sandbox.rules;
CREATE TEMP TABLE before_versions AS SELECT pg_temp.rule_versions() AS v;

-- fixed cases, each refused with 22023 (the SQL NULL one crashed the backend in 0.3)
SELECT is(count(pg_temp.attempt('bad params ' || c || ' ' || coalesce(p, 'SQL NULL'),
                                format('UPDATE credit_sandbox.rules SET params = %s::jsonb WHERE code = %L',
                                       coalesce(quote_literal(p), 'NULL'), c))),
          30::bigint, 'rule parameters: 30 malformed ones tried')
  FROM (VALUES ('RL04', NULL), ('RL01', NULL), ('TP01', NULL), ('RL04', 'null'), ('RL04', '[]'),
               ('RL04', '"window"'), ('RL09', '50'), ('RL01', 'true'), ('RL01', '{"x": 1}'),
               ('RL04', '{"window": null, "threshold": 8}'),
               ('RL04', '{"window": {"hours": 24}, "threshold": 8}'),
               ('RL04', '{"window": ["24 hours"], "threshold": 8}'),
               ('RL04', '{"window": "infinity", "threshold": 8}'),
               ('RL04', '{"window": "NaN", "threshold": 8}'),
               ('RL04', '{"window": "24 hours", "threshold": 8, "threshold ": 1}'),
               ('RL04', '{"window": "24 hours", "threshold": 1, "threshold": 0}'),
               ('RL04', '{"window": "24 hours", "threshold": -0}'),
               ('RL04', '{"window": "24 hours", "threshold": 1e1000}'),
               ('RL04', '{"window": "24 hours", "threshold": 1e-1000}'),
               ('RL04', '{"window": "178000000 years", "threshold": 8}'),
               ('RL04', '{"window": "' || repeat('1', 400) || ' seconds", "threshold": 8}'),
               ('RL05', '{"lookback": "@ 3 days ago"}'),
               ('RL08', '{"window": "30 days", "threshold": 5, "factor": -1e-1000, "baseline": "90 days"}'),
               ('RL08', '{"window": "30 days", "threshold": 5, "factor": "NaN", "baseline": "90 days"}'),
               ('RL09', '{"max_markup_pct": "Infinity"}'),
               ('RL09', '{"max_markup_pct": 1e131000}'),
               ('RL08', '{"window": "30 days", "threshold": 5, "factor": 1000000.0001, "baseline": "90 days"}'),
               ('RL09', '{"max_markup_pct": ' || repeat('[', 200) || repeat(']', 200) || '}'),
               ('RL09', '{"' || repeat('k', 10000) || '": 1}'),
               ('RL09', '{"max_markup_pct": 50, "": 1}')) t(c, p);
SELECT is(pg_temp.unexpected('bad params ', '22023'), NULL,
          'rule parameters: every malformed value is refused with 22023 (SQL NULL, wrong types, nested, huge, NaN, unknown keys)');
-- refused in the JSON parser already: a data exception, not an internal error
SELECT is(pg_temp.attempt('json ' || p, format('UPDATE credit_sandbox.rules SET params = %L::jsonb WHERE code = ''RL09''', p)),
          s, 'rule parameters: ' || p || ' -> ' || s)
  FROM (VALUES ('{"max_markup_pct": NaN}', '22P02'), ('{"max_markup_pct": 50', '22P02'),
               ('{"max_markup_pct": "\u0000"}', '22P05')) t(p, s);

-- randomly built: valid parameters, then one thing broken
CREATE TEMP TABLE param_specs (code text, key text, kind text);
INSERT INTO param_specs VALUES
    ('RL04', 'window', 'interval'), ('RL04', 'threshold', 'count'), ('RL05', 'lookback', 'interval'),
    ('RL07', 'return_period', 'interval'), ('RL07', 'window', 'interval'), ('RL07', 'threshold', 'count'),
    ('RL08', 'window', 'interval'), ('RL08', 'threshold', 'count'), ('RL08', 'factor', 'number'),
    ('RL08', 'baseline', 'interval'), ('RL09', 'max_markup_pct', 'number'), ('TP01', 'expires_within', 'interval');
CREATE TEMP TABLE param_pool (kind text, good boolean, vals text[]);
INSERT INTO param_pool VALUES
    ('interval', true, ARRAY['"24 hours"', '"1 microsecond"', '"100 years"', '"P1D"', '"1 mon -29 days"',
                             '"2 weeks 3 days 04:05:06.789"', '"@ 7 days"']),
    ('interval', false, ARRAY['"0 seconds"', '"-1 hour"', '"101 years"', '"infinity"', '"1 fortnight"', '""', '24',
                              'null', 'true', '["1 day"]', '{"days": 1}', '"P101Y"', '"seven days"']),
    ('count', true, ARRAY['1', '2', '8', '2147483647', '1.0', '3e0', '1e1']),
    ('count', false, ARRAY['0', '-1', '-0', '1.5', '2147483648', '1e1000', '1e-1000', '"8"', 'null', '[8]', 'true']),
    ('number', true, ARRAY['0', '-0', '50', '0.5', '1e-300', '1e6', '999999.123456789']),
    ('number', false, ARRAY['-1', '-1e-1000', '1000000.0001', '1e1000', '"50"', 'null', '{}', '[]', 'false', '"Infinity"']);
CREATE FUNCTION pg_temp.random_params(broken boolean, n int) RETURNS TABLE (code text, params text, how text)
LANGUAGE plpgsql AS $$
DECLARE
    keys text[];
    kinds text[];
    vals text[];
    j int;
    mutation int;
BEGIN
    FOR i IN 1 .. n LOOP
        code := pg_temp.pick(ARRAY(SELECT DISTINCT s.code FROM param_specs s ORDER BY 1));
        SELECT array_agg(s.key ORDER BY s.key), array_agg(s.kind ORDER BY s.key) INTO keys, kinds
          FROM param_specs s WHERE s.code = random_params.code;
        vals := ARRAY(SELECT pg_temp.pick(p.vals) FROM unnest(kinds) WITH ORDINALITY k(kind, o)
                        JOIN param_pool p ON p.kind = k.kind AND p.good ORDER BY k.o);
        j := 1 + floor(random() * array_length(keys, 1))::int;
        mutation := CASE WHEN broken THEN floor(random() * 6)::int ELSE -1 END;
        how := CASE mutation WHEN -1 THEN 'valid' WHEN 0 THEN 'bad ' || keys[j] WHEN 1 THEN 'unknown key'
                             WHEN 2 THEN 'no ' || keys[j] WHEN 3 THEN 'key case' WHEN 4 THEN 'in an array'
                             ELSE 'a scalar' END;
        IF mutation = 0 THEN
            vals[j] := pg_temp.pick((SELECT p.vals FROM param_pool p WHERE p.kind = kinds[j] AND NOT p.good));
        ELSIF mutation = 1 THEN
            keys := keys || 'hostile'::text;
            vals := vals || '1'::text;
        ELSIF mutation = 2 THEN
            keys := keys[:j - 1] || keys[j + 1:];
            vals := vals[:j - 1] || vals[j + 1:];
        ELSIF mutation = 3 THEN
            keys[j] := upper(keys[j]);
        END IF;
        params := '{' || coalesce((SELECT string_agg(to_json(k)::text || ': ' || v, ', ' ORDER BY o)
                                     FROM unnest(keys, vals) WITH ORDINALITY u(k, v, o)), '') || '}';
        IF mutation = 4 THEN
            params := '[' || params || ']';
        ELSIF mutation = 5 THEN
            params := pg_temp.pick(ARRAY['1', '"x"', 'null', 'true', '-0']);
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
SELECT is(count(pg_temp.attempt(format('random broken params (%s) %s %s', how, code, params),
                                format('UPDATE credit_sandbox.rules SET params = %L::jsonb WHERE code = %L', params, code))),
          300::bigint, 'rule parameters: 300 randomly broken ones tried')
  FROM pg_temp.random_params(true, 300);
SELECT is(pg_temp.unexpected('random broken params ', '22023'), NULL,
          'rule parameters: 300 randomly broken ones, every one refused with 22023');
SELECT is(pg_temp.rule_versions(), (SELECT v FROM before_versions),
          'rule parameters: nothing refused changed a rule or its version');

-- randomly built valid ones are accepted, and a sale, a return and a complaint still go in
CALL pg_temp.add_operator('HX-params');
CREATE FUNCTION pg_temp.params_then_rows(code text, params text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text := pg_temp.attempt(format('random valid params %s %s', code, params),
                               format('UPDATE credit_sandbox.rules SET params = %L::jsonb WHERE code = %L', params, code));
BEGIN
    IF st = 'ok' THEN
        PERFORM pg_temp.attempt(format('rows after %s %s', code, params), s)
          FROM unnest(ARRAY[pg_temp.sale('HX-params', '''2030-06-01 12:00+08''', list_price => '20', ship => '''a'''),
                            'INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome)'
                            ' VALUES (''HX-params'', ''2030-05-30'', ''2030-06-01'', ''refused'')',
                            'INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES (''HX-params'', ''2030-06-01'')']) s;
    END IF;
    RETURN st;
END $$;
SELECT is(count(pg_temp.params_then_rows(code, params)), 60::bigint, 'rule parameters: 60 random valid ones tried')
  FROM pg_temp.random_params(false, 60);
SELECT is(pg_temp.unexpected('random valid params ', 'ok'), NULL,
          'rule parameters: 60 random valid ones (1 microsecond to 100 years, 2147483647, 1e6...) are accepted');
SELECT is(pg_temp.unexpected('rows after ', 'ok'), NULL,
          'rule parameters: after each, a sale, a return and a complaint are stored and judged');
SELECT cmp_ok((SELECT count(*) FROM credit_sandbox.warnings WHERE operator_id = 'HX-params'), '>', 0::bigint,
              'rule parameters: those rows were judged (warnings written)');
UPDATE credit_sandbox.rules r SET params = b.params FROM before_params b
 WHERE r.code = b.code AND r.params <> b.params;

-- ================================================================== grading weights and boundaries
SELECT is(pg_temp.attempt('weight ' || i || ' = ' || coalesce(w, 'NULL'),
                          format('UPDATE credit_sandbox.grading_weights SET weight = %s WHERE indicator = %L',
                                 coalesce(quote_literal(w) || '::numeric', 'NULL'), i)),
          s, format('grading_weights: %s = %s -> %s', i, coalesce(w, 'NULL'), s))
  FROM (VALUES ('admin_tips', NULL, '22023'), ('admin_tips', '-1', '22023'), ('admin_tips', 'NaN', '22023'),
               ('admin_tips', 'Infinity', '22023'), ('warning_clues', '1e308', '22023'),
               ('warning_clues', '1000000.0001', '22023'), ('warning_clues', '1e400', '22003'),
               ('warning_clues', '1e-400', '22003'), ('warning_clues', '1000000', 'ok'),
               ('warning_clues', '1e-300', 'ok'), ('warning_clues', '-0', 'ok')) t(i, w, s);
SELECT is(pg_temp.attempt('weight indicator ' || coalesce(i, 'NULL'),
                          format('INSERT INTO credit_sandbox.grading_weights (indicator, weight, description) VALUES (%L, 1, ''x'')', i)),
          '22023', format('grading_weights: indicator %s -> 22023', coalesce(i, 'NULL')))
  FROM (VALUES (NULL), (''), ('Warning_clues'), (repeat('x', 10000))) t(i);
SELECT is(pg_temp.attempt('boundary ' || s, s), e, format('grade_boundaries: %s -> %s', s, e))
  FROM (VALUES ('UPDATE credit_sandbox.grade_boundaries SET min_score = NULL WHERE class = ''A''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries SET min_score = 101 WHERE class = ''A''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries SET min_score = ''NaN'' WHERE class = ''A''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries SET min_score = ''-Infinity'' WHERE class = ''C''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries SET min_score = 1e400 WHERE class = ''C''', '22003'),
               ('UPDATE credit_sandbox.grade_boundaries SET min_score = 95 WHERE class = ''B''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries SET class = NULL WHERE class = ''C''', '22023'),
               ('INSERT INTO credit_sandbox.grade_boundaries VALUES (''D'', 10)', '22023'),
               ('DELETE FROM credit_sandbox.grade_boundaries WHERE class = ''B''', '22023'),
               ('UPDATE credit_sandbox.grade_boundaries b SET min_score = d.m FROM (VALUES (''A'', 100), (''B'', 1e-300), (''C'', -0)) d(c, m) WHERE b.class = d.c', 'ok')) t(s, e);
-- the weights and boundaries accepted above still grade
CALL pg_temp.add_operator('HX-grade');
SELECT ok(credit_sandbox.grade('HX-grade', '2030-06-01') IN ('A', 'B', 'C', 'D'),
          'grading: the extreme weights and boundaries that were accepted still grade');
CALL pg_temp.default_weights();

-- ================================================================== titles
CALL pg_temp.add_operator('HX-title');
-- terms that fold alike only when they should: precomposed and decomposed accents, a
-- 4-byte character, a Greek letter with two lower-case forms
INSERT INTO credit_sandbox.prohibited_terms (term) VALUES (E'iv\u00f3ry'), (E'ivo\u0301ry'), (E'\U0001F52B'), (E'\u03c3\u03b1');
CREATE FUNCTION pg_temp.random_title(pieces int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(pg_temp.pick(ARRAY[
        'ivo', 'ry', 'IVORY', 'ivory', 'Ivory', 'replica', ' ', 'gun', 'REPLICA GUN', '象', '牙', '象牙', '仿真', '枪',
        '最', '佳', '最佳', '第一', '顶级', 'best in the world', 'BEST IN THE WORLD', 'No.1', 'NO.1',
        E'\u0301', E'\u00f3', E'\u200b', E'\u200d', E'\u202e', E'\u202c', E'\u0627\u0644\u0639\u0631\u0628\u064a\u0629',
        E'\u05e2\u05d1\u05e8\u05d9\u05ea', E'\U0001F600', E'\U0001F52B', E'\u0130', E'\u1e9e', E'\u03a3', E'\u03c2',
        E'\u03a3\u0391', E'\ufb01', E'\uff29\uff36', E'\u212b', E'\u01c5', E'\u00df', E'\u3000', E'\u9fff', E'\ufeff',
        '\ud83d\ude00', '\u0000', E'\x01', E'\x7f', E'\t', E'\n', '"', '\', '%', '''']), '')
      FROM generate_series(1, pieces) $$;
-- 400 titles in one statement (the statement driver), 200 one by one (the row driver)
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
SELECT 'HX-title', '2030-06-01 12:00+08', 'HX-t-' || g, pg_temp.random_title(1 + floor(random() * 30)::int), 10
  FROM generate_series(1, 400) g;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('row'); END $$;
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
SELECT 'HX-title', '2030-06-01 12:00+08', 'HX-t-' || g, pg_temp.random_title(1 + floor(random() * 30)::int), 10
  FROM generate_series(401, 600) g;
DO $$ BEGIN PERFORM credit_sandbox.set_driver('statement'); END $$;
-- a title of about 1 MB of random ideographs, with "IVORY" at a random place and 最佳 at the end
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
SELECT 'HX-title', '2030-06-01 12:00+08', 'HX-t-huge', left(s, cut) || 'IVORY' || substr(s, cut + 1) || '最佳', 10
  FROM (SELECT string_agg(chr(19968 + floor(random() * 20000)::int), '') AS s,
               floor(random() * 340000)::int AS cut
          FROM generate_series(1, 340000)) x;
SELECT cmp_ok((SELECT octet_length(item_title) FROM credit_sandbox.transactions WHERE item_id = 'HX-t-huge'),
              '>', 1000000, 'titles: the huge title is over 1 MB and stored');
SELECT ok((SELECT evidence -> 'terms' ? 'ivory' FROM credit_sandbox.warnings WHERE subject_key = 'HX-t-huge' AND code = 'RL03')
          AND (SELECT evidence -> 'terms' ? '最佳' FROM credit_sandbox.warnings WHERE subject_key = 'HX-t-huge' AND code = 'RL06'),
          'titles: in the huge title, IVORY hits RL03 and 最佳 at its very end hits RL06');
-- the oracle: a term is found iff lower(term) is a substring of lower(title), as written, in term order
CREATE TEMP TABLE title_check AS
SELECT t.item_id, t.item_title,
       (SELECT coalesce(jsonb_agg(p.term ORDER BY p.term), '[]') FROM credit_sandbox.prohibited_terms p
         WHERE strpos(lower(t.item_title), lower(p.term)) > 0) AS rl03_expected,
       coalesce((SELECT w.evidence -> 'terms' FROM credit_sandbox.warnings w
                  WHERE w.operator_id = 'HX-title' AND w.code = 'RL03' AND w.subject_key = t.item_id), '[]') AS rl03,
       (SELECT coalesce(jsonb_agg(a.term ORDER BY a.term), '[]') FROM credit_sandbox.absolute_terms a
         WHERE strpos(lower(t.item_title), lower(a.term)) > 0) AS rl06_expected,
       coalesce((SELECT w.evidence -> 'terms' FROM credit_sandbox.warnings w
                  WHERE w.operator_id = 'HX-title' AND w.code = 'RL06' AND w.subject_key = t.item_id), '[]') AS rl06
  FROM credit_sandbox.transactions t WHERE t.operator_id = 'HX-title';
SELECT is((SELECT count(*) FROM title_check), 601::bigint, 'titles: all 601 odd titles were stored');
SELECT is((SELECT string_agg(format('%s %L: RL03 %s, expected %s', item_id, left(item_title, 80), rl03, rl03_expected), E'\n')
             FROM title_check WHERE rl03 <> rl03_expected), NULL,
          'titles: RL03 finds exactly the prohibited terms lower() finds, in every random title');
SELECT is((SELECT string_agg(format('%s %L: RL06 %s, expected %s', item_id, left(item_title, 80), rl06, rl06_expected), E'\n')
             FROM title_check WHERE rl06 <> rl06_expected), NULL,
          'titles: RL06 finds exactly the absolute terms lower() finds, in every random title');
SELECT cmp_ok((SELECT count(*) FROM title_check WHERE rl03 <> '[]'), '>', 50::bigint,
              'titles: the random titles did hit RL03 (the comparison is not vacuous)');
-- combining marks are not folded away: a decomposed ó is not the precomposed one
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)
VALUES ('HX-title', '2030-06-01', 'HX-t-nfd', E'IVO\u0301RY bracelet', 10);
SELECT is((SELECT evidence -> 'terms' FROM credit_sandbox.warnings WHERE subject_key = 'HX-t-nfd' AND code = 'RL03'),
          jsonb_build_array(E'ivo\u0301ry'), 'titles: IVÓRY with a combining accent matches only the decomposed term');
-- what cannot be text is refused before it reaches the table
SELECT is(pg_temp.attempt('bad text ' || s, s), e, 'titles: ' || d || ' -> ' || e)
  FROM (VALUES ('INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)'
                ' VALUES (''HX-title'', ''2030-06-01'', ''HX-t-bad'', convert_from(''\xe8b1ff''::bytea, ''UTF8''), 1)',
                '22021', 'invalid UTF-8 bytes'),
               ('INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)'
                ' VALUES (''HX-title'', ''2030-06-01'', ''HX-t-bad'', ''a'' || chr(0) || ''b'', 1)',
                '54000', 'a NUL character'),
               ('INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, item_title, unit_price)'
                ' VALUES (''HX-title'', ''2030-06-01'', ''HX-t-bad'', U&''\D83D'', 1)',
                '42601', 'a lone surrogate')) t(s, e, d);
SELECT is((SELECT count(*) FROM credit_sandbox.transactions WHERE item_id = 'HX-t-bad'), 0::bigint,
          'titles: nothing of the refused ones is stored');

-- ================================================================== NULL in every column
-- One row per column of each input table: a valid row (no value holds ', ') with that
-- column NULL (identity columns too, OVERRIDING SYSTEM VALUE).  NOT NULL columns refuse it with 23502, and
-- reference_prices with neither item nor category with 23514; every other row goes in.
CREATE TEMP TABLE null_rows (tab text, cols text, vals text);
INSERT INTO null_rows VALUES
    ('operators', 'operator_id, name, region, registered_on, licence_valid_until, permits',
     $$'HX-null-op', 'n', 'r', '2020-01-01', '2031-12-31', '{food_business}'$$),
    ('operator_lists', 'list_entry_id, operator_id, list, listed_on, removed_on',
     $$900001, 'HX-null', 'abnormal', '2030-01-01', '2030-02-01'$$),
    ('transactions', 'txn_id, operator_id, occurred_at, buyer_id, ship_to, item_id, item_title, category, quantity, unit_price, list_price',
     $$900001, 'HX-null', '2030-06-01 12:00+08', 'b', 'a', 'HX-null-i', 'ivory', 'food', 1, 10, 20$$),
    ('returns', 'return_id, txn_id, operator_id, category, delivered_at, requested_at, outcome',
     $$900001, 1, 'HX-null', 'misc', '2030-05-30', '2030-06-01', 'refused'$$),
    ('complaints', 'complaint_id, operator_id, received_at, channel, category',
     $$900001, 'HX-null', '2030-06-01', 'web', 'quality'$$),
    ('reference_prices', 'reference_price_id, item_id, category, price, valid_from, valid_to',
     $$900001, 'HX-null-i', NULL, 5, '2030-01-01', '2030-12-31'$$);
CREATE TEMP TABLE null_cases AS
SELECT r.tab, c.col, c.o, a.attnotnull,
       format('INSERT INTO credit_sandbox.%I (%s) OVERRIDING SYSTEM VALUE VALUES (%s)', r.tab, r.cols,
              (SELECT string_agg(CASE WHEN v.o = c.o THEN 'NULL' ELSE v.val END, ', ' ORDER BY v.o)
                 FROM unnest(string_to_array(r.vals, ', ')) WITH ORDINALITY v(val, o))) AS sql
  FROM null_rows r
       CROSS JOIN LATERAL unnest(string_to_array(r.cols, ', ')) WITH ORDINALITY c(col, o)
       JOIN pg_attribute a ON a.attrelid = ('credit_sandbox.' || r.tab)::regclass AND a.attname = c.col;
-- every row gets a key of its own, so that a unique key never decides the outcome
UPDATE null_cases SET sql = replace(replace(sql, '900001', (900000 + o)::text), 'HX-null-op', 'HX-null-op' || o);
SELECT is(count(pg_temp.attempt(format('null %s.%s', tab, col), sql)), 40::bigint,
          'NULL in every column: 40 columns of 6 tables tried')
  FROM null_cases;
SELECT is((SELECT string_agg(format('%s.%s -> %s', n.tab, n.col, o.state), ', ')
             FROM null_cases n JOIN outcomes o ON o.label = format('null %s.%s', n.tab, n.col)
            WHERE o.state <> CASE WHEN n.attnotnull THEN '23502'
                                  WHEN n.tab = 'reference_prices' AND n.col = 'item_id' THEN '23514'
                                  ELSE 'ok' END), NULL,
          'NULL in every column: 23502 exactly where the column is NOT NULL, 23514 for a price of nothing, else stored');
-- the stored ones were judged: the unknown operator's sales hit RL01 on one open warning
SELECT is((SELECT hits::int FROM credit_sandbox.warnings WHERE operator_id = 'HX-null' AND code = 'RL01'),
          (SELECT count(*)::int FROM credit_sandbox.transactions WHERE operator_id = 'HX-null'),
          'NULL in every column: each stored sale of the unknown operator counts on its RL01 warning');
SELECT is((SELECT count(*) FROM credit_sandbox.transactions WHERE operator_id = 'HX-null'), 6::bigint,
          'NULL in every column: the six sales with a nullable column NULL were stored');
-- the API's functions with NULL arguments: NULL back (STRICT) or a 22023
SELECT is(pg_temp.attempt('null arg ' || s, 'SELECT ' || s), e, 'NULL arguments: ' || s || ' -> ' || e)
  FROM (VALUES ('credit_sandbox.grade(NULL, NULL)', 'ok'), ('credit_sandbox.regrade(NULL)', 'ok'),
               ('credit_sandbox.escalate_overdue(NULL)', 'ok'), ('credit_sandbox.renew_sandbox(NULL)', 'ok'),
               ('credit_sandbox.admit(NULL)', 'ok'), ('credit_sandbox.legal_day(NULL)', 'ok'),
               ('credit_sandbox.draw_inspections(NULL)', '22023'),
               ('credit_sandbox.draw_inspections(''s'', NULL)', '22023'),
               ('credit_sandbox.draw_inspections(''s'', ''{"A": 1}'', NULL)', '22023'),
               ('credit_sandbox.acknowledge(NULL)', 'P0002')) t(s, e);

-- ================================================================== extreme numbers
CALL pg_temp.add_operator('HX-num');
INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES ('HX-n-ref', 10), ('HX-n-tiny', 1e-1000);
-- an earlier sale of each item at 10, for RL05
INSERT INTO credit_sandbox.transactions (operator_id, occurred_at, item_id, unit_price)
SELECT 'HX-num', '2030-05-31 12:00+08', i, 10 FROM unnest('{HX-n-ref,HX-n-lp,HX-n-tiny}'::text[]) i;
SELECT is(pg_temp.attempt(format('number %s %s', d, v), s), e, format('numbers: %s %s -> %s', d, v, e))
  FROM (VALUES ('unit_price', '1e1000', pg_temp.sale('HX-num', '''2030-06-01 12:00+08''', 'HX-n-ref', '1e1000'), 'ok'),
               ('unit_price', '-0', pg_temp.sale('HX-num', '''2030-06-01 12:01+08''', 'HX-n-ref', '-0'), 'ok'),
               ('unit_price', '1e-1000', pg_temp.sale('HX-num', '''2030-06-01 12:02+08''', 'HX-n-tiny', '1e-999'), 'ok'),
               ('unit_price', 'NaN', pg_temp.sale('HX-num', '''2030-06-01''', price => '''NaN'''), '23514'),
               ('unit_price', 'Infinity', pg_temp.sale('HX-num', '''2030-06-01''', price => '''Infinity'''), '23514'),
               ('unit_price', '-Infinity', pg_temp.sale('HX-num', '''2030-06-01''', price => '''-Infinity'''), '23514'),
               ('unit_price', '1e131071 (its RL09 arithmetic overflows)',
                pg_temp.sale('HX-num', '''2030-06-01''', 'HX-n-ref', '1e131071'), '22003'),
               ('list_price', 'Infinity', pg_temp.sale('HX-num', '''2030-06-01''', 'HX-n-lp', list_price => '''Infinity'''), '23514'),
               ('list_price', '1e1000', pg_temp.sale('HX-num', '''2030-06-01 12:00+08''', 'HX-n-lp', list_price => '1e1000'), 'ok'),
               ('quantity', '2147483647', pg_temp.sale('HX-num', '''2030-06-01''', quantity => '2147483647'), 'ok'),
               ('quantity', '2147483648', pg_temp.sale('HX-num', '''2030-06-01''', quantity => '2147483648'), '22003'),
               ('quantity', '0', pg_temp.sale('HX-num', '''2030-06-01''', quantity => '0'), '23514'),
               ('reference price', 'Infinity',
                'INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES (''HX-n-x'', ''Infinity'')', '23514'),
               ('reference price', '-0',
                'INSERT INTO credit_sandbox.reference_prices (item_id, price) VALUES (''HX-n-x'', ''-0'')', '23514'))
       t(d, v, s, e);
SELECT is((SELECT evidence ->> 'unit_price' FROM credit_sandbox.warnings WHERE subject_key = 'HX-n-ref' AND code = 'RL09'),
          '1' || repeat('0', 1000), 'numbers: a unit price of 1e1000 is judged: RL09 with the exact price in its evidence');
SELECT is((SELECT hits::int FROM credit_sandbox.warnings WHERE subject_key = 'HX-n-ref' AND code = 'RL09'), 1,
          'numbers: a price of -0 is no gouging');
SELECT is((SELECT evidence ->> 'reference_price' FROM credit_sandbox.warnings WHERE subject_key = 'HX-n-tiny' AND code = 'RL09'),
          '0.' || repeat('0', 999) || '1', 'numbers: a reference price of 1e-1000 is judged exactly');
SELECT is((SELECT length(evidence ->> 'list_price') FROM credit_sandbox.warnings WHERE subject_key = 'HX-n-lp' AND code = 'RL05'),
          1001, 'numbers: a list price of 1e1000 over an earlier 10 hits RL05, evidence exact');

-- ================================================================== extreme timestamps
-- occurred_at, requested_at, received_at at PostgreSQL's limits: infinite ones are
-- refused by their checks (23514), literals past the range by the parser (22008); the rest
-- are stored and judged, windows and deadlines that reach past the range included (they
-- end at -infinity or infinity)
SELECT is(pg_temp.attempt(format('time %s', d), s), e, format('timestamps: %s -> %s', d, e))
  FROM (VALUES ('sale at infinity', pg_temp.sale('HX-time', '''infinity'''), '23514'),
               ('sale at -infinity', pg_temp.sale('HX-time', '''-infinity'''), '23514'),
               ('sale past 294276 AD', pg_temp.sale('HX-time', '''294277-01-01 00:00+00'''), '22008'),
               ('sale at the last microsecond', pg_temp.sale('HX-time', '''294276-12-31 23:59:59.999999+00'''), 'ok'),
               ('sale at the first microsecond', pg_temp.sale('HX-time', '''4714-11-24 00:00:00+00 BC'''), 'ok'),
               ('sale in 4714 BC to an address (RL04 window)',
                pg_temp.sale('HX-time', '''4714-11-24 00:00:00+00 BC''', ship => '''a'''), 'ok'),
               ('sale in 4713 BC to an address', pg_temp.sale('HX-time', '''4713-01-01 00:00:00+00 BC''', ship => '''a'''), 'ok'),
               ('return at infinity',
                'INSERT INTO credit_sandbox.returns (operator_id, requested_at, outcome) VALUES (''HX-time'', ''infinity'', ''refused'')', '23514'),
               ('return delivered at -infinity',
                'INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome) VALUES (''HX-time'', ''-infinity'', ''2030-06-01'', ''refused'')', '23514'),
               ('return in 294276 AD (return period past the range)',
                'INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome) VALUES (''HX-time'', ''294276-12-31 23:00+00'', ''294276-12-31 23:59+00'', ''refused'')', 'ok'),
               ('return in 4713 BC',
                'INSERT INTO credit_sandbox.returns (operator_id, delivered_at, requested_at, outcome) VALUES (''HX-time'', ''4713-01-01 BC'', ''4713-01-02 BC'', ''refused'')', 'ok'),
               ('complaint at -infinity',
                'INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES (''HX-time'', ''-infinity'')', '23514'),
               ('complaint at the last microsecond',
                'INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES (''HX-time'', ''294276-12-31 23:59:59.999999+00'')', 'ok'),
               ('complaint at the first microsecond (baseline window)',
                'INSERT INTO credit_sandbox.complaints (operator_id, received_at) VALUES (''HX-time'', ''4714-11-24 00:00:00+00 BC'')', 'ok'),
               ('grade as of infinity', 'SELECT credit_sandbox.grade(''HX-grade'', ''infinity'')', '22008'),
               ('grade as of -infinity', 'SELECT credit_sandbox.grade(''HX-grade'', ''-infinity'')', '22008'),
               ('grade as of 4714 BC', 'SELECT credit_sandbox.grade(''HX-grade'', ''4714-11-24 00:00:00+00 BC'')', '22008'),
               ('regrade as of infinity', 'SELECT credit_sandbox.regrade(''infinity'')', '22008'),
               ('renew_sandbox as of -infinity', 'SELECT credit_sandbox.renew_sandbox(''-infinity'')', '22008'),
               ('escalate_overdue as of -infinity', 'SELECT credit_sandbox.escalate_overdue(''-infinity'')', 'ok'),
               ('sandbox_members_at infinity', 'SELECT credit_sandbox.sandbox_members_at(''infinity'')', 'ok')) t(d, s, e);
SELECT is((SELECT jsonb_agg(evidence ->> 'sale_date' ORDER BY occurred_at) FROM credit_sandbox.warnings
            WHERE operator_id = 'HX-time' AND code = 'RL01' AND status = 'open'),
          '["294277-01-01"]'::jsonb,
          'timestamps: the stored sales are judged: RL01 opened on the first one''s legal day, 294277-01-01 in Shanghai');
SELECT is((SELECT hits::int FROM credit_sandbox.warnings WHERE operator_id = 'HX-time' AND code = 'RL01'), 4,
          'timestamps: ... and counts the four stored sales');
SELECT is((SELECT max(last_hit_at) FROM credit_sandbox.warnings WHERE operator_id = 'HX-time' AND code = 'RL01'),
          '294276-12-31 23:59:59.999999+00'::timestamptz, 'timestamps: ... the last at the last microsecond');
SELECT is(ARRAY[credit_sandbox.legal_day('infinity'), credit_sandbox.legal_day('-infinity'),
                credit_sandbox.legal_day('294276-12-31 23:59:59.999999+00')],
          ARRAY['infinity', '-infinity', '294277-01-01']::date[],
          'timestamps: legal_day of infinity is infinity (it was a day in 294277), and past the last UTC day in Shanghai');

-- ================================================================== the backend survived
SELECT is((SELECT string_agg(label || ' -> ' || state || ' ' || coalesce(message, ''), E'\n' ORDER BY n)
             FROM outcomes WHERE state !~ '^(ok|22|23|42|54)' AND state <> 'P0002'), NULL,
          'every refusal has a SQLSTATE a user can act on (22, 23, 42, 54, P0002): no internal error');
SELECT is((SELECT count(*) FROM outcomes WHERE state <> 'ok' AND coalesce(message, '') = ''), 0::bigint,
          'every refusal has a message');
SELECT is(pg_backend_pid(), (SELECT pid FROM hostile_start), 'the same backend ran every attempt');
SELECT is(pg_postmaster_start_time(), (SELECT started FROM hostile_start), 'the server did not restart');

SELECT * FROM finish();
ROLLBACK;
