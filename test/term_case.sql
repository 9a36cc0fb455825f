-- term_case.sql -- pgTAP: RL03 term matching folds case as lower() does under the
-- database's default collation, for Latin (ASCII and beyond), Greek, Cyrillic,
-- fullwidth and CJK text, terms and titles in either case. The expected terms are
-- written out, so the same titles give the same warnings on every PostgreSQL major
-- the suite runs on (test/majors.sh). Operator 'TTC', 2034.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(8);

\ir lib/defaults.sql
\ir lib/helpers.sql

DELETE FROM credit_sandbox.prohibited_terms;
INSERT INTO credit_sandbox.prohibited_terms (term)
VALUES ('Ivory'), ('Ελεφαντόδοντο'), ('СЛОНОВАЯ Кость'), ('象牙'), ('ｉｖｏｒｙ'), ('Ärmel'), ('ŒUVRE');

CREATE TEMP TABLE titles (item text, title text, expected text[]);
INSERT INTO titles VALUES
    ('a', 'genuine IVORY carving', '{Ivory}'),
    ('b', 'ivorY and ελεφαντόδοντο', '{Ivory,Ελεφαντόδοντο}'),
    ('c', 'Статуэтка: слоновая КОСТЬ', '{"СЛОНОВАЯ Кость"}'),
    ('d', '正品象牙摆件 ＩＶＯＲＹ', '{象牙,ｉｖｏｒｙ}'),
    ('e', 'ÄRMEL, œuvre', '{Ärmel,ŒUVRE}'),
    -- uppercase Greek drops the accent: lower() does not put it back, nor does the match
    ('f', 'ΕΛΕΦΑΝΤΟΔΟΝΤΟ ΓΛΥΠΤΟ', '{}'),
    ('g', 'plain 摆件', '{}');

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM titles ORDER BY item LOOP
        CALL pg_temp.add_sale('TTC', '2034-01-01 10:00+08', item => t.item, title => t.title);
    END LOOP;
END $$;

-- the terms each title hit, in term order (none: no RL03 warning)
CREATE TEMP VIEW hit_terms AS
    SELECT t.item, t.title, t.expected,
           coalesce((SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(w.evidence -> 'terms') x), '{}'::text[]) AS got
      FROM titles t LEFT JOIN credit_sandbox.warnings w
        ON w.operator_id = 'TTC' AND w.code = 'RL03' AND w.subject_key = t.item;

SELECT is(got, (SELECT array_agg(x ORDER BY x) FROM unnest(expected) x), 'title ' || item || ': ' || title)
  FROM hit_terms WHERE expected <> '{}' ORDER BY item;
SELECT is(got, '{}'::text[], 'title ' || item || ' hits no term: ' || title)
  FROM hit_terms WHERE expected = '{}' ORDER BY item;
SELECT is(count(*), 0::bigint, 'every title hit exactly the terms that strpos(lower(title), lower(term)) finds')
  FROM hit_terms h
 WHERE h.got IS DISTINCT FROM
       coalesce((SELECT array_agg(p.term ORDER BY p.term) FROM credit_sandbox.prohibited_terms p
                  WHERE strpos(lower(h.title), lower(p.term)) > 0), '{}'::text[]);

SELECT * FROM finish();
ROLLBACK;
