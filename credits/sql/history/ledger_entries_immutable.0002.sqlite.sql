-- HISTORY, do not edit: the version credits migration 0002 installs (the newest is
-- ledger_entries_immutable.sqlite.sql, the same rule written with IF NOT EXISTS).
--
-- Ledger entries are never updated or deleted (X1), on SQLite: the database refuses it,
-- whatever the code above it does. Corrections are new entries.
CREATE TRIGGER credits_ledgerentry_no_update BEFORE UPDATE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: write a correcting entry instead'); END;
CREATE TRIGGER credits_ledgerentry_no_delete BEFORE DELETE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: write a correcting entry instead'); END;
