-- Removes what billable_action_kept.postgresql.sql creates (the reverse of credits migration
-- 0020).
DROP TRIGGER IF EXISTS credits_billableaction_kept ON credits_billableaction;
DROP FUNCTION IF EXISTS credits_billableaction_refuse_delete();
