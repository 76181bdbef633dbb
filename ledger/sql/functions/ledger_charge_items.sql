-- ledger_charge_items(): charge items in order on one funding account: the one home in SQL of the
-- rules of a charge (ledger/services/rules.py), shared by ledger_charge() (one item) and
-- ledger_charge_batch() (up to 1,000). The Python path (ledger/services/charges.py) applies the same
-- rules; tests/ledger/services/test_differential.py compares the two row by row.
-- Lock the funding account (`lock_wait`: the seconds spent acquiring its row lock, for the lock-wait
-- metric), read the clock after the lock, expire the account's due lots (one expiry transaction each),
-- read its lots in draw order (soonest-expiring first, never-expiring last, older first on ties), then per
-- item, each seeing what the items before it left: lock its hold (p_holds: NULL none, '' a malformed id),
-- refuse what the rules and the org's spending policy refuse, draw the hold first, then the lots. Refusals
-- are per item status codes with a detail, not exceptions: LD402 "available|excess", LD410 the org is
-- blocked, LD400 no such hold, LD409 the hold's state (released, captured, expired); 'ok' for a charged
-- item; NULL for an item not reached. With p_stop_at_refusal the first refusal ends the loop and nothing
-- more is written: the caller must roll back (the expiry and earlier items' hold draws are written
-- already). Otherwise every charged item's transaction and postings, the lots drawn and the cached
-- balance and held are written in one statement at the end (the statement-level triggers run once).
-- LD404: no such account (raised).
CREATE OR REPLACE FUNCTION ledger_charge_items(
    p_account uuid, p_subaccount uuid, p_organization uuid, p_currency text, p_kind text,
    p_amounts numeric[], p_unit_prices numeric[], p_quantities integer[], p_traffics text[],
    p_channels text[], p_countries text[], p_categories text[], p_references text[], p_rate_card_versions bigint[],
    p_holds text[], p_actor_user integer, p_actor_service text, p_at timestamptz,
    p_usage_account bigint, p_expired_account bigint, p_stop_at_refusal boolean
) RETURNS TABLE (
    status text, detail text, transaction_id bigint, balance_after numeric, available_after numeric,
    held numeric, created_at timestamptz, expired_lots integer, expired_amount numeric, lock_wait double precision
) AS $$
#variable_conflict use_column
DECLARE
    v_n integer := COALESCE(cardinality(p_amounts), 0);
    v_status text[] := array_fill(NULL::text, ARRAY[v_n]);
    v_detail text[] := array_fill(NULL::text, ARRAY[v_n]);
    v_ids bigint[] := array_fill(NULL::bigint, ARRAY[v_n]);
    v_balances numeric[] := array_fill(NULL::numeric, ARRAY[v_n]);
    v_availables numeric[] := array_fill(NULL::numeric, ARRAY[v_n]);
    v_sequence regclass := pg_get_serial_sequence('ledger_transaction', 'id')::regclass;
    v_balance numeric;
    v_held numeric;
    v_limit numeric;
    v_temporary numeric;
    v_temporary_until timestamptz;
    v_policy text;
    v_floor numeric;
    v_at timestamptz;
    v_lock_started timestamptz;
    v_lock_wait double precision;
    v_expired_lots integer := 0;
    v_expired_amount numeric := 0;
    v_lot record;
    v_lot_ids bigint[];
    v_lot_left numeric[];
    v_lot_taken numeric[];
    v_lots integer;
    v_next integer := 1;
    v_i integer;
    v_amount numeric;
    v_from_hold numeric;
    v_available numeric;
    v_excess numeric;
    v_need numeric;
    v_take numeric;
    v_hold record;
    v_refusal text;
    v_why text;
    v_charged integer := 0;
    v_stopped boolean := false;
BEGIN
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
    IF v_temporary IS NOT NULL AND v_temporary_until > v_at THEN
        v_limit := v_temporary;
    END IF;

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
        )
        INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
            SELECT t.id, p_account, NULL, -v_lot.remaining, v_balance, v_at FROM t
            UNION ALL SELECT t.id, NULL, p_expired_account, v_lot.remaining, NULL, v_at FROM t;
    END LOOP;

    -- the lots to draw, in draw order, drawn in memory and written once at the end
    SELECT array_agg(l.id ORDER BY l.expires_at ASC NULLS LAST, l.granted_at, l.id),
           array_agg(l.remaining ORDER BY l.expires_at ASC NULLS LAST, l.granted_at, l.id)
        INTO v_lot_ids, v_lot_left
        FROM ledger_creditlot l
        WHERE l.account_id = p_account AND l.remaining > 0 AND (l.expires_at IS NULL OR l.expires_at > v_at);
    v_lots := COALESCE(cardinality(v_lot_ids), 0);
    v_lot_taken := array_fill(0::numeric, ARRAY[v_lots]);

    FOR v_i IN 1 .. v_n LOOP
        v_amount := p_amounts[v_i];
        v_from_hold := 0;
        v_refusal := NULL;
        IF p_holds[v_i] IS NOT NULL THEN
            IF p_holds[v_i] = '' THEN
                v_refusal := 'LD400';
                v_why := 'no such hold on account ' || p_account;
            ELSE
                SELECT h.id, h.remaining, h.status, h.expires_at INTO v_hold
                    FROM ledger_hold h WHERE h.id = p_holds[v_i]::uuid AND h.account_id = p_account FOR UPDATE;
                IF NOT FOUND THEN
                    v_refusal := 'LD400';
                    v_why := 'no hold ' || p_holds[v_i] || ' on account ' || p_account;
                ELSIF v_hold.status <> 'active' THEN
                    v_refusal := 'LD409';
                    v_why := v_hold.status;
                ELSIF v_hold.expires_at <= v_at THEN
                    v_refusal := 'LD409';
                    v_why := 'expired';
                ELSE
                    v_from_hold := LEAST(v_hold.remaining, v_amount);
                END IF;
            END IF;
        END IF;
        IF v_refusal IS NULL THEN
            v_available := v_balance + v_limit - v_held;
            v_excess := v_amount - v_from_hold;
            -- rules.charge_refusal: a blocked org spends nothing beyond its holds; what must fit available
            -- (beyond what the hold covers) is promotional traffic, and every charge under all_must_fit
            IF v_excess > 0 AND v_policy = 'stop_when_depleted' AND v_available <= v_floor THEN
                v_refusal := 'LD410';
                v_why := 'blocked at ' || v_available;
            ELSIF (p_traffics[v_i] = 'promotional' OR v_policy = 'all_must_fit') AND v_excess > v_available THEN
                v_refusal := 'LD402';
                v_why := v_available || '|' || v_excess;
            END IF;
        END IF;
        IF v_refusal IS NOT NULL THEN
            v_status[v_i] := v_refusal;
            v_detail[v_i] := v_why;
            IF p_stop_at_refusal THEN
                v_stopped := true;
                EXIT;
            END IF;
            CONTINUE;
        END IF;

        IF v_from_hold > 0 THEN
            UPDATE ledger_hold h SET remaining = h.remaining - v_from_hold,
                    status = CASE WHEN h.remaining = v_from_hold THEN 'captured' ELSE h.status END,
                    closed_at = CASE WHEN h.remaining = v_from_hold THEN v_at ELSE h.closed_at END
                WHERE h.id = v_hold.id;
            v_held := v_held - v_from_hold;
        END IF;
        v_need := v_amount;
        WHILE v_need > 0 AND v_next <= v_lots LOOP
            v_take := LEAST(v_lot_left[v_next], v_need);
            v_lot_left[v_next] := v_lot_left[v_next] - v_take;
            v_lot_taken[v_next] := v_lot_taken[v_next] + v_take;
            v_need := v_need - v_take;
            IF v_lot_left[v_next] = 0 THEN
                v_next := v_next + 1;
            END IF;
        END LOOP;
        v_balance := v_balance - v_amount;
        v_ids[v_i] := nextval(v_sequence);
        v_balances[v_i] := v_balance;
        v_availables[v_i] := v_balance + v_limit - v_held;
        v_charged := v_charged + 1;
    END LOOP;

    IF v_stopped THEN
        NULL;  -- the caller rolls back
    ELSIF v_charged > 0 THEN
        WITH u AS MATERIALIZED (
            SELECT u.* FROM unnest(v_ids, p_amounts, p_unit_prices, p_quantities, p_traffics, p_channels,
                    p_countries, p_categories, p_references, p_rate_card_versions, p_holds, v_balances, v_availables)
                AS u(id, amount, unit_price, quantity, traffic, channel, country, category, reference,
                     rate_card_version, hold, balance, available)
            WHERE u.id IS NOT NULL
        ), t AS (
            INSERT INTO ledger_transaction (id, organization_id, account_id, subaccount_id, kind, currency, amount,
                    created_at, actor_user_id, actor_service, reference, memo, channel, country, category, traffic,
                    quantity, unit_price, rate_card_version_id, hold_id, period, metadata)
                SELECT u.id, p_organization, p_account, p_subaccount, p_kind, p_currency, u.amount, v_at,
                    p_actor_user, p_actor_service, u.reference, '', u.channel, u.country, u.category, u.traffic,
                    u.quantity, u.unit_price, u.rate_card_version, u.hold::uuid, '',
                    jsonb_build_object('available_after', u.available::text)
                FROM u
        ), p AS (
            INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after,
                    created_at)
                SELECT u.id, p_account, NULL, -u.amount, u.balance, v_at FROM u
                UNION ALL SELECT u.id, NULL, p_usage_account, u.amount, NULL, v_at FROM u
        ), l AS (
            UPDATE ledger_creditlot c SET remaining = c.remaining - d.taken
                FROM unnest(v_lot_ids, v_lot_taken) AS d(id, taken) WHERE c.id = d.id AND d.taken > 0
        )
        UPDATE ledger_account a SET balance = v_balance, held = v_held WHERE a.id = p_account;
    ELSE
        UPDATE ledger_account a SET balance = v_balance, held = v_held WHERE a.id = p_account;
    END IF;

    RETURN QUERY SELECT CASE WHEN u.id IS NOT NULL THEN 'ok' ELSE u.status END, u.detail, u.id, u.balance,
            u.available, v_held, v_at, v_expired_lots, v_expired_amount, v_lock_wait
        FROM unnest(v_status, v_detail, v_ids, v_balances, v_availables) WITH ORDINALITY
            AS u(status, detail, id, balance, available, position)
        ORDER BY u.position;
END;
$$ LANGUAGE plpgsql;
