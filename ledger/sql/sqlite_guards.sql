-- The ledger's guards on SQLite (the zero-setup local database), as row triggers: transactions and
-- postings are append-only; a transaction's account belongs to its organization; a posting's
-- transaction, account (one of the transaction's organization) and system account exist; rows that
-- ledger rows refer to cannot be deleted. SQLite drops a table's triggers when a migration rebuilds
-- the table, so migrations that touch ledger tables apply this file again (every statement can run twice).
DROP TRIGGER IF EXISTS ledger_transaction_no_update;
CREATE TRIGGER ledger_transaction_no_update BEFORE UPDATE ON ledger_transaction
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_transaction refused'); END;
DROP TRIGGER IF EXISTS ledger_transaction_no_delete;
CREATE TRIGGER ledger_transaction_no_delete BEFORE DELETE ON ledger_transaction
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_transaction refused'); END;
DROP TRIGGER IF EXISTS ledger_posting_no_update;
CREATE TRIGGER ledger_posting_no_update BEFORE UPDATE ON ledger_posting
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_posting refused'); END;
DROP TRIGGER IF EXISTS ledger_posting_no_delete;
CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_posting refused'); END;

DROP TRIGGER IF EXISTS ledger_transaction_references;
CREATE TRIGGER ledger_transaction_references BEFORE INSERT ON ledger_transaction
WHEN NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = NEW.account_id
                 AND a.organization_id = NEW.organization_id)
  OR (NEW.lot_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_creditlot l WHERE l.id = NEW.lot_id))
BEGIN SELECT RAISE(ABORT, 'ledger transaction refers to a missing account, organization or credit lot'); END;
DROP TRIGGER IF EXISTS ledger_posting_references;
CREATE TRIGGER ledger_posting_references BEFORE INSERT ON ledger_posting
WHEN NOT EXISTS (SELECT 1 FROM ledger_transaction t WHERE t.id = NEW.transaction_id)
  OR (NEW.account_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM ledger_account a JOIN ledger_transaction t ON t.id = NEW.transaction_id
      WHERE a.id = NEW.account_id AND a.organization_id = t.organization_id))
  OR (NEW.system_account_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ledger_systemaccount s WHERE s.id = NEW.system_account_id))
BEGIN SELECT RAISE(ABORT, 'ledger posting refers to a missing transaction, account or system account, or to an account of another organization'); END;

DROP TRIGGER IF EXISTS ledger_organization_referenced;
CREATE TRIGGER ledger_organization_referenced BEFORE DELETE ON ledger_organization
WHEN EXISTS (SELECT 1 FROM ledger_transaction t WHERE t.organization_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'ledger rows refer to ledger_organization: DELETE refused'); END;
DROP TRIGGER IF EXISTS ledger_account_referenced;
CREATE TRIGGER ledger_account_referenced BEFORE DELETE ON ledger_account
WHEN EXISTS (SELECT 1 FROM ledger_transaction t WHERE t.account_id = OLD.id)
  OR EXISTS (SELECT 1 FROM ledger_posting p WHERE p.account_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'ledger rows refer to ledger_account: DELETE refused'); END;
DROP TRIGGER IF EXISTS ledger_creditlot_referenced;
CREATE TRIGGER ledger_creditlot_referenced BEFORE DELETE ON ledger_creditlot
WHEN EXISTS (SELECT 1 FROM ledger_transaction t WHERE t.lot_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'ledger rows refer to ledger_creditlot: DELETE refused'); END;
DROP TRIGGER IF EXISTS ledger_systemaccount_referenced;
CREATE TRIGGER ledger_systemaccount_referenced BEFORE DELETE ON ledger_systemaccount
BEGIN SELECT RAISE(ABORT, 'ledger rows refer to ledger_systemaccount: DELETE refused'); END;
