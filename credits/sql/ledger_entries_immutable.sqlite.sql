-- Ledger entries are never updated or deleted (X1), on SQLite (installed by credits migrations
-- 0006, 0009 and 0011; see ledger_entries_immutable.postgresql.sql for why; migration 0002
-- installed the first version, history/ledger_entries_immutable.0002.sqlite.sql).
--
-- NOTE: Django rebuilds a SQLite table for most column changes, and the rebuild drops the
-- table's triggers silently: a migration that rebuilds credits_ledgerentry must create these
-- again afterwards (credits.sql.create_sqlite_triggers); IF NOT EXISTS lets it run them whether
-- or not the rebuild happened.
CREATE TRIGGER IF NOT EXISTS credits_ledgerentry_no_update
        BEFORE UPDATE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: write a correcting entry instead'); END;
CREATE TRIGGER IF NOT EXISTS credits_ledgerentry_no_delete
        BEFORE DELETE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: write a correcting entry instead'); END;
