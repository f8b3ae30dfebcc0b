-- A consumption's figures and owners never change, on SQLite (credits migration 0021); see
-- consumption_figures_fixed.postgresql.sql for why.
--
-- NOTE: Django rebuilds a SQLite table for most column changes, and the rebuild drops the
-- table's triggers silently. A migration that rebuilds credits_consumption must create this
-- trigger again afterwards (migration 0021's `create_consumption_triggers`), as it must the
-- DELETE trigger of lots_and_consumptions_kept.sqlite.sql (credits_consumption_kept).
CREATE TRIGGER IF NOT EXISTS credits_consumption_figures_fixed
    BEFORE UPDATE OF credits, from_assigned, from_pool, organisation_id, client_id, hold_id
    ON credits_consumption
    WHEN OLD.credits IS NOT NEW.credits
        OR OLD.from_assigned IS NOT NEW.from_assigned
        OR OLD.from_pool IS NOT NEW.from_pool
        OR OLD.organisation_id IS NOT NEW.organisation_id
        OR OLD.client_id IS NOT NEW.client_id
        OR OLD.hold_id IS NOT NEW.hold_id
BEGIN
    SELECT RAISE(ABORT, 'a consumption is immutable: its credits, funding, organisation, client and hold never change');
END;
