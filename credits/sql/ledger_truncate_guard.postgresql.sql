-- The ledger's tables refuse TRUNCATE, on PostgreSQL (installed by credits migration 0021).
--
-- Why: their rows are immutable (ledger entries) or written only by `credits` together with
-- the entries that add up to them (lots, consumptions, holds, pools, accounts, assignments).
-- The row triggers of ledger_entries_immutable.postgresql.sql and
-- lots_and_consumptions_kept.postgresql.sql refuse UPDATE and DELETE, but TRUNCATE fires
-- no row trigger: one statement emptied the ledger. A statement trigger refuses it, for the
-- table named and for every table a `TRUNCATE … CASCADE` of another table reaches.
--
-- SQLite has no TRUNCATE (its `DELETE FROM t` without WHERE runs the row triggers that refuse
-- DELETE), so there is no SQLite twin.
--
-- The test run empties tables with TRUNCATE (Django's flush after transactional tests): it
-- runs that statement with `session_replication_role = replica`, which fires no ordinary
-- trigger and which only a superuser may set, never the application's role (see
-- tests/conftest.py and `manage.py grant_app_role`).
CREATE OR REPLACE FUNCTION credits_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the credit ledger is never truncated (table %): its rows are kept', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER credits_ledgerentry_no_truncate BEFORE TRUNCATE ON credits_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_lot_no_truncate BEFORE TRUNCATE ON credits_lot
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_consumption_no_truncate BEFORE TRUNCATE ON credits_consumption
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_hold_no_truncate BEFORE TRUNCATE ON credits_hold
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_creditpool_no_truncate BEFORE TRUNCATE ON credits_creditpool
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_clientaccount_no_truncate BEFORE TRUNCATE ON credits_clientaccount
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
CREATE TRIGGER credits_assignment_no_truncate BEFORE TRUNCATE ON credits_assignment
    FOR EACH STATEMENT EXECUTE FUNCTION credits_refuse_truncate();
