-- Frozen: the SQL migration 0009 applied, kept as it was. The current definitions are in ledger/sql/.
-- Cheaper balance check: postings are checked once per INSERT statement (a transition table holds
-- the new rows) instead of once per posting at commit. Every transaction's postings are written in
-- one statement by ledger.services, so each statement sees whole transactions; postings added later
-- to an old transaction are checked the same way. The deferred constraint trigger on
-- ledger_transaction stays: at commit, every new transaction must have >= 2 postings summing to zero.

-- forward
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;

CREATE OR REPLACE FUNCTION ledger_check_statement_balanced() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- One index lookup per transaction (a transition table has no statistics: a join plan could
    -- scan the whole posting table for every statement).
    SELECT n.transaction_id, s.total, s.lines INTO bad
        FROM (SELECT DISTINCT transaction_id FROM new_postings) n
        CROSS JOIN LATERAL (
            SELECT SUM(p.amount) AS total, COUNT(*) AS lines
            FROM ledger_posting p WHERE p.transaction_id = n.transaction_id
        ) s
        WHERE s.total <> 0 OR s.lines < 2
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % is not balanced: % postings summing to %',
            bad.transaction_id, bad.lines, bad.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_postings_balanced
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_statement_balanced();

-- reverse
DROP TRIGGER IF EXISTS ledger_postings_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_check_statement_balanced();
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
