-- ledger_charge(): a charge (alone, against a hold, or a hold capture) in one round trip on PostgreSQL.
-- The database path of ledger.services.charges: the same steps and rules as the Python path
-- (ledger/services/charges.py, rules.py), compared row by row by tests/ledger/services/test_differential.py.
-- Claim the idempotency key, lock the funding account, read the clock after the lock, expire its due
-- lots, lock the hold, refuse what the rules and the org's spending policy refuse (SQLSTATE LD402
-- "available|excess"; LD410 the org is blocked; LD400 no such hold; LD409 the hold's state; LD404 no
-- account), draw lots soonest-expiring first, write the charge with its postings in one statement,
-- then the hold and the cached balance and held. `lock_wait` is the seconds spent acquiring the funding
-- account's row lock (clock_timestamp() around the locking SELECT), for the lock-wait metric (ops).
CREATE OR REPLACE FUNCTION ledger_charge(
    p_account uuid, p_subaccount uuid, p_organization uuid, p_currency text, p_kind text,
    p_amount numeric, p_unit_price numeric, p_quantity integer, p_traffic text,
    p_channel text, p_country text, p_category text, p_reference text, p_rate_card_version bigint,
    p_hold uuid, p_actor_user integer, p_actor_service text, p_at timestamptz,
    p_usage_account bigint, p_expired_account bigint,
    p_caller text, p_key text, p_operation text, p_fingerprint text
) RETURNS TABLE (
    status text, transaction_id bigint, balance_after numeric, held numeric, available_after numeric,
    created_at timestamptz, expired_lots integer, expired_amount numeric,
    record_operation text, record_fingerprint text, record_model text, record_id text, lock_wait double precision
) AS $$
DECLARE
    v_record bigint;
    v_balance numeric;
    v_held numeric;
    v_limit numeric;
    v_temporary numeric;
    v_temporary_until timestamptz;
    v_at timestamptz;
    v_available numeric;
    v_excess numeric;
    v_policy text;
    v_floor numeric;
    v_need numeric;
    v_take numeric;
    v_txn bigint;
    v_lot record;
    v_hold record;
    v_from_hold numeric := 0;
    v_expired_lots integer := 0;
    v_expired_amount numeric := 0;
    v_existing record;
    v_lock_started timestamptz;
    v_lock_wait double precision;
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO ledger_idempotencyrecord (caller, key, operation, fingerprint, result_model, result_id, created_at)
            VALUES (p_caller, p_key, p_operation, p_fingerprint, '', '', clock_timestamp())
            ON CONFLICT (caller, key) DO NOTHING RETURNING id INTO v_record;
        IF v_record IS NULL THEN
            SELECT r.operation, r.fingerprint, r.result_model, r.result_id INTO v_existing
                FROM ledger_idempotencyrecord r WHERE r.caller = p_caller AND r.key = p_key;
            RETURN QUERY SELECT 'exists'::text, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric,
                NULL::timestamptz, 0, 0::numeric, v_existing.operation::text, v_existing.fingerprint::text,
                v_existing.result_model::text, v_existing.result_id::text, NULL::double precision;
            RETURN;
        END IF;
    END IF;

    v_lock_started := clock_timestamp();
    SELECT a.balance, a.held, a.credit_limit, a.temporary_credit_limit, a.temporary_credit_limit_expires_at,
           o.spending_policy, o.spending_floor
        INTO v_balance, v_held, v_limit, v_temporary, v_temporary_until, v_policy, v_floor
        FROM ledger_account a JOIN ledger_organization o ON o.id = a.organization_id
        WHERE a.id = p_account FOR UPDATE OF a;
    v_lock_wait := extract(epoch FROM clock_timestamp() - v_lock_started);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % does not exist', p_account USING ERRCODE = 'LD404';
    END IF;
    v_at := COALESCE(p_at, clock_timestamp());

    -- lots past their expiry lose what they have left first (one expiry transaction each)
    FOR v_lot IN SELECT l.id, l.remaining FROM ledger_creditlot l
            WHERE l.account_id = p_account AND l.remaining > 0 AND l.expires_at <= v_at
            ORDER BY l.expires_at, l.granted_at, l.id LOOP
        v_balance := v_balance - v_lot.remaining;
        v_expired_lots := v_expired_lots + 1;
        v_expired_amount := v_expired_amount + v_lot.remaining;
        UPDATE ledger_creditlot SET remaining = 0 WHERE id = v_lot.id;
        WITH t AS (
            INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at,
                    actor_user_id, actor_service, reference, memo, channel, country, category, traffic, period,
                    metadata, lot_id)
                VALUES (p_organization, p_account, 'expiry', p_currency, v_lot.remaining, v_at, p_actor_user,
                    p_actor_service, '', 'Lot ' || v_lot.id || ' expired', '', '', '', '', '', '{}'::jsonb,
                    v_lot.id)
                RETURNING id
        ), p AS (
            INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after,
                    created_at)
                SELECT t.id, p_account, NULL, -v_lot.remaining, v_balance, v_at FROM t
                UNION ALL SELECT t.id, NULL, p_expired_account, v_lot.remaining, NULL, v_at FROM t
        )
        SELECT id INTO v_txn FROM t;
    END LOOP;

    IF p_hold IS NOT NULL THEN
        SELECT h.id, h.remaining, h.status, h.expires_at INTO v_hold
            FROM ledger_hold h WHERE h.id = p_hold AND h.account_id = p_account FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no hold % on account %', p_hold, p_account USING ERRCODE = 'LD400';
        END IF;
        IF v_hold.status <> 'active' THEN
            RAISE EXCEPTION '%', v_hold.status USING ERRCODE = 'LD409';
        ELSIF v_hold.expires_at <= v_at THEN
            RAISE EXCEPTION 'expired' USING ERRCODE = 'LD409';
        END IF;
        v_from_hold := LEAST(v_hold.remaining, p_amount);
    END IF;

    IF v_temporary IS NOT NULL AND v_temporary_until > v_at THEN
        v_limit := v_temporary;
    END IF;
    v_available := v_balance + v_limit - v_held;
    v_excess := p_amount - v_from_hold;
    -- rules.charge_refusal: a blocked org spends nothing beyond its holds; what must fit available
    -- (beyond what the hold covers) is promotional traffic, and every charge under all_must_fit
    IF v_excess > 0 AND v_policy = 'stop_when_depleted' AND v_available <= v_floor THEN
        RAISE EXCEPTION 'blocked at %', v_available USING ERRCODE = 'LD410';
    END IF;
    IF (p_traffic = 'promotional' OR v_policy = 'all_must_fit') AND v_excess > v_available THEN
        RAISE EXCEPTION '%|%', v_available, v_excess USING ERRCODE = 'LD402';
    END IF;

    IF v_from_hold > 0 THEN
        UPDATE ledger_hold h SET remaining = h.remaining - v_from_hold,
                status = CASE WHEN h.remaining = v_from_hold THEN 'captured' ELSE h.status END,
                closed_at = CASE WHEN h.remaining = v_from_hold THEN v_at ELSE h.closed_at END
            WHERE h.id = p_hold;
        v_held := v_held - v_from_hold;
    END IF;

    v_need := p_amount;
    FOR v_lot IN SELECT l.id, l.remaining FROM ledger_creditlot l
            WHERE l.account_id = p_account AND l.remaining > 0 AND (l.expires_at IS NULL OR l.expires_at > v_at)
            ORDER BY l.expires_at ASC NULLS LAST, l.granted_at, l.id LOOP
        EXIT WHEN v_need <= 0;
        v_take := LEAST(v_lot.remaining, v_need);
        UPDATE ledger_creditlot SET remaining = remaining - v_take WHERE id = v_lot.id;
        v_need := v_need - v_take;
    END LOOP;

    v_balance := v_balance - p_amount;
    v_available := v_balance + v_limit - v_held;
    WITH t AS (
        INSERT INTO ledger_transaction (organization_id, account_id, subaccount_id, kind, currency, amount,
                created_at, actor_user_id, actor_service, reference, memo, channel, country, category, traffic,
                quantity, unit_price, rate_card_version_id, hold_id, period, metadata)
            VALUES (p_organization, p_account, p_subaccount, p_kind, p_currency, p_amount, v_at, p_actor_user,
                p_actor_service, p_reference, '', p_channel, p_country, p_category, p_traffic, p_quantity,
                p_unit_price, p_rate_card_version, p_hold, '',
                jsonb_build_object('available_after', v_available::text))
            RETURNING id
    ), p AS (
        INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT t.id, p_account, NULL, -p_amount, v_balance, v_at FROM t
            UNION ALL SELECT t.id, NULL, p_usage_account, p_amount, NULL, v_at FROM t
    )
    SELECT id INTO v_txn FROM t;
    UPDATE ledger_account SET balance = v_balance, held = v_held WHERE id = p_account;
    IF v_record IS NOT NULL THEN
        UPDATE ledger_idempotencyrecord SET result_model = 'transaction', result_id = v_txn::text WHERE id = v_record;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_txn, v_balance, v_held, v_available, v_at, v_expired_lots, v_expired_amount,
        NULL::text, NULL::text, NULL::text, NULL::text, v_lock_wait;
END;
$$ LANGUAGE plpgsql;
