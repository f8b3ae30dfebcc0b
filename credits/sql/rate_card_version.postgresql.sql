-- The pool's rate_card_version changes with every change of the organisation's rate card:
-- its billable actions, their prices by parameters, its SMS rates (installed by credits
-- migration 0019; SQLite: rate_card_version.sqlite.sql).
--
-- Why: each process caches rate cards (credits/ratecards.py) and passes the version it
-- priced at to credits_debit, which compares it with the pool row it locks anyway; a
-- mismatch answers 'repriced'. So the cache is exact across processes at no extra round trip.
--
-- The new version comes from a sequence, never from "version + 1": a sequence never hands out
-- a value twice, even when the transaction that took it rolls back. A process that read a rate
-- card inside a transaction that changed it and then rolled back may keep that card cached
-- under the version the rollback undid; with "+ 1" a later change could bring the pool back to
-- that same number with other prices, and the stale card would match.
CREATE SEQUENCE credits_rate_card_version;

CREATE FUNCTION credits_rate_card_changed() RETURNS trigger LANGUAGE plpgsql AS $$
-- For the tables whose rows name their organisation (billable actions, SMS rates).
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE credits_creditpool SET rate_card_version = nextval('credits_rate_card_version')
            WHERE organisation_id = NEW.organisation_id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        UPDATE credits_creditpool SET rate_card_version = nextval('credits_rate_card_version')
            WHERE organisation_id = OLD.organisation_id;
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.organisation_id <> NEW.organisation_id THEN
            UPDATE credits_creditpool
                SET rate_card_version = nextval('credits_rate_card_version')
                WHERE organisation_id = OLD.organisation_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION credits_action_price_changed() RETURNS trigger LANGUAGE plpgsql AS $$
-- A price by parameters names its action; the action names the organisation.
DECLARE
    v_actions bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_actions := ARRAY[NEW.action_id];
    ELSIF TG_OP = 'DELETE' THEN
        v_actions := ARRAY[OLD.action_id];
    ELSE
        v_actions := ARRAY[OLD.action_id, NEW.action_id];
    END IF;
    UPDATE credits_creditpool SET rate_card_version = nextval('credits_rate_card_version')
        WHERE organisation_id IN (
            SELECT a.organisation_id FROM credits_billableaction a WHERE a.id = ANY (v_actions));
    RETURN NULL;
END;
$$;

CREATE TRIGGER credits_billableaction_rate_card_version
    AFTER INSERT OR UPDATE OR DELETE ON credits_billableaction
    FOR EACH ROW EXECUTE FUNCTION credits_rate_card_changed();
CREATE TRIGGER credits_smsrate_rate_card_version
    AFTER INSERT OR UPDATE OR DELETE ON credits_smsrate
    FOR EACH ROW EXECUTE FUNCTION credits_rate_card_changed();
CREATE TRIGGER credits_actionprice_rate_card_version
    AFTER INSERT OR UPDATE OR DELETE ON credits_actionprice
    FOR EACH ROW EXECUTE FUNCTION credits_action_price_changed();
