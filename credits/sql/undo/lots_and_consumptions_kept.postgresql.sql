-- Removes what lots_and_consumptions_kept.postgresql.sql creates (the reverse of credits
-- migration 0009).
DROP TRIGGER IF EXISTS credits_lot_kept ON credits_lot;
DROP TRIGGER IF EXISTS credits_consumption_kept ON credits_consumption;
DROP FUNCTION IF EXISTS credits_refuse_delete();
