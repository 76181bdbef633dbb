-- Per-account daily totals (ledger_accountdaytotal), kept in the same transaction as the postings: one
-- INSERT ... ON CONFLICT DO UPDATE per INSERT statement on the postings table, whatever the writer (the
-- charge function, the Python writer, set-based expiry and batches). A day is the local calendar day in
-- the org's timezone when the posting was written; a day with no more postings never changes.
-- ledger_day_totals_rebuild(org) computes an org's rows again from its postings (NULL: every org), for
-- the migration that adds the table, a change of the org's timezone and the bench's seeding.
CREATE OR REPLACE FUNCTION ledger_add_day_totals() RETURNS trigger AS $$
BEGIN
    -- Index lookups in LATERAL subqueries (a transition table has no statistics; LIMIT 1 keeps the planner
    -- from flattening them into a join that walks every account): the transaction per posting, then the
    -- account and its org's timezone once per account and instant (a statement's postings mostly share
    -- one created_at: an expiry chunk's 5,000 postings on 1,000 accounts cost 1,000 account lookups, not
    -- 5,000); rows in key order so that two statements touching the same accounts lock their rows in the
    -- same order. Grouping by the instant before the day changes no sum.
    INSERT INTO ledger_accountdaytotal AS d (organization_id, account_id, day, kind, channel, country, category,
                                            credit, credit_count, debit, debit_count, quantity, free_quantity)
    SELECT a.organization_id, g.account_id, (g.created_at AT TIME ZONE a.timezone)::date,
           g.kind, g.channel, g.country, g.category,
           SUM(g.credit), SUM(g.credit_count), SUM(g.debit), SUM(g.debit_count), SUM(g.quantity), SUM(g.free_quantity)
    FROM (
        SELECT p.account_id, p.created_at, t.kind, t.channel, t.country, t.category,
               COALESCE(SUM(p.amount) FILTER (WHERE p.amount > 0), 0) AS credit,
               COUNT(*) FILTER (WHERE p.amount > 0) AS credit_count,
               COALESCE(SUM(p.amount) FILTER (WHERE p.amount <= 0), 0) AS debit,
               COUNT(*) FILTER (WHERE p.amount <= 0) AS debit_count,
               COALESCE(SUM(t.quantity), 0) AS quantity,
               COALESCE(SUM(t.quantity) FILTER (WHERE t.unit_price = 0), 0) AS free_quantity
        FROM new_postings p
        CROSS JOIN LATERAL (
            SELECT t.kind, t.channel, t.country, t.category, t.quantity, t.unit_price
            FROM ledger_transaction t WHERE t.id = p.transaction_id LIMIT 1
        ) t
        WHERE p.account_id IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
    ) g
    CROSS JOIN LATERAL (
        SELECT a.organization_id, o.timezone FROM ledger_account a
        JOIN ledger_organization o ON o.id = a.organization_id WHERE a.id = g.account_id LIMIT 1
    ) a
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 2, 3, 4, 5, 6, 7
    ON CONFLICT (account_id, day, kind, channel, country, category) DO UPDATE
        SET credit = d.credit + EXCLUDED.credit, credit_count = d.credit_count + EXCLUDED.credit_count,
            debit = d.debit + EXCLUDED.debit, debit_count = d.debit_count + EXCLUDED.debit_count,
            quantity = d.quantity + EXCLUDED.quantity, free_quantity = d.free_quantity + EXCLUDED.free_quantity;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER ledger_posting_day_totals
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_add_day_totals();

CREATE OR REPLACE FUNCTION ledger_day_totals_rebuild(org uuid) RETURNS bigint AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM ledger_accountdaytotal WHERE org IS NULL OR organization_id = org;
    INSERT INTO ledger_accountdaytotal (organization_id, account_id, day, kind, channel, country, category,
                                        credit, credit_count, debit, debit_count, quantity, free_quantity)
    SELECT a.organization_id, p.account_id, (p.created_at AT TIME ZONE o.timezone)::date,
           t.kind, t.channel, t.country, t.category,
           COALESCE(SUM(p.amount) FILTER (WHERE p.amount > 0), 0), COUNT(*) FILTER (WHERE p.amount > 0),
           COALESCE(SUM(p.amount) FILTER (WHERE p.amount <= 0), 0), COUNT(*) FILTER (WHERE p.amount <= 0),
           COALESCE(SUM(t.quantity), 0), COALESCE(SUM(t.quantity) FILTER (WHERE t.unit_price = 0), 0)
    FROM ledger_posting p
    JOIN ledger_transaction t ON t.id = p.transaction_id
    JOIN ledger_account a ON a.id = p.account_id
    JOIN ledger_organization o ON o.id = a.organization_id
    WHERE p.account_id IS NOT NULL AND (org IS NULL OR a.organization_id = org)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$ LANGUAGE plpgsql;
