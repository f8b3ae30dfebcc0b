-- A billable action that was consumed keeps its row, its code and its organisation, on
-- PostgreSQL (installed by credits migration 0020; the SQLite twin is
-- billable_action_kept.sqlite.sql).
--
-- Why: consumptions name their action by code within its organisation, not by a foreign key
-- (a constraint per debit cost a sixth of the server's work, see credits.models.Consumption).
-- Deleted or renamed, the action would leave its consumptions and usage naming nothing, and a
-- renamed one could then be deleted. The admin refuses both first, with the reason
-- (credits/admin/ratecard.py); this is the last line of defence. restrict_violation
-- (SQLSTATE 23001) reaches Django as an IntegrityError.

CREATE FUNCTION credits_billableaction_refuse_delete() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND NEW.code = OLD.code AND NEW.organisation_id = OLD.organisation_id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (
        SELECT 1 FROM credits_consumption
        WHERE organisation_id = OLD.organisation_id AND action_code = OLD.code
    ) THEN
        RAISE EXCEPTION 'a billable action that was consumed is never deleted nor given another code or organisation (its consumptions name it): deactivate it instead' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_billableaction_kept
    BEFORE DELETE OR UPDATE OF code, organisation_id ON credits_billableaction
    FOR EACH ROW EXECUTE FUNCTION credits_billableaction_refuse_delete();
