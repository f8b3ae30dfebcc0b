-- Removes what credit_count_domains.postgresql.sql creates (the reverse of credits migration
-- 0011).
DROP DOMAIN IF EXISTS credits_count; DROP DOMAIN IF EXISTS credits_positive;
