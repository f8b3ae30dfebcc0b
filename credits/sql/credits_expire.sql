-- credits_expire: the expiry job's batch of organisations in one statement, on PostgreSQL.
--
-- Installed by credits migration 0025. credits/services/expiry.py (`_expire_batch`) calls it
-- with a batch of organisation ids; SQLite (the demo) runs the Python path of the same module
-- (`_expire_batch_in_python`), which applies `settle_expiry`, the rule every operation runs
-- under its pool lock. tests/credits/test_jobs_in_batches.py proves that both, and the old
-- job of one organisation at a time, leave the same rows.
--
-- Why in the database: at 100,000 organisations the Python batch spent its time building
-- model instances and SQL for about 17 rows per organisation, and the batches, sized by the
-- clock so that debits never wait long behind them, stayed at five organisations. Here an
-- organisation costs a few index reads, and every write of the batch is one statement per
-- table.
--
-- The rule, per organisation in id order (Python twin: credits/services/core/lazy_expiry.py
-- `settle_expiry` and `_expire_lot`, `_release`, `proportional_shares`):
--   1. holds past their expiry are released, in id order: the client gets back what came
--      from its assignment, its limit's use goes down by what came from the pool (only with
--      a limit: `ClientAccount.use`), and the pool's held credits go down;
--   2. the due lots (past their expiry; every live lot once the inactivity period has run
--      out: `inactivity_deadline`) lose, in spending order, what is due on them beyond the
--      credits active holds still reserve;
--   3. each lot's credits come from the unassigned credits first, then from the clients'
--      assigned credits in proportion, to the exact unit (largest remainder; ties to the
--      larger weight, then to the older client) (S8);
--   4. the pool's next expiry becomes the earliest of its live lots still ahead and its
--      active holds (`next_expiries`).
-- The fixed lock order: the batch's pools by id, then the accounts it may change by id.
-- Returns one row per organisation where something expired, for the webhook events.
CREATE OR REPLACE FUNCTION credits_expire(
    p_organisations bigint[],
    p_now timestamptz
) RETURNS TABLE (
    r_organisation bigint,
    r_holds integer,
    r_credits bigint,
    r_balance bigint,
    r_lots bigint[],
    r_lot_credits bigint[],
    r_lot_expiries timestamptz[]
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_pool record;
    v_hold record;
    v_lot record;
    v_share record;
    v_balance bigint;
    v_held bigint;
    v_assigned bigint;
    v_inactive boolean;
    v_expiring bigint;
    v_expired bigint;
    v_amount bigint;
    v_from_assigned bigint;
    v_use bigint;
    v_at integer;
    -- One organisation's locked accounts (by client id), as they were and as they are now.
    a_client bigint[];
    a_assigned bigint[];
    a_used bigint[];
    a_counts_use boolean[];
    a_assigned_before bigint[];
    a_used_before bigint[];
    -- The batch's writes, in the order the Python path writes them.
    n_entries integer := 0;
    e_organisation bigint[] := '{}';
    e_kind varchar[] := '{}';
    e_credits bigint[] := '{}';
    e_held bigint[] := '{}';
    e_assigned bigint[] := '{}';
    e_used bigint[] := '{}';
    e_balance bigint[] := '{}';
    e_lot bigint[] := '{}';
    e_client bigint[] := '{}';
    e_hold bigint[] := '{}';
    w_holds bigint[] := '{}';
    w_lot bigint[] := '{}';
    w_lot_remaining bigint[] := '{}';
    w_client bigint[] := '{}';
    w_client_assigned bigint[] := '{}';
    w_client_used bigint[] := '{}';
    w_pool bigint[] := '{}';
    w_pool_balance bigint[] := '{}';
    w_pool_held bigint[] := '{}';
    w_pool_assigned bigint[] := '{}';
    -- What this run did to each organisation, for the caller.
    o_holds integer;
    o_lots bigint[];
    o_lot_credits bigint[];
    o_lot_expiries timestamptz[];
BEGIN
    PERFORM 1 FROM credits_creditpool p
        WHERE p.organisation_id = ANY (p_organisations)
        ORDER BY p.organisation_id
        FOR UPDATE;
    -- The accounts by a union of two index reads (an OR of the two would scan the table).
    PERFORM 1 FROM credits_clientaccount a
        WHERE a.client_id IN (
            SELECT c.client_id FROM credits_clientaccount c
            WHERE c.organisation_id = ANY (p_organisations) AND c.assigned_remaining > 0
            UNION
            SELECT h.client_id FROM credits_hold h
            WHERE h.organisation_id = ANY (p_organisations)
              AND h.status = 'active' AND h.expires_at <= p_now)
        ORDER BY a.client_id
        FOR UPDATE;

    FOR v_pool IN
        SELECT p.organisation_id, p.balance, p.held, p.assigned, p.expiry_kind,
               p.expiry_months, p.last_activity_at
        FROM credits_creditpool p
        WHERE p.organisation_id = ANY (p_organisations)
        ORDER BY p.organisation_id
    LOOP
        v_balance := v_pool.balance;
        v_held := v_pool.held;
        v_assigned := v_pool.assigned;
        o_holds := 0;
        o_lots := '{}';
        o_lot_credits := '{}';
        o_lot_expiries := '{}';
        SELECT array_agg(a.client_id ORDER BY a.client_id),
               array_agg(a.assigned_remaining::bigint ORDER BY a.client_id),
               array_agg(a.used::bigint ORDER BY a.client_id),
               array_agg(a.limit_kind <> 'none' ORDER BY a.client_id)
            INTO a_client, a_assigned, a_used, a_counts_use
            FROM credits_clientaccount a
            WHERE a.organisation_id = v_pool.organisation_id
              AND (a.assigned_remaining > 0 OR a.client_id IN (
                  SELECT h.client_id FROM credits_hold h
                  WHERE h.organisation_id = v_pool.organisation_id
                    AND h.status = 'active' AND h.expires_at <= p_now));
        a_client := COALESCE(a_client, '{}');
        a_assigned_before := a_assigned;
        a_used_before := a_used;

        -- 1. Holds past their expiry.
        FOR v_hold IN
            SELECT h.id, h.client_id, h.credits, h.from_assigned, h.from_pool
            FROM credits_hold h
            WHERE h.organisation_id = v_pool.organisation_id
              AND h.status = 'active' AND h.expires_at <= p_now
            ORDER BY h.id
        LOOP
            v_at := array_position(a_client, v_hold.client_id);
            v_use := CASE WHEN a_counts_use[v_at] THEN v_hold.from_pool ELSE 0 END;
            a_assigned[v_at] := a_assigned[v_at] + v_hold.from_assigned;
            a_used[v_at] := a_used[v_at] - v_use;
            v_held := v_held - v_hold.credits;
            v_assigned := v_assigned + v_hold.from_assigned;
            n_entries := n_entries + 1;
            e_organisation[n_entries] := v_pool.organisation_id;
            e_kind[n_entries] := 'hold_expiry';
            e_credits[n_entries] := 0;
            e_held[n_entries] := -v_hold.credits;
            e_assigned[n_entries] := v_hold.from_assigned;
            e_used[n_entries] := -v_use;
            e_balance[n_entries] := v_balance;
            e_lot[n_entries] := NULL;
            e_client[n_entries] := v_hold.client_id;
            e_hold[n_entries] := v_hold.id;
            w_holds := w_holds || v_hold.id;
            o_holds := o_holds + 1;
        END LOOP;

        -- 2. The due lots, in spending order. The deadline is the last activity plus the
        -- policy's months in UTC, as dateutil's relativedelta adds them to the UTC time Python
        -- reads (a day past the end of a month falls back to its last day in both).
        v_inactive := v_pool.expiry_kind = 'inactivity'
            AND v_pool.last_activity_at IS NOT NULL
            AND (v_pool.last_activity_at AT TIME ZONE 'UTC'
                 + make_interval(months => v_pool.expiry_months)) AT TIME ZONE 'UTC' <= p_now;
        SELECT GREATEST(COALESCE(SUM(l.remaining), 0) - v_held, 0) INTO v_expiring
            FROM credits_lot l
            WHERE l.organisation_id = v_pool.organisation_id AND l.live
              AND (v_inactive OR l.expires_at <= p_now);
        v_expired := 0;
        IF v_expiring > 0 THEN
            FOR v_lot IN
                SELECT l.id, l.remaining, l.expires_at
                FROM credits_lot l
                WHERE l.organisation_id = v_pool.organisation_id AND l.live
                  AND (v_inactive OR l.expires_at <= p_now)
                ORDER BY l.expires_at ASC NULLS LAST, l.created_at, l.id
            LOOP
                v_amount := LEAST(v_lot.remaining, v_expiring - v_expired);
                EXIT WHEN v_amount <= 0;
                v_expired := v_expired + v_amount;
                -- 3. Unassigned credits first, then the clients' assigned credits.
                v_from_assigned := v_amount - LEAST(v_amount, v_balance - v_held - v_assigned);
                v_balance := v_balance - v_amount;
                w_lot := w_lot || v_lot.id;
                w_lot_remaining := w_lot_remaining || (v_lot.remaining - v_amount);
                o_lots := o_lots || v_lot.id;
                o_lot_credits := o_lot_credits || v_amount;
                o_lot_expiries := o_lot_expiries || v_lot.expires_at;
                n_entries := n_entries + 1;
                e_organisation[n_entries] := v_pool.organisation_id;
                e_kind[n_entries] := 'expiry';
                e_credits[n_entries] := -v_amount;
                e_held[n_entries] := 0;
                e_assigned[n_entries] := 0;
                e_used[n_entries] := 0;
                e_balance[n_entries] := v_balance;
                e_lot[n_entries] := v_lot.id;
                e_client[n_entries] := NULL;
                e_hold[n_entries] := NULL;
                IF v_from_assigned > 0 THEN
                    IF v_from_assigned > (SELECT COALESCE(SUM(w), 0) FROM unnest(a_assigned) w
                                          WHERE w > 0) THEN
                        RAISE EXCEPTION 'organisation %: % assigned credits to expire, fewer held',
                            v_pool.organisation_id, v_from_assigned;
                    END IF;
                    FOR v_share IN
                        SELECT f.position, f.client,
                               f.floor_share + CASE
                                   WHEN row_number() OVER (
                                            ORDER BY f.remainder DESC, f.weight DESC, f.client)
                                        <= v_from_assigned - SUM(f.floor_share) OVER ()
                                   THEN 1 ELSE 0 END AS share
                        FROM (
                            SELECT w.position, w.client, w.weight,
                                   div(w.weight::numeric * v_from_assigned,
                                       SUM(w.weight) OVER ()) AS floor_share,
                                   mod(w.weight::numeric * v_from_assigned,
                                       SUM(w.weight) OVER ()) AS remainder
                            FROM unnest(a_client, a_assigned) WITH ORDINALITY
                                AS w(client, weight, position)
                            WHERE w.weight > 0
                        ) f
                        ORDER BY f.client
                    LOOP
                        CONTINUE WHEN v_share.share = 0;
                        a_assigned[v_share.position] := a_assigned[v_share.position] - v_share.share;
                        n_entries := n_entries + 1;
                        e_organisation[n_entries] := v_pool.organisation_id;
                        e_kind[n_entries] := 'expiry';
                        e_credits[n_entries] := 0;
                        e_held[n_entries] := 0;
                        e_assigned[n_entries] := -v_share.share;
                        e_used[n_entries] := 0;
                        e_balance[n_entries] := v_balance;
                        e_lot[n_entries] := v_lot.id;
                        e_client[n_entries] := v_share.client;
                        e_hold[n_entries] := NULL;
                    END LOOP;
                    v_assigned := v_assigned - v_from_assigned;
                END IF;
            END LOOP;
        END IF;

        FOR v_at IN 1 .. COALESCE(array_length(a_client, 1), 0) LOOP
            IF a_assigned[v_at] <> a_assigned_before[v_at] OR a_used[v_at] <> a_used_before[v_at]
            THEN
                w_client := w_client || a_client[v_at];
                w_client_assigned := w_client_assigned || a_assigned[v_at];
                w_client_used := w_client_used || a_used[v_at];
            END IF;
        END LOOP;
        w_pool := w_pool || v_pool.organisation_id;
        w_pool_balance := w_pool_balance || v_balance;
        w_pool_held := w_pool_held || v_held;
        w_pool_assigned := w_pool_assigned || v_assigned;
        IF o_holds > 0 OR v_expired > 0 THEN
            r_organisation := v_pool.organisation_id;
            r_holds := o_holds;
            r_credits := v_expired;
            r_balance := v_balance;
            r_lots := o_lots;
            r_lot_credits := o_lot_credits;
            r_lot_expiries := o_lot_expiries;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- The writes, one statement per table, in the order of the Python path.
    UPDATE credits_hold h SET status = 'expired', resolved_at = p_now
        WHERE h.id = ANY (w_holds);
    UPDATE credits_lot l SET remaining = v.remaining
        FROM unnest(w_lot, w_lot_remaining) AS v(id, remaining)
        WHERE l.id = v.id;
    -- 4. The next expiry, read after the lots and holds changed.
    UPDATE credits_creditpool p
        SET balance = v.balance, held = v.held, assigned = v.assigned,
            next_expiry_at = LEAST(
                (SELECT MIN(l.expires_at) FROM credits_lot l
                 WHERE l.organisation_id = p.organisation_id AND l.live
                   AND l.expires_at > p_now),
                (SELECT MIN(h.expires_at) FROM credits_hold h
                 WHERE h.organisation_id = p.organisation_id AND h.status = 'active'))
        FROM unnest(w_pool, w_pool_balance, w_pool_held, w_pool_assigned)
            AS v(organisation_id, balance, held, assigned)
        WHERE p.organisation_id = v.organisation_id;
    UPDATE credits_clientaccount a SET assigned_remaining = v.assigned, used = v.used
        FROM unnest(w_client, w_client_assigned, w_client_used) AS v(client_id, assigned, used)
        WHERE a.client_id = v.client_id;
    INSERT INTO credits_ledgerentry (
        organisation_id, kind, credits, held_delta, assigned_delta, used_delta, balance_after,
        lot_id, client_id, hold_id, consumption_id, assignment_id, actor_id, reference,
        idempotency_key, created_at)
    SELECT e.organisation_id, e.kind, e.credits, e.held_delta, e.assigned_delta, e.used_delta,
           e.balance_after, e.lot_id, e.client_id, e.hold_id, NULL, NULL, NULL, '', '', p_now
    FROM unnest(e_organisation, e_kind, e_credits, e_held, e_assigned, e_used, e_balance,
                e_lot, e_client, e_hold) WITH ORDINALITY
        AS e(organisation_id, kind, credits, held_delta, assigned_delta, used_delta,
             balance_after, lot_id, client_id, hold_id, position)
    ORDER BY e.position;
END;
$$;
