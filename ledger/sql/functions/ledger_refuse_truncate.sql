-- TRUNCATE fires no row trigger, so the append-only and reference guards would not see it: every
-- table that holds money or its history refuses TRUNCATE outright. Only a session that may switch
-- triggers off (session_replication_role = replica: a superuser, as the test suite's flush does) can
-- empty them; the application's own role must not own these tables (see docs/architecture.md).
CREATE OR REPLACE FUNCTION ledger_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger tables keep money history: TRUNCATE of % refused', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER ledger_organization_no_truncate
    BEFORE TRUNCATE ON ledger_organization FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_account_no_truncate
    BEFORE TRUNCATE ON ledger_account FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_systemaccount_no_truncate
    BEFORE TRUNCATE ON ledger_systemaccount FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_creditlot_no_truncate
    BEFORE TRUNCATE ON ledger_creditlot FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_transaction_no_truncate
    BEFORE TRUNCATE ON ledger_transaction FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_posting_no_truncate
    BEFORE TRUNCATE ON ledger_posting FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_hold_no_truncate
    BEFORE TRUNCATE ON ledger_hold FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_creditlimitchange_no_truncate
    BEFORE TRUNCATE ON ledger_creditlimitchange FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
CREATE OR REPLACE TRIGGER ledger_historicalorganization_no_truncate
    BEFORE TRUNCATE ON ledger_historicalorganization FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
