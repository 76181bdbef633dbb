-- At commit, each noted transaction (ledger_note_unposted_transactions) must have two or more postings
-- summing to zero; the note is then removed, so the table is empty outside open transactions.
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

-- A constraint trigger cannot be created OR REPLACE: dropped and created again.
DROP TRIGGER IF EXISTS ledger_unposted_transaction_balanced ON ledger_unposted_transaction;
CREATE CONSTRAINT TRIGGER ledger_unposted_transaction_balanced
    AFTER INSERT ON ledger_unposted_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_unposted_transaction();
