-- The pool's rate_card_version changes with every change of the organisation's rate card, on
-- SQLite (installed by credits migration 0019; see rate_card_version.postgresql.sql for why).
--
-- SQLite has no sequence that outlives a rollback: the new version is a random 63-bit number
-- (never negative), which a rolled-back change cannot hand out again but by a 1-in-2^63
-- chance. NOTE: Django rebuilds a SQLite table for most column changes. A migration that
-- rebuilds credits_creditpool, credits_billableaction, credits_actionprice or credits_smsrate
-- must drop these triggers before and create them after (migration 0019's
-- drop_rate_card_triggers / create_rate_card_triggers; credits.sql.drop_sqlite_triggers).
CREATE TRIGGER IF NOT EXISTS credits_billableaction_rate_card_insert
    AFTER INSERT ON credits_billableaction
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id = NEW.organisation_id;
END;
CREATE TRIGGER IF NOT EXISTS credits_billableaction_rate_card_update
    AFTER UPDATE ON credits_billableaction
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id IN (OLD.organisation_id, NEW.organisation_id);
END;
CREATE TRIGGER IF NOT EXISTS credits_billableaction_rate_card_delete
    AFTER DELETE ON credits_billableaction
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id = OLD.organisation_id;
END;
CREATE TRIGGER IF NOT EXISTS credits_smsrate_rate_card_insert
    AFTER INSERT ON credits_smsrate
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id = NEW.organisation_id;
END;
CREATE TRIGGER IF NOT EXISTS credits_smsrate_rate_card_update
    AFTER UPDATE ON credits_smsrate
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id IN (OLD.organisation_id, NEW.organisation_id);
END;
CREATE TRIGGER IF NOT EXISTS credits_smsrate_rate_card_delete
    AFTER DELETE ON credits_smsrate
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id = OLD.organisation_id;
END;
CREATE TRIGGER IF NOT EXISTS credits_actionprice_rate_card_insert
    AFTER INSERT ON credits_actionprice
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id IN (
            SELECT organisation_id FROM credits_billableaction WHERE id = NEW.action_id);
END;
CREATE TRIGGER IF NOT EXISTS credits_actionprice_rate_card_update
    AFTER UPDATE ON credits_actionprice
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id IN (
            SELECT organisation_id FROM credits_billableaction
            WHERE id IN (OLD.action_id, NEW.action_id));
END;
CREATE TRIGGER IF NOT EXISTS credits_actionprice_rate_card_delete
    AFTER DELETE ON credits_actionprice
BEGIN
    UPDATE credits_creditpool SET rate_card_version = (random() & 9223372036854775807)
        WHERE organisation_id IN (
            SELECT organisation_id FROM credits_billableaction WHERE id = OLD.action_id);
END;
