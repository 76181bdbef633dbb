-- Frozen: the SQL migration 0014 applied, kept as it was. The current definitions are in ledger/sql/.
-- A transaction's balance checked when its INSERT statement ends, not by a deferred trigger per
-- transaction row at commit (0003's ledger_transaction_balanced: an event queued and a function
-- call per transaction: 20% of the cost of expiring a lot, measured on 5,000-lot chunks; the
-- statement-level lookups below cost half as much).
--
-- Writers that insert a transaction and its postings in one statement (charges, removals, expiry,
-- ledger_charge() below) are fully checked by ledger_postings_balanced (0009/0012) when the
-- statement ends. A transaction that has no postings when its statement ends (the ORM's
-- bulk_create of transactions, then of postings: grants, transfers) is noted in
-- ledger_unposted_transaction, and a deferred constraint trigger on that note checks at commit
-- that the transaction has >= 2 postings summing to zero, then removes the note: the table is
-- empty outside open transactions.
--
-- ledger_charge() is replaced by the same function with each transaction and its postings
-- written in one statement, so a charge leaves no note.
--
-- Every trigger function here and in 0012 looks rows up one id at a time and is planned with
-- sequential scans, hash and merge joins off (function-level SET): PL/pgSQL keeps a query's plan for
-- the session, and a plan made while a table was small (a seq scan under LIMIT 1, a hash over a
-- "tiny" table) went quadratic once the table grew (100,000 charges in tests/finance).

-- forward
CREATE TABLE ledger_unposted_transaction (transaction_id bigint PRIMARY KEY);

CREATE OR REPLACE FUNCTION ledger_note_unposted_transactions() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_unposted_transaction (transaction_id)
        SELECT n.id FROM new_transactions n
        WHERE NOT EXISTS (SELECT FROM ledger_posting p WHERE p.transaction_id = n.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE TRIGGER ledger_transaction_unposted
    AFTER INSERT ON ledger_transaction
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_note_unposted_transactions();

CREATE OR REPLACE FUNCTION ledger_check_unposted_transaction() RETURNS trigger AS $$
DECLARE
    total numeric;
    lines integer;
BEGIN
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, lines
        FROM ledger_posting WHERE transaction_id = NEW.transaction_id;
    IF lines < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % is not balanced: % postings summing to %',
            NEW.transaction_id, lines, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    DELETE FROM ledger_unposted_transaction WHERE transaction_id = NEW.transaction_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE CONSTRAINT TRIGGER ledger_unposted_transaction_balanced
    AFTER INSERT ON ledger_unposted_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_unposted_transaction();

DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_transaction;

ALTER FUNCTION ledger_check_statement_balanced()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
ALTER FUNCTION ledger_check_transaction_refs()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
ALTER FUNCTION ledger_refuse_referenced_delete()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE FUNCTION ledger_charge(
    p_account uuid, p_subaccount uuid, p_organization uuid, p_currency text,
    p_amount numeric, p_unit_price numeric, p_quantity integer, p_traffic text,
    p_channel text, p_country text, p_category text, p_reference text, p_rate_card_version bigint,
    p_actor_user integer, p_actor_service text, p_at timestamptz,
    p_usage_account bigint, p_expired_account bigint,
    p_caller text, p_key text, p_operation text, p_fingerprint text
) RETURNS TABLE (
    status text, transaction_id bigint, balance_after numeric, held numeric, available_after numeric,
    created_at timestamptz, record_operation text, record_fingerprint text, record_model text, record_id text
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
    v_need numeric;
    v_take numeric;
    v_txn bigint;
    v_lot record;
    v_existing record;
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO ledger_idempotencyrecord (caller, key, operation, fingerprint, result_model, result_id, created_at)
            VALUES (p_caller, p_key, p_operation, p_fingerprint, '', '', clock_timestamp())
            ON CONFLICT (caller, key) DO NOTHING RETURNING id INTO v_record;
        IF v_record IS NULL THEN
            SELECT r.operation, r.fingerprint, r.result_model, r.result_id INTO v_existing
                FROM ledger_idempotencyrecord r WHERE r.caller = p_caller AND r.key = p_key;
            RETURN QUERY SELECT 'exists'::text, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric,
                NULL::timestamptz, v_existing.operation::text, v_existing.fingerprint::text,
                v_existing.result_model::text, v_existing.result_id::text;
            RETURN;
        END IF;
    END IF;

    SELECT a.balance, a.held, a.credit_limit, a.temporary_credit_limit, a.temporary_credit_limit_expires_at
        INTO v_balance, v_held, v_limit, v_temporary, v_temporary_until
        FROM ledger_account a WHERE a.id = p_account FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % does not exist', p_account USING ERRCODE = 'LD404';
    END IF;
    v_at := COALESCE(p_at, clock_timestamp());

    -- lots past their expiry lose what they have left first (one expiry transaction each)
    FOR v_lot IN SELECT l.id, l.remaining FROM ledger_creditlot l
            WHERE l.account_id = p_account AND l.remaining > 0 AND l.expires_at <= v_at
            ORDER BY l.expires_at, l.granted_at, l.id LOOP
        v_balance := v_balance - v_lot.remaining;
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

    IF v_temporary IS NOT NULL AND v_temporary_until > v_at THEN
        v_limit := v_temporary;
    END IF;
    v_available := v_balance + v_limit - v_held;
    IF p_traffic = 'promotional' AND p_amount > v_available THEN
        RAISE EXCEPTION '%', GREATEST(v_available, 0) USING ERRCODE = 'LD402';
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
    v_available := v_available - p_amount;
    WITH t AS (
        INSERT INTO ledger_transaction (organization_id, account_id, subaccount_id, kind, currency, amount,
                created_at, actor_user_id, actor_service, reference, memo, channel, country, category, traffic,
                quantity, unit_price, rate_card_version_id, period, metadata)
            VALUES (p_organization, p_account, p_subaccount, 'charge', p_currency, p_amount, v_at, p_actor_user,
                p_actor_service, p_reference, '', p_channel, p_country, p_category, p_traffic, p_quantity,
                p_unit_price, p_rate_card_version, '', jsonb_build_object('available_after', v_available::text))
            RETURNING id
    ), p AS (
        INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT t.id, p_account, NULL, -p_amount, v_balance, v_at FROM t
            UNION ALL SELECT t.id, NULL, p_usage_account, p_amount, NULL, v_at FROM t
    )
    SELECT id INTO v_txn FROM t;
    UPDATE ledger_account SET balance = v_balance WHERE id = p_account;
    IF v_record IS NOT NULL THEN
        UPDATE ledger_idempotencyrecord SET result_model = 'transaction', result_id = v_txn::text WHERE id = v_record;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_txn, v_balance, v_held, v_available, v_at,
        NULL::text, NULL::text, NULL::text, NULL::text;
END;
$$ LANGUAGE plpgsql;

-- reverse
ALTER FUNCTION ledger_check_statement_balanced() RESET ALL;
ALTER FUNCTION ledger_check_transaction_refs() RESET ALL;
ALTER FUNCTION ledger_refuse_referenced_delete() RESET ALL;
DROP TRIGGER IF EXISTS ledger_transaction_unposted ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_note_unposted_transactions();
DROP TABLE IF EXISTS ledger_unposted_transaction;
DROP FUNCTION IF EXISTS ledger_check_unposted_transaction();
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
-- (ledger_charge() of 0011 is applied again by the migration: run_sql_file(..., restores=...))
