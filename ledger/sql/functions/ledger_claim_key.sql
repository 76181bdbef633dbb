-- ledger_claim_key(): claim an idempotency key for a money operation in the database (ledger_charge(),
-- ledger_charge_batch()), as ledger.services.idempotency.claim_key does from Python: insert the key's row,
-- or return NULL when it exists (INSERT ... ON CONFLICT DO NOTHING waits for a concurrent first use to end:
-- it inserts if that rolled back, and does nothing if it committed, so the caller replays it).
CREATE OR REPLACE FUNCTION ledger_claim_key(p_caller text, p_key text, p_operation text, p_fingerprint text)
RETURNS bigint AS $$
DECLARE
    v_record bigint;
BEGIN
    INSERT INTO ledger_idempotencyrecord (caller, key, operation, fingerprint, result_model, result_id, created_at)
        VALUES (p_caller, p_key, p_operation, p_fingerprint, '', '', clock_timestamp())
        ON CONFLICT (caller, key) DO NOTHING RETURNING id INTO v_record;
    RETURN v_record;
END;
$$ LANGUAGE plpgsql;
