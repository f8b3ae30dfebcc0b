-- Removes what history/credits_debit.0008.sql creates (the reverse of credits migration 0008).
DROP FUNCTION IF EXISTS credits_debit(
    bigint, bigint, bigint, varchar, varchar, jsonb, integer, varchar, varchar,
    timestamptz, timestamptz);
