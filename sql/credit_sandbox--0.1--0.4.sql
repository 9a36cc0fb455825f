\echo Use "ALTER EXTENSION credit_sandbox UPDATE TO '0.4'" to load this file. \quit

-- credit_sandbox 0.1 -> 0.4: production readiness.  A new install runs
-- credit_sandbox--0.1.sql and then this script.
