-- Ledger entries are never updated or deleted (X1), on PostgreSQL (installed by credits
-- migration 0002; the SQLite twin is ledger_entries_immutable.sqlite.sql).
--
-- Why: the ledger is the history every balance adds up from; the database refuses to change it,
-- whatever the code above it does. A correction is a new entry. (TRUNCATE fires no row trigger:
-- ledger_truncate_guard.postgresql.sql refuses it.)
CREATE FUNCTION credits_refuse_entry_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable: write a correcting entry instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_ledgerentry_immutable
    BEFORE UPDATE OR DELETE ON credits_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_entry_change();
