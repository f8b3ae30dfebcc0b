-- Lots and consumptions are never deleted (X1), on PostgreSQL (installed by credits migration
-- 0009; the SQLite twin is lots_and_consumptions_kept.sqlite.sql).
--
-- Why: the links a debit writes (organisation, client, lot, consumption) have no foreign-key
-- constraint in the database: the deferred checks were a sixth of the server's work per debit.
-- In their place the rows the ledger points at are kept, as ledger entries are
-- (ledger_entries_immutable.postgresql.sql), and `ledger_check` (credits/audit.py) proves that
-- every link points at a row of the same organisation.
CREATE FUNCTION credits_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lots and consumptions are never deleted: the ledger points at them';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_lot_kept BEFORE DELETE ON credits_lot
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_delete();
CREATE TRIGGER credits_consumption_kept BEFORE DELETE ON credits_consumption
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_delete();
