-- Removes what history/credits_debit.0012.sql creates (migration 0019 runs it before it
-- installs credits_debit.sql, whose arguments differ).
DROP FUNCTION IF EXISTS credits_debit(bigint, bigint, bigint, varchar, varchar, jsonb, integer, varchar, varchar, timestamptz, timestamptz);
