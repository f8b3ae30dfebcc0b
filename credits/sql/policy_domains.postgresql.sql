-- The pool's expiry policy numbers are bounded by their column's type, on PostgreSQL (installed
-- by credits migration 0013; the fields are credits/models/fields.py's MonthsField and
-- DaysField). Their upper bounds come on top: policy_upper_bounds.postgresql.sql.
--
-- Why: every debit updates the pool row, and PostgreSQL plans every table CHECK of the pool
-- again on each such statement: the three policy checks (months >= 0, days >= 0, "an expiring
-- kind has months") were 6 % of the server's instructions per debit (callgrind). The months are
-- always set (12 where they were empty) and only the expiring kinds read them.
CREATE DOMAIN credits_months AS smallint
    CONSTRAINT credits_months_at_least_one CHECK (VALUE >= 1);
CREATE DOMAIN credits_days AS smallint
    CONSTRAINT credits_days_not_negative CHECK (VALUE >= 0);
