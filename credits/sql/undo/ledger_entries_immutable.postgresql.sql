-- Removes what ledger_entries_immutable.postgresql.sql creates (the reverse of credits
-- migration 0002).
DROP TRIGGER IF EXISTS credits_ledgerentry_immutable ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_refuse_entry_change();
