-- Removes what history/credits_debit_from_lots.0008.sql creates (the reverse of credits
-- migration 0008; migration 0012 runs it before it installs the new signature).
DROP FUNCTION IF EXISTS credits_debit_from_lots(
    bigint, bigint, bigint, varchar, varchar, jsonb, integer, varchar, timestamptz, bigint,
    bigint, bigint, bigint, bigint, timestamptz);
