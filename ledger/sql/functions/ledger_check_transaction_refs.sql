-- The references of new transactions, checked once per INSERT statement (not per row by foreign keys):
-- a transaction's account belongs to its organization (which a foreign key could not say), and its
-- lot exists. Each referenced row is looked up once and locked FOR KEY SHARE, as a foreign key would.
-- Planned without sequential scans, hash or merge joins: PL/pgSQL keeps a query's plan for the
-- session, and a plan made while a table was small went quadratic once it grew.
CREATE OR REPLACE FUNCTION ledger_check_transaction_refs() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- LATERAL: one index lookup per distinct value (a transition table has no statistics).
    SELECT n.account_id, n.organization_id INTO bad
        FROM (SELECT DISTINCT account_id, organization_id FROM new_transactions) n
        LEFT JOIN LATERAL (
            SELECT a.organization_id FROM ledger_account a WHERE a.id = n.account_id FOR KEY SHARE
        ) a ON true
        WHERE a.organization_id IS DISTINCT FROM n.organization_id
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction refers to account %, which is not an account of organization %',
            bad.account_id, bad.organization_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.lot_id INTO bad
        FROM (SELECT DISTINCT lot_id FROM new_transactions WHERE lot_id IS NOT NULL) n
        LEFT JOIN LATERAL (SELECT l.id FROM ledger_creditlot l WHERE l.id = n.lot_id FOR KEY SHARE) l ON true
        WHERE l.id IS NULL
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction refers to credit lot %, which does not exist', bad.lot_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER ledger_transaction_references
    AFTER INSERT ON ledger_transaction
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_transaction_refs();
