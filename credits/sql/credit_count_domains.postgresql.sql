-- Credit counts are never negative by their column's type, on PostgreSQL (installed by credits
-- migration 0011; the fields are credits/models/fields.py's CreditCountField and
-- PositiveCreditCountField, which write a column CHECK on other databases).
--
-- Why a domain rather than a table CHECK: PostgreSQL reads every table CHECK back from its
-- stored text and plans it again on each statement that writes the table. On the five tables a
-- debit writes, that was a quarter of the server's instructions per debit (callgrind). A
-- domain's CHECK is compiled once per session and runs only for the columns a statement
-- assigns. The rules that join several columns stay table CHECKs.
CREATE DOMAIN credits_count AS bigint
    CONSTRAINT credits_count_not_negative CHECK (VALUE >= 0);
CREATE DOMAIN credits_positive AS bigint
    CONSTRAINT credits_positive_above_zero CHECK (VALUE > 0);
