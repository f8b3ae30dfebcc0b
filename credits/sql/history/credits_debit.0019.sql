-- credits_debit: one debit (a consumption) in one statement, on PostgreSQL.
--
-- Installed by credits migration 0019 (replacing 0012's version, which had no quote and no
-- rate-card version). credits/services/database_debit.py calls it; the Python path in
-- credits/services/spending.py (`_debit`) applies the same rules in the same order, and the
-- differential test (tests/credits/test_debit_in_database.py) proves both write the same rows.
--
-- The order of the checks, under the pool lock:
--   1. a free action (p_credits = 0) is only recorded: no figure moves, no lock on the pool;
--   2. a rate-card version other than the pool's answers 'repriced': the caller priced with
--      a card that changed since, and prices again (first, so that a retried request is
--      compared with its first as priced now, whatever this process had cached);
--   3. an idempotency key already used answers 'replayed' (same request) or 'conflict';
--   4. a quote already claimed answers 'quote_used' (its row is locked: FOR UPDATE);
--   5. expiry due hands the debit back to Python ('expiry_due');
--   6. funding, limit and lots; then the consumption, the quote's claim and the key.
-- Every answer but 'debited' writes nothing.
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
    p_quote bigint,
    p_rate_card_version bigint,
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
    v_rate_card_version bigint;
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
    v_counted bigint;
    v_quote_consumption bigint;
BEGIN
    IF p_credits = 0 THEN
        -- A free action (C1) is recorded and moves no figure: nothing to lock but the quote
        -- it claims, and, as in Python, no idempotency key and no expiry.
        IF p_rate_card_version IS NOT NULL THEN
            SELECT p.rate_card_version INTO v_rate_card_version
                FROM credits_creditpool p WHERE p.organisation_id = p_organisation;
            IF v_rate_card_version IS DISTINCT FROM p_rate_card_version THEN
                outcome := 'repriced';
                RETURN;
            END IF;
        END IF;
        IF p_quote IS NOT NULL THEN
            SELECT q.consumption_id INTO v_quote_consumption
                FROM credits_quote q
                WHERE q.id = p_quote AND q.organisation_id = p_organisation
                FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no quote % in organisation %', p_quote, p_organisation;
            END IF;
            IF v_quote_consumption IS NOT NULL THEN
                outcome := 'quote_used';
                RETURN;
            END IF;
        END IF;
        INSERT INTO credits_consumption (
            organisation_id, client_id, action_code, description, params, credits,
            from_assigned, from_pool, actor_id, created_at)
        VALUES (
            p_organisation, p_client, p_action, p_description, p_params, 0, 0, 0, p_actor, p_now)
        RETURNING id INTO result_id;
        IF p_quote IS NOT NULL THEN
            UPDATE credits_quote SET consumption_id = result_id WHERE id = p_quote;
        END IF;
        outcome := 'debited';
        from_assigned := 0;
        from_pool := 0;
        RETURN;
    END IF;

    -- The fixed lock order: the pool, then the client's account, then the quote, then lots.
    -- Every writer of a client's account holds its organisation's pool lock (that order), so
    -- once the pool is locked the account is read by a statement of its own, which sees its
    -- latest committed version and which nobody can change before this debit commits; it is
    -- written (and so locked) only when the debit changes it.
    SELECT p.balance, p.held, p.assigned, p.next_expiry_at, p.expiry_kind, p.expiry_months,
           p.last_activity_at, p.rate_card_version
        INTO v_balance, v_held, v_assigned, v_next_expiry, v_expiry_kind, v_expiry_months,
             v_last_activity, v_rate_card_version
        FROM credits_creditpool p
        WHERE p.organisation_id = p_organisation
        FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no credit pool for organisation %', p_organisation;
    END IF;
    SELECT a.assigned_remaining, a.draws_from_pool, a.limit_kind, a."limit", a.used,
           a.window_start
        INTO v_assigned_remaining, v_draws_from_pool, v_limit_kind, v_limit, v_used_before,
             v_window_start
        FROM credits_clientaccount a
        WHERE a.client_id = p_client AND a.organisation_id = p_organisation;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no credit pool for organisation % with an account for client %',
            p_organisation, p_client;
    END IF;

    -- The caller priced with the rate card as it was at p_rate_card_version (its per-process
    -- cache); any change of the card since has set the pool's version anew (triggers,
    -- migration 0019). A stale price is never charged: the caller reads the card again.
    IF p_rate_card_version IS NOT NULL AND p_rate_card_version <> v_rate_card_version THEN
        outcome := 'repriced';
        RETURN;
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

    -- A quote is consumed once (C5). Consumers of one quote already wait for each other on
    -- the pool lock; the quote's own lock keeps any other writer of the row out as well.
    IF p_quote IS NOT NULL THEN
        SELECT q.consumption_id INTO v_quote_consumption
            FROM credits_quote q
            WHERE q.id = p_quote AND q.organisation_id = p_organisation
            FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no quote % in organisation %', p_quote, p_organisation;
        END IF;
        IF v_quote_consumption IS NOT NULL THEN
            outcome := 'quote_used';
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
    -- Only a client with a limit counts what it draws from the pool.
    v_counted := CASE WHEN v_limit_kind = 'none' THEN 0 ELSE from_pool END;

    -- Decided. The first lot in spending order (soonest expiry first, never-expiring last,
    -- oldest on ties) nearly always pays for the whole debit: then the writes are this one
    -- statement (and the client's account, when the debit changes it), and it writes
    -- nothing when that lot cannot pay alone.
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
        ), entry AS (
            INSERT INTO credits_ledgerentry (
                organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
                balance_after, lot_id, client_id, consumption_id, actor_id, reference,
                idempotency_key, created_at)
            SELECT p_organisation, 'debit', -p_credits, 0, -from_assigned, v_counted,
                   v_balance - p_credits, lot.id, p_client, consumption.id, p_actor, '',
                   p_key, p_now
            FROM lot, consumption
        )
        SELECT consumption.id INTO result_id FROM consumption;
        -- A client without a limit and without assigned credits (most debits) keeps its row.
        IF result_id IS NOT NULL AND (from_assigned > 0 OR v_limit_kind <> 'none') THEN
            UPDATE credits_clientaccount
                SET assigned_remaining = assigned_remaining - from_assigned,
                    used = v_used + v_counted,
                    window_start = v_window_start
                WHERE client_id = p_client;
        END IF;
    END IF;
    IF result_id IS NULL THEN
        -- Several lots pay, or a monthly window restarts (its entry comes first), or the
        -- lots disagree with the pool's figures: the general path (migration 0012).
        SELECT * INTO outcome, result_id, needed, available
            FROM credits_debit_from_lots(
                p_organisation, p_client, p_credits, p_action, p_description, p_params,
                p_actor, p_key, p_now, from_assigned, from_pool, v_counted, v_balance,
                v_used_before, v_used, v_window_start, v_limit_kind);
        IF outcome <> 'debited' THEN
            RETURN;
        END IF;
    END IF;

    IF p_quote IS NOT NULL THEN
        UPDATE credits_quote SET consumption_id = result_id WHERE id = p_quote;
    END IF;
    IF p_key <> '' THEN
        INSERT INTO credits_idempotencykey (
            organisation_id, key, operation, fingerprint, result_id, created_at)
        VALUES (p_organisation, p_key, 'debit', p_fingerprint, result_id, p_now);
    END IF;
    outcome := 'debited';
END;
$$;
