-- Removes what credits_debit_from_lots.sql creates (the reverse of credits migration 0012).
DROP FUNCTION IF EXISTS credits_debit_from_lots(
    bigint, bigint, bigint, varchar, varchar, jsonb, integer, varchar, timestamptz, bigint,
    bigint, bigint, bigint, bigint, bigint, timestamptz, varchar);
