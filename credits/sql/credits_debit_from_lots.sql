-- credits_debit_from_lots: credits_debit's general path on PostgreSQL, when the lots disagree
-- with the pool's figures (installed by credits migration 0012, replacing 0008's version,
-- history/credits_debit_from_lots.0008.sql). Called only by credits_debit (credits_debit.sql).
--
-- It takes the lots in their spending order, writes the consumption and one entry per lot it
-- draws from, like the Python path's `_take_from_lots` (the Python twins are listed in
-- credits_debit.sql). Why this version takes `p_counted` and `p_limit_kind`: a client without
-- a limit counts nothing (`used` exists for the spending limit, D4, S5), so the entry records
-- what the client's counter moved by, and a debit that changes neither its assigned credits
-- nor its counter leaves the client's account row alone (one UPDATE fewer per debit).
CREATE OR REPLACE FUNCTION credits_debit_from_lots(
    p_organisation bigint,
    p_client bigint,
    p_credits bigint,
    p_action varchar,
    p_description varchar,
    p_params jsonb,
    p_actor integer,
    p_key varchar,
    p_now timestamptz,
    p_from_assigned bigint,
    p_from_pool bigint,
    p_counted bigint,
    p_balance bigint,
    p_used_before bigint,
    p_used bigint,
    p_window_start timestamptz,
    p_limit_kind varchar,
    OUT outcome text,
    OUT result_id bigint,
    OUT needed bigint,
    OUT available bigint
) LANGUAGE plpgsql AS $$
-- The rest of credits_debit when several lots pay: called by it alone, under its locks;
-- credits_debit records the idempotency key.
DECLARE
    v_balance bigint := p_balance;
    v_still_to_take bigint := p_credits;
    v_taken bigint;
    v_lot_ids bigint[] := '{}';
    v_lot_takes bigint[] := '{}';
    v_lot record;
    i integer;
BEGIN
    FOR v_lot IN
        SELECT l.id, l.remaining FROM credits_lot l
        WHERE l.organisation_id = p_organisation AND l.live
          AND (l.expires_at IS NULL OR l.expires_at > p_now)
        ORDER BY l.expires_at ASC NULLS LAST, l.created_at ASC, l.id ASC
    LOOP
        v_taken := least(v_still_to_take, v_lot.remaining);
        v_lot_ids := v_lot_ids || v_lot.id;
        v_lot_takes := v_lot_takes || v_taken;
        v_still_to_take := v_still_to_take - v_taken;
        EXIT WHEN v_still_to_take = 0;
    END LOOP;
    IF v_still_to_take > 0 THEN
        -- The pool's figures said the credits were there and the lots disagree: refuse
        -- rather than write a ledger that does not add up (ledger_check names the drift).
        outcome := 'lots_short';
        needed := p_credits;
        available := p_credits - v_still_to_take;
        RETURN;
    END IF;

    IF p_used <> p_used_before THEN
        INSERT INTO credits_ledgerentry (
            organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
            balance_after, client_id, actor_id, reference, idempotency_key, created_at)
        VALUES (
            p_organisation, 'limit_reset', 0, 0, 0, p_used - p_used_before,
            v_balance, p_client, p_actor, '', p_key, p_now);
    END IF;

    INSERT INTO credits_consumption (
        organisation_id, client_id, action_code, description, params, credits,
        from_assigned, from_pool, actor_id, created_at)
    VALUES (
        p_organisation, p_client, p_action, p_description, p_params, p_credits,
        p_from_assigned, p_from_pool, p_actor, p_now)
    RETURNING id INTO result_id;

    FOR i IN 1 .. array_length(v_lot_ids, 1) LOOP
        UPDATE credits_lot SET remaining = remaining - v_lot_takes[i] WHERE id = v_lot_ids[i];
        v_balance := v_balance - v_lot_takes[i];
        -- The first entry carries the operation's effect on the figures; the others only
        -- say which lot paid how much.
        INSERT INTO credits_ledgerentry (
            organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
            balance_after, lot_id, client_id, consumption_id, actor_id, reference,
            idempotency_key, created_at)
        VALUES (
            p_organisation, 'debit', -v_lot_takes[i], 0,
            CASE WHEN i = 1 THEN -p_from_assigned ELSE 0 END,
            CASE WHEN i = 1 THEN p_counted ELSE 0 END,
            v_balance, v_lot_ids[i], p_client, result_id, p_actor, '', p_key, p_now);
    END LOOP;

    UPDATE credits_creditpool
        SET balance = balance - p_credits,
            assigned = assigned - p_from_assigned,
            last_activity_at = p_now
        WHERE organisation_id = p_organisation;
    IF p_from_assigned > 0 OR p_limit_kind <> 'none' THEN
        UPDATE credits_clientaccount
            SET assigned_remaining = assigned_remaining - p_from_assigned,
                used = p_used + p_counted,
                window_start = p_window_start
            WHERE client_id = p_client;
    END IF;
    outcome := 'debited';
END;
$$;
