-- The other direction of a foreign key for the references checked per statement: an organization,
-- account or lot that ledger rows point at cannot be deleted, and system accounts never are.
-- The row is locked before a BEFORE DELETE trigger runs, so a writer holding FOR KEY SHARE on it
-- (ledger_check_transaction_refs, ledger_check_statement_balanced) makes the delete wait, and the
-- check then sees the writer's committed rows.
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
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER ledger_organization_referenced
    BEFORE DELETE ON ledger_organization
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE OR REPLACE TRIGGER ledger_account_referenced
    BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE OR REPLACE TRIGGER ledger_creditlot_referenced
    BEFORE DELETE ON ledger_creditlot
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();

CREATE OR REPLACE TRIGGER ledger_systemaccount_referenced
    BEFORE DELETE ON ledger_systemaccount
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_referenced_delete();
