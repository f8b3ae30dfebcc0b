-- Removes what consumption_figures_fixed.postgresql.sql creates (the reverse of credits
-- migration 0021).
DROP TRIGGER IF EXISTS credits_consumption_figures_fixed ON credits_consumption;
DROP FUNCTION IF EXISTS credits_refuse_consumption_change();
