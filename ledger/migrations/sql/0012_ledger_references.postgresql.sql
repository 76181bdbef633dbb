-- Frozen: the SQL migration 0012 applied, kept as it was. The current definitions are in ledger/sql/.
-- References of ledger rows checked once per INSERT statement instead of once per row.
--
-- A foreign key checks each inserted row on its own (one locking lookup per reference per row: seven
-- for an expiry or a charge); on the hot paths that was half the cost of writing the ledger. The
-- columns every transaction and posting carries are now checked here, per statement, one lookup per
-- distinct referenced row, with the same FOR KEY SHARE lock a foreign key takes (so the referenced row
-- cannot be deleted before the writer commits). The other direction of a foreign key is kept by
-- BEFORE DELETE triggers: an organization, account or lot that ledger rows point at cannot be deleted,
-- and system accounts are never deleted. Transactions are append-only (0003), so a posting's
-- transaction, once checked, stays. Checked too, which a foreign key could not: a transaction's
-- account belongs to the transaction's organization.
-- Optional references (subaccount, hold, rate card version, actor user) keep their foreign keys.

-- forward
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
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_transaction_references
    AFTER INSERT ON ledger_transaction
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_transaction_refs();

CREATE OR REPLACE FUNCTION ledger_check_statement_balanced() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- One index lookup per transaction, in LATERAL subqueries and a sub-select: a transition table has
    -- no statistics, and with a join the planner may hash a whole table for every statement.
    SELECT n.transaction_id, s.total, s.lines, s.known INTO bad
        FROM (SELECT DISTINCT transaction_id FROM new_postings) n
        CROSS JOIN LATERAL (
            SELECT SUM(p.amount) AS total, COUNT(*) AS lines,
                   EXISTS (SELECT FROM ledger_transaction t WHERE t.id = n.transaction_id) AS known
            FROM ledger_posting p WHERE p.transaction_id = n.transaction_id
        ) s
        WHERE s.total <> 0 OR s.lines < 2 OR NOT s.known
        LIMIT 1;
    IF FOUND AND NOT bad.known THEN
        RAISE EXCEPTION 'ledger posting refers to transaction %, which does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % is not balanced: % postings summing to %',
            bad.transaction_id, bad.lines, bad.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.account_id INTO bad
        FROM (SELECT DISTINCT account_id FROM new_postings WHERE account_id IS NOT NULL) n
        LEFT JOIN LATERAL (SELECT a.id FROM ledger_account a WHERE a.id = n.account_id FOR KEY SHARE) a ON true
        WHERE a.id IS NULL
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting refers to account %, which does not exist', bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.system_account_id INTO bad
        FROM (SELECT DISTINCT system_account_id FROM new_postings WHERE system_account_id IS NOT NULL) n
        LEFT JOIN LATERAL (
            SELECT s.id FROM ledger_systemaccount s WHERE s.id = n.system_account_id FOR KEY SHARE
        ) s ON true
        WHERE s.id IS NULL
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting refers to system account %, which does not exist', bad.system_account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- The row is locked before a BEFORE DELETE trigger runs, so a writer holding FOR KEY SHARE (above)
-- makes the delete wait, and the check then sees the writer's committed rows.
CREATE OR REPLACE FUNCTION ledger_refuse_referenced_delete() RETURNS trigger AS $$
DECLARE
    referenced boolean;
BEGIN
    -- One branch per table: each query is planned only for the table whose id type it matches.
    IF TG_TABLE_NAME = 'ledger_systemaccount' THEN
        referenced := true;
    ELSIF TG_TABLE_NAME = 'ledger_organization' THEN
        referenced := EXISTS (SELECT FROM ledger_transaction WHERE organization_id = OLD.id);
    ELSIF TG_TABLE_NAME = 'ledger_account' THEN
        referenced := EXISTS (SELECT FROM ledger_transaction WHERE account_id = OLD.id)
                      OR EXISTS (SELECT FROM ledger_posting WHERE account_id = OLD.id);
    ELSE
        referenced := EXISTS (SELECT FROM ledger_transaction WHERE lot_id = OLD.id);
    END IF;
    IF referenced THEN
        RAISE EXCEPTION 'ledger rows refer to % %: DELETE refused', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_organization_referenced
    BEFORE DELETE ON ledger_organization
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE TRIGGER ledger_account_referenced
    BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE TRIGGER ledger_creditlot_referenced
    BEFORE DELETE ON ledger_creditlot
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE TRIGGER ledger_systemaccount_referenced
    BEFORE DELETE ON ledger_systemaccount
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

-- reverse
DROP TRIGGER IF EXISTS ledger_systemaccount_referenced ON ledger_systemaccount;
DROP TRIGGER IF EXISTS ledger_creditlot_referenced ON ledger_creditlot;
DROP TRIGGER IF EXISTS ledger_account_referenced ON ledger_account;
DROP TRIGGER IF EXISTS ledger_organization_referenced ON ledger_organization;
DROP FUNCTION IF EXISTS ledger_refuse_referenced_delete();
DROP TRIGGER IF EXISTS ledger_transaction_references ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_check_transaction_refs();
DROP TRIGGER IF EXISTS ledger_postings_balanced ON ledger_posting;
-- (0009's trigger and function are applied again by the migration: run_sql_file(..., restores=...))
