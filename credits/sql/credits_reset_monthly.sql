-- credits_reset_monthly: a batch of the monthly job's accounts in one statement, on PostgreSQL.
--
-- Installed by credits migration 0025. credits/services/assignments.py (`_reset_batch`) calls
-- it with accounts whose monthly window looked due and, for each, the start of this month in
-- its organisation's time zone (`credits.periods.month_start`, the rule kept once in Python,
-- as for `credits_debit`'s p_month_start); SQLite (the demo) runs the Python path of the same
-- module (`_reset_batch_in_python`). tests/credits/test_jobs_in_batches.py proves that both,
-- and the old job of one account at a time, leave the same rows.
--
-- Why in the database: at 100,000 accounts the Python batch spent most of its time building
-- model instances and SQL for two rows per account; here a batch is four statements.
--
-- The rule (Python twins: credits/periods.py `monthly_window_restart` and `held_from_pool`,
-- credits/services/core/windows.py `restart_window`): a monthly window that started before
-- this month, or never, starts this month from what the client's active holds reserve from
-- the pool (they will be spent in the new window), with a `limit_reset` entry when that
-- changes the count. Under the locks the windows are read again: a debit may have restarted
-- one since the caller looked.
-- The fixed lock order: the accounts' pools by id, then the accounts by id.
-- Returns how many windows restarted.
CREATE OR REPLACE FUNCTION credits_reset_monthly(
    p_accounts bigint[],
    p_month_starts timestamptz[],
    p_now timestamptz
) RETURNS integer LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_restarted integer;
BEGIN
    PERFORM 1 FROM credits_creditpool p
        WHERE p.organisation_id IN (
            SELECT a.organisation_id FROM credits_clientaccount a
            WHERE a.client_id = ANY (p_accounts))
        ORDER BY p.organisation_id
        FOR UPDATE;
    PERFORM 1 FROM credits_clientaccount a
        WHERE a.client_id = ANY (p_accounts)
        ORDER BY a.client_id
        FOR UPDATE;
    WITH due AS (
        SELECT a.client_id, a.organisation_id, a.used::bigint AS used, d.month_start,
               COALESCE((SELECT SUM(h.from_pool) FROM credits_hold h
                         WHERE h.client_id = a.client_id AND h.status = 'active'), 0)::bigint
                   AS carried
        FROM unnest(p_accounts, p_month_starts) AS d(client_id, month_start)
        JOIN credits_clientaccount a ON a.client_id = d.client_id
        WHERE a.limit_kind = 'monthly'
          AND (a.window_start IS NULL OR a.window_start < d.month_start)
    ), entries AS (
        -- In the order the Python path writes them: by organisation, in the order of each
        -- one's first account restarted, then by account.
        INSERT INTO credits_ledgerentry (
            organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
            balance_after, lot_id, client_id, hold_id, consumption_id, assignment_id, actor_id,
            reference, idempotency_key, created_at)
        SELECT e.organisation_id, 'limit_reset', 0, 0, 0, e.carried - e.used, e.balance, NULL,
               e.client_id, NULL, NULL, NULL, NULL, '', '', p_now
        FROM (
            SELECT d.*, p.balance,
                   MIN(d.client_id) OVER (PARTITION BY d.organisation_id) AS first_account
            FROM due d JOIN credits_creditpool p ON p.organisation_id = d.organisation_id
        ) e
        WHERE e.used <> e.carried
        ORDER BY e.first_account, e.client_id
    )
    UPDATE credits_clientaccount a SET used = d.carried, window_start = d.month_start
        FROM due d
        WHERE a.client_id = d.client_id;
    GET DIAGNOSTICS v_restarted = ROW_COUNT;
    RETURN v_restarted;
END;
$$;
