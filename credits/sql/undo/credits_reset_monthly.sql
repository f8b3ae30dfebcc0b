-- Removes what credits_reset_monthly.sql creates (the reverse of credits migration 0025).
DROP FUNCTION IF EXISTS credits_reset_monthly(bigint[], timestamptz[], timestamptz);
