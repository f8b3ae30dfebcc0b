-- Removes what policy_upper_bounds.postgresql.sql adds (the reverse of credits migration 0022).
ALTER DOMAIN credits_months DROP CONSTRAINT IF EXISTS credits_months_at_most_1200;
ALTER DOMAIN credits_days DROP CONSTRAINT IF EXISTS credits_days_at_most_365;
