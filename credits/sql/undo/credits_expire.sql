-- Removes what credits_expire.sql creates (the reverse of credits migration 0025).
DROP FUNCTION IF EXISTS credits_expire(bigint[], timestamptz);
