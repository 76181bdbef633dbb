-- Frozen: the SQL migration 0003 applied, kept as it was. The current definitions are in ledger/sql/.
-- Ledger guards on SQLite (the zero-setup local database): append-only transactions and postings.

-- forward
CREATE TRIGGER ledger_transaction_no_update BEFORE UPDATE ON ledger_transaction
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_transaction refused'); END;
CREATE TRIGGER ledger_transaction_no_delete BEFORE DELETE ON ledger_transaction
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_transaction refused'); END;
CREATE TRIGGER ledger_posting_no_update BEFORE UPDATE ON ledger_posting
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_posting refused'); END;
CREATE TRIGGER ledger_posting_no_delete BEFORE DELETE ON ledger_posting
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_posting refused'); END;

-- reverse
DROP TRIGGER IF EXISTS ledger_transaction_no_update;
DROP TRIGGER IF EXISTS ledger_transaction_no_delete;
DROP TRIGGER IF EXISTS ledger_posting_no_update;
DROP TRIGGER IF EXISTS ledger_posting_no_delete;
