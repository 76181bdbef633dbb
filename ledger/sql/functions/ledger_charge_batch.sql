-- ledger_charge_batch(): a batch of up to 1,000 charges on one account in one round trip on PostgreSQL,
-- the database path of ledger.services.charges.charge_batch. Items come as arrays, one per column (priced
-- in Python before the call), and are charged in order by ledger_charge_items(), the rules' home in SQL
-- shared with ledger_charge(): the account is locked once, each item sees what the items before it left
-- (a refused promotional item leaves available to the next), and the rows of every charged item are
-- written in one statement at the end. The idempotency key is claimed once for the batch (ledger_claim_key());
-- a key already used returns one row with status 'exists' and nothing else is done (the caller replays the
-- stored result). Otherwise one row per item, in order: its status ('ok' or the refusal's SQLSTATE, see
-- ledger_charge_items), detail, transaction id, balance and available after it, and the batch's held,
-- instant, expired lots and lock wait. With p_atomic the first refusal ends the batch and nothing is
-- written: the caller rolls back (ledger.services.charges raises the item's error inside its transaction).
-- The caller stores the batch's result on the key's record in the same transaction.
CREATE OR REPLACE FUNCTION ledger_charge_batch(
    p_account uuid, p_subaccount uuid, p_organization uuid, p_currency text, p_atomic boolean,
    p_amounts numeric[], p_unit_prices numeric[], p_quantities integer[], p_traffics text[],
    p_channels text[], p_countries text[], p_categories text[], p_references text[], p_rate_card_versions bigint[],
    p_holds text[], p_actor_user integer, p_actor_service text, p_at timestamptz,
    p_usage_account bigint, p_expired_account bigint,
    p_caller text, p_key text, p_operation text, p_fingerprint text
) RETURNS TABLE (
    status text, detail text, transaction_id bigint, balance_after numeric, available_after numeric,
    held numeric, created_at timestamptz, expired_lots integer, expired_amount numeric, lock_wait double precision
) AS $$
BEGIN
    IF p_key IS NOT NULL AND ledger_claim_key(p_caller, p_key, p_operation, p_fingerprint) IS NULL THEN
        RETURN QUERY SELECT 'exists'::text, NULL::text, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric,
            NULL::timestamptz, 0, 0::numeric, NULL::double precision;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM ledger_charge_items(
        p_account, p_subaccount, p_organization, p_currency, 'charge', p_amounts, p_unit_prices, p_quantities,
        p_traffics, p_channels, p_countries, p_categories, p_references, p_rate_card_versions, p_holds,
        p_actor_user, p_actor_service, p_at, p_usage_account, p_expired_account, p_atomic);
END;
$$ LANGUAGE plpgsql;
