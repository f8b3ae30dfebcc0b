-- HISTORY, do not edit: the first version of credits_debit, which credits migration 0008
-- installs (and 0012's reverse installs again). Replaced by history/credits_debit.0012.sql; the
-- newest version is credits_debit.sql.
--
-- Why a debit in one statement on PostgreSQL: a debit through the ORM is ten round trips, and
-- the pool lock is held across all of them, so one busy organisation could not pass ~160 debits
-- a second. Inside the server the lock is held only while the function runs. The rules are the
-- Python path's; a differential test (tests/credits/test_debit_in_database.py) runs both on the
-- same histories and compares every row they write. The function never writes anything when it
-- refuses; when expiry is due it answers `expiry_due` and the Python path does the whole debit.
CREATE OR REPLACE FUNCTION credits_debit(
    p_organisation bigint,
    p_client bigint,
    p_credits bigint,
    p_action varchar,
    p_description varchar,
    p_params jsonb,
    p_actor integer,
    p_key varchar,
    p_fingerprint varchar,
    p_now timestamptz,
    p_month_start timestamptz,
    OUT outcome text,
    OUT result_id bigint,
    OUT from_assigned bigint,
    OUT from_pool bigint,
    OUT needed bigint,
    OUT available bigint,
    OUT limit_credits bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_held bigint;
    v_assigned bigint;
    v_next_expiry timestamptz;
    v_expiry_kind varchar;
    v_expiry_months integer;
    v_last_activity timestamptz;
    v_assigned_remaining bigint;
    v_draws_from_pool boolean;
    v_limit_kind varchar;
    v_limit bigint;
    v_used bigint;
    v_used_before bigint;
    v_window_start timestamptz;
    v_unassigned bigint;
    v_stored_fingerprint varchar;
    v_stored_result bigint;
BEGIN
    -- The fixed lock order: the pool, then the client's account (a join locks its rows in
    -- the order of the FROM list), then lots.
    SELECT p.balance, p.held, p.assigned, p.next_expiry_at, p.expiry_kind, p.expiry_months,
           p.last_activity_at, a.assigned_remaining, a.draws_from_pool, a.limit_kind,
           a."limit", a.used, a.window_start
        INTO v_balance, v_held, v_assigned, v_next_expiry, v_expiry_kind, v_expiry_months,
             v_last_activity, v_assigned_remaining, v_draws_from_pool, v_limit_kind,
             v_limit, v_used_before, v_window_start
        FROM credits_creditpool p
        JOIN credits_clientaccount a
          ON a.client_id = p_client AND a.organisation_id = p.organisation_id
        WHERE p.organisation_id = p_organisation
        FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no credit pool for organisation % with an account for client %',
            p_organisation, p_client;
    END IF;

    IF p_key <> '' THEN
        SELECT k.fingerprint, k.result_id INTO v_stored_fingerprint, v_stored_result
            FROM credits_idempotencykey k
            WHERE k.organisation_id = p_organisation AND k.key = p_key;
        IF FOUND THEN
            outcome := CASE WHEN v_stored_fingerprint = p_fingerprint
                            THEN 'replayed' ELSE 'conflict' END;
            result_id := v_stored_result;
            RETURN;
        END IF;
    END IF;

    IF v_next_expiry <= p_now
       OR (v_expiry_kind = 'inactivity' AND v_balance > 0
           AND v_last_activity + make_interval(months => v_expiry_months) <= p_now)
    THEN
        outcome := 'expiry_due';
        RETURN;
    END IF;

    -- A monthly limit restarts at the first of the month in the organisation's zone; what
    -- active holds reserved from the pool stays counted (it will be spent in the new window).
    v_used := v_used_before;
    IF v_limit_kind = 'monthly' AND (v_window_start IS NULL OR v_window_start < p_month_start)
    THEN
        SELECT coalesce(sum(h.from_pool), 0) INTO v_used FROM credits_hold h
            WHERE h.client_id = p_client AND h.status = 'active';
        v_window_start := p_month_start;
    END IF;

    -- Assigned credits first, then the unassigned pool, within the limit; or refuse whole.
    from_assigned := least(p_credits, v_assigned_remaining);
    from_pool := p_credits - from_assigned;
    IF from_pool > 0 THEN
        v_unassigned := v_balance - v_held - v_assigned;
        IF NOT v_draws_from_pool THEN
            outcome := 'assignment_exhausted';
            needed := p_credits;
            available := v_assigned_remaining;
            RETURN;
        END IF;
        IF from_pool > v_unassigned THEN
            outcome := 'insufficient';
            needed := p_credits;
            available := v_assigned_remaining + v_unassigned;
            RETURN;
        END IF;
        IF v_limit_kind <> 'none' AND v_used + from_pool > v_limit THEN
            outcome := 'limit_exceeded';
            needed := from_pool;
            available := greatest(v_limit - v_used, 0);
            limit_credits := v_limit;
            RETURN;
        END IF;
    END IF;

    -- Decided. The first lot in spending order (soonest expiry first, never-expiring last,
    -- oldest on ties) nearly always pays for the whole debit: then every write is this one
    -- statement, and it writes nothing when that lot cannot pay alone.
    IF v_used = v_used_before THEN
        WITH lot AS (
            UPDATE credits_lot SET remaining = remaining - p_credits
            WHERE id = (
                SELECT l.id FROM credits_lot l
                WHERE l.organisation_id = p_organisation AND l.live
                  AND (l.expires_at IS NULL OR l.expires_at > p_now)
                ORDER BY l.expires_at ASC NULLS LAST, l.created_at ASC, l.id ASC
                LIMIT 1)
              AND remaining >= p_credits
            RETURNING id
        ), consumption AS (
            INSERT INTO credits_consumption (
                organisation_id, client_id, action_code, description, params, credits,
                from_assigned, from_pool, actor_id, created_at)
            SELECT p_organisation, p_client, p_action, p_description, p_params, p_credits,
                   from_assigned, from_pool, p_actor, p_now
            FROM lot
            RETURNING id
        ), pool AS (
            UPDATE credits_creditpool
                SET balance = balance - p_credits,
                    assigned = assigned - from_assigned,
                    last_activity_at = p_now
                WHERE organisation_id = p_organisation AND EXISTS (SELECT FROM lot)
        ), account AS (
            UPDATE credits_clientaccount
                SET assigned_remaining = assigned_remaining - from_assigned,
                    used = v_used + from_pool,
                    window_start = v_window_start
                WHERE client_id = p_client AND EXISTS (SELECT FROM lot)
        ), entry AS (
            INSERT INTO credits_ledgerentry (
                organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
                balance_after, lot_id, client_id, consumption_id, actor_id, reference,
                idempotency_key, created_at)
            SELECT p_organisation, 'debit', -p_credits, 0, -from_assigned, from_pool,
                   v_balance - p_credits, lot.id, p_client, consumption.id, p_actor, '',
                   p_key, p_now
            FROM lot, consumption
        )
        SELECT consumption.id INTO result_id FROM consumption;
    END IF;
    IF result_id IS NULL THEN
        -- Several lots pay, or a monthly window restarts (its entry comes first), or the
        -- lots disagree with the pool's figures: the general path.
        SELECT * INTO outcome, result_id, needed, available
            FROM credits_debit_from_lots(
                p_organisation, p_client, p_credits, p_action, p_description, p_params,
                p_actor, p_key, p_now, from_assigned, from_pool, v_balance, v_used_before,
                v_used, v_window_start);
        IF outcome <> 'debited' THEN
            RETURN;
        END IF;
    END IF;

    IF p_key <> '' THEN
        INSERT INTO credits_idempotencykey (
            organisation_id, key, operation, fingerprint, result_id, created_at)
        VALUES (p_organisation, p_key, 'debit', p_fingerprint, result_id, p_now);
    END IF;
    outcome := 'debited';
END;
$$;
