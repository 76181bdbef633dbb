-- A transaction with no postings when its INSERT statement ends (the ORM's bulk_create of
-- transactions, then of postings: grants, transfers) is noted in ledger_unposted_transaction, whose
-- deferred check (ledger_check_unposted_transaction) runs at commit. Writers that insert a transaction
-- with its postings in one statement (charges, removals, expiry) leave no note: ledger_postings_balanced
-- checked them when the statement ended.
CREATE OR REPLACE FUNCTION ledger_note_unposted_transactions() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_unposted_transaction (transaction_id)
        SELECT n.id FROM new_transactions n
        WHERE NOT EXISTS (SELECT FROM ledger_posting p WHERE p.transaction_id = n.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER ledger_transaction_unposted
    AFTER INSERT ON ledger_transaction
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_note_unposted_transactions();
