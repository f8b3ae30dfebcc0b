-- Lots and consumptions are never deleted (X1), on SQLite (installed by credits migrations 0009
-- and 0011; see lots_and_consumptions_kept.postgresql.sql for why).
--
-- NOTE: Django rebuilds a SQLite table for most column changes, and the rebuild drops the
-- table's triggers silently: a migration that rebuilds credits_lot or credits_consumption must
-- create these again afterwards (credits.sql.create_sqlite_triggers).
CREATE TRIGGER IF NOT EXISTS credits_lot_kept BEFORE DELETE ON credits_lot
        BEGIN SELECT RAISE(ABORT, 'lots and consumptions are never deleted: the ledger points at them'); END;
CREATE TRIGGER IF NOT EXISTS credits_consumption_kept
        BEFORE DELETE ON credits_consumption
        BEGIN SELECT RAISE(ABORT, 'lots and consumptions are never deleted: the ledger points at them'); END;
