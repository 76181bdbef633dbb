-- New postings, checked once per INSERT statement: each touched transaction exists, has two or more
-- postings summing to zero, and every customer posting is on the transaction's own account or on an
-- account of the transaction's organization; the accounts and system accounts posted to exist
-- (locked FOR KEY SHARE as a foreign key would). Every writer puts a transaction's postings in one
-- statement, so a statement sees whole transactions; a posting added later to an old transaction is
-- checked with all the others of that transaction.
CREATE OR REPLACE FUNCTION ledger_check_statement_balanced() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- The sums come from the new postings alone: a transaction's older postings (if any) were checked
    -- by their own statement to sum to zero and can be neither changed nor deleted, so the whole sums
    -- to zero exactly when the new ones do. Only a transaction with fewer than two new postings has its
    -- postings counted in the table. One index lookup per transaction (LATERAL: a transition table has
    -- no statistics, and with a join the planner may hash a whole table for every statement); only a
    -- posting on another account than the transaction's (the receiving side of a transfer) costs an
    -- account lookup.
    SELECT n.transaction_id, n.total, c.lines, t.id IS NOT NULL AS known, c.foreign_posting INTO bad
        FROM (SELECT transaction_id, SUM(amount) AS total, COUNT(*) AS lines,
                     array_agg(account_id) FILTER (WHERE account_id IS NOT NULL) AS accounts
              FROM new_postings GROUP BY transaction_id) n
        LEFT JOIN LATERAL (
            SELECT t.id, t.account_id, t.organization_id FROM ledger_transaction t WHERE t.id = n.transaction_id
        ) t ON true
        CROSS JOIN LATERAL (
            SELECT CASE WHEN n.lines >= 2 THEN n.lines
                        ELSE (SELECT COUNT(*) FROM ledger_posting p WHERE p.transaction_id = n.transaction_id)
                   END AS lines,
                   EXISTS (SELECT FROM unnest(n.accounts) AS posted (account_id)
                           WHERE posted.account_id IS DISTINCT FROM t.account_id
                             AND EXISTS (SELECT FROM ledger_account a WHERE a.id = posted.account_id
                                         AND a.organization_id IS DISTINCT FROM t.organization_id))
                       AS foreign_posting
        ) c
        WHERE n.total <> 0 OR c.lines < 2 OR t.id IS NULL OR c.foreign_posting
        LIMIT 1;
    IF FOUND AND NOT bad.known THEN
        RAISE EXCEPTION 'ledger posting refers to transaction %, which does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND AND bad.foreign_posting THEN
        RAISE EXCEPTION 'ledger transaction % has a posting on an account of another organization',
            bad.transaction_id
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
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER ledger_postings_balanced
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_statement_balanced();
