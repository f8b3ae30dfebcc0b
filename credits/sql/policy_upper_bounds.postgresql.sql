-- The expiry policy's numbers are bounded from above too, on PostgreSQL (installed by credits
-- migration 0022 on the domains of policy_domains.postgresql.sql; SQLite gets the same bounds
-- as column CHECKs written by credits/models/fields.py, and credits/bounds.py holds the numbers).
--
-- Why: no row may hold a policy after which every grant fails (SQLite accepted 120000 months;
-- every later expiry date was past the year 9999). At most 1200 months of expiry, at most 365
-- days of reminder lead time. Migration 0022 first brings rows past a bound to it (its
-- MAX_MONTHS and MAX_DAYS, which tests/credits/test_sql_files.py compares with these numbers).
ALTER DOMAIN credits_months
    ADD CONSTRAINT credits_months_at_most_1200 CHECK (VALUE <= 1200);
ALTER DOMAIN credits_days
    ADD CONSTRAINT credits_days_at_most_365 CHECK (VALUE <= 365);
