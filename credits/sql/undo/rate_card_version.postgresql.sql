-- Removes what rate_card_version.postgresql.sql creates (the reverse of credits migration
-- 0019).
DROP TRIGGER IF EXISTS credits_billableaction_rate_card_version ON credits_billableaction;
DROP TRIGGER IF EXISTS credits_smsrate_rate_card_version ON credits_smsrate;
DROP TRIGGER IF EXISTS credits_actionprice_rate_card_version ON credits_actionprice;
DROP FUNCTION IF EXISTS credits_rate_card_changed();
DROP FUNCTION IF EXISTS credits_action_price_changed();
DROP SEQUENCE IF EXISTS credits_rate_card_version;
