-- A billable action that was consumed keeps its row, its code and its organisation, on SQLite
-- (installed by credits migration 0020; the PostgreSQL twin, with the reasons, is
-- billable_action_kept.postgresql.sql). RAISE(ABORT) reaches Django as an IntegrityError.
-- Django's rebuild of credits_billableaction for a column change drops these triggers: a
-- migration that rebuilds it must create them again (credits.sql.create_sqlite_triggers).

CREATE TRIGGER IF NOT EXISTS credits_billableaction_kept BEFORE DELETE ON credits_billableaction
    WHEN EXISTS (
        SELECT 1 FROM credits_consumption
        WHERE organisation_id = OLD.organisation_id AND action_code = OLD.code
    )
    BEGIN SELECT RAISE(ABORT, 'a billable action that was consumed is never deleted nor given another code or organisation (its consumptions name it): deactivate it instead'); END;
CREATE TRIGGER IF NOT EXISTS credits_billableaction_code_kept
    BEFORE UPDATE OF code, organisation_id ON credits_billableaction
    WHEN (NEW.code != OLD.code OR NEW.organisation_id != OLD.organisation_id) AND EXISTS (
        SELECT 1 FROM credits_consumption
        WHERE organisation_id = OLD.organisation_id AND action_code = OLD.code
    )
    BEGIN SELECT RAISE(ABORT, 'a billable action that was consumed is never deleted nor given another code or organisation (its consumptions name it): deactivate it instead'); END;
