-- A consumption's figures and owners never change, on PostgreSQL (credits migration 0021).
--
-- Why: a consumption is what a client spent; the ledger entries that point at it say which
-- lots paid how much, and `ledger_check` proves the two agree. Nothing in the code updates a
-- consumption (its only later change is the actor set to NULL when a person is deleted, which
-- this trigger lets through), so a change of its credits, their funding, its organisation,
-- client or hold is a write behind the services' back: refused here, and named by
-- ledger_check (credits/audit.py) if the trigger was disabled by its owner.
-- The SQLite twin: consumption_figures_fixed.sqlite.sql.
CREATE OR REPLACE FUNCTION credits_refuse_consumption_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consumption % is immutable: its credits, funding, organisation, client and hold never change', OLD.id;
END;
$$;

CREATE TRIGGER credits_consumption_figures_fixed
    BEFORE UPDATE OF credits, from_assigned, from_pool, organisation_id, client_id, hold_id
    ON credits_consumption
    FOR EACH ROW
    WHEN (OLD.credits IS DISTINCT FROM NEW.credits
          OR OLD.from_assigned IS DISTINCT FROM NEW.from_assigned
          OR OLD.from_pool IS DISTINCT FROM NEW.from_pool
          OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id
          OR OLD.client_id IS DISTINCT FROM NEW.client_id
          OR OLD.hold_id IS DISTINCT FROM NEW.hold_id)
    EXECUTE FUNCTION credits_refuse_consumption_change();
