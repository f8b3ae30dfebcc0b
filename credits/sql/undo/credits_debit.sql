-- Removes what credits_debit.sql creates (the reverse of credits migration 0019).
DROP FUNCTION IF EXISTS credits_debit(bigint, bigint, bigint, varchar, varchar, jsonb, integer, varchar, varchar, timestamptz, timestamptz, bigint, bigint);
