-- ledger_charge(): a charge (alone, against a hold, or a hold capture) in one round trip on PostgreSQL.
-- The database path of ledger.services.charges: the same steps and rules as the Python path
-- (ledger/services/charges.py, rules.py), compared row by row by tests/ledger/services/test_differential.py.
-- Claim the idempotency key (ledger_claim_key()), then charge the one item with ledger_charge_items(),
-- the rules' home in SQL shared with ledger_charge_batch(): lock the funding account, read the clock after
-- the lock, expire its due lots, lock the hold, refuse what the rules and the org's spending policy refuse,
-- draw lots soonest-expiring first, write the charge with its postings in one statement, then the hold and
-- the cached balance and held. A refusal is raised with its SQLSTATE (LD402 "available|excess"; LD410 the
-- org is blocked; LD400 no such hold; LD409 the hold's state; LD404 no account), which rolls back the
-- whole call. `lock_wait` is the seconds spent acquiring the funding account's row lock, for the lock-wait
-- metric (ops).
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
    v_existing record;
    v_item record;
BEGIN
    IF p_key IS NOT NULL THEN
        v_record := ledger_claim_key(p_caller, p_key, p_operation, p_fingerprint);
        IF v_record IS NULL THEN
            SELECT r.operation, r.fingerprint, r.result_model, r.result_id INTO v_existing
                FROM ledger_idempotencyrecord r WHERE r.caller = p_caller AND r.key = p_key;
            RETURN QUERY SELECT 'exists'::text, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric,
                NULL::timestamptz, 0, 0::numeric, v_existing.operation::text, v_existing.fingerprint::text,
                v_existing.result_model::text, v_existing.result_id::text, NULL::double precision;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v_item FROM ledger_charge_items(
        p_account, p_subaccount, p_organization, p_currency, p_kind, ARRAY[p_amount], ARRAY[p_unit_price],
        ARRAY[p_quantity], ARRAY[p_traffic], ARRAY[p_channel], ARRAY[p_country], ARRAY[p_category],
        ARRAY[p_reference], ARRAY[p_rate_card_version], ARRAY[p_hold::text], p_actor_user, p_actor_service, p_at,
        p_usage_account, p_expired_account, true);
    IF v_item.status <> 'ok' THEN
        RAISE EXCEPTION '%', v_item.detail USING ERRCODE = v_item.status;
    END IF;
    IF v_record IS NOT NULL THEN
        UPDATE ledger_idempotencyrecord SET result_model = 'transaction', result_id = v_item.transaction_id::text
            WHERE id = v_record;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_item.transaction_id, v_item.balance_after, v_item.held, v_item.available_after,
        v_item.created_at, v_item.expired_lots, v_item.expired_amount, NULL::text, NULL::text, NULL::text, NULL::text,
        v_item.lock_wait;
END;
$$ LANGUAGE plpgsql;
