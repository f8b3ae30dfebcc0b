-- Removes what ledger_truncate_guard.postgresql.sql creates (the reverse of credits migration
-- 0021).
DROP TRIGGER IF EXISTS credits_ledgerentry_no_truncate ON credits_ledgerentry;
DROP TRIGGER IF EXISTS credits_lot_no_truncate ON credits_lot;
DROP TRIGGER IF EXISTS credits_consumption_no_truncate ON credits_consumption;
DROP TRIGGER IF EXISTS credits_hold_no_truncate ON credits_hold;
DROP TRIGGER IF EXISTS credits_creditpool_no_truncate ON credits_creditpool;
DROP TRIGGER IF EXISTS credits_clientaccount_no_truncate ON credits_clientaccount;
DROP TRIGGER IF EXISTS credits_assignment_no_truncate ON credits_assignment;
DROP FUNCTION IF EXISTS credits_refuse_truncate();
