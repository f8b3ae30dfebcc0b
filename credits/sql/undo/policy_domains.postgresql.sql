-- Removes what policy_domains.postgresql.sql creates (the reverse of credits migration 0013).
DROP DOMAIN IF EXISTS credits_months; DROP DOMAIN IF EXISTS credits_days;
