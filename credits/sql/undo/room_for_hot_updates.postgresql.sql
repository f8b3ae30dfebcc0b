-- Gives back the default fillfactor that room_for_hot_updates.postgresql.sql changed (the
-- reverse of credits migration 0010).
ALTER TABLE credits_creditpool RESET (fillfactor);
ALTER TABLE credits_clientaccount RESET (fillfactor);
ALTER TABLE credits_lot RESET (fillfactor);
