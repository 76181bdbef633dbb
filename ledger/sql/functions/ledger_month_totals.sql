-- Per-account monthly totals (ledger_accountmonthtotal): the daily totals of an org's closed local months
-- summed, so that a range of many months reads one row per account and dimensions a month instead of one
-- a day. Nothing on the charge path writes them. A month is rolled up once it ended two days ago (in the
-- org's timezone) and recorded in ledger_rolledmonth with its rows, in one transaction; readers take
-- recorded months from here and every other day from the daily totals (ledger/daytotals.py).
-- ledger_month_totals_roll(org, upto) rolls the org's closed months not yet recorded (the nightly job);
-- ledger_month_totals_rebuild(org, upto) drops the org's months and rolls them again (a timezone change).
-- A posting written more than a day after its own time (an explicit past instant: a job run by hand for
-- an old instant, the tests) may fall in a rolled month: a row trigger, whose WHEN is false for every
-- posting written at now(), removes that month's rows and record, and the next run rolls it again.
-- Both sides take the org's transaction advisory lock, so a roll never records a month that misses
-- such a posting. The margins (a day for the trigger, two for the roll) keep the two apart.
CREATE OR REPLACE FUNCTION ledger_month_totals_roll(org uuid, upto timestamptz) RETURNS integer AS $$
DECLARE
    zone text;
    month_start date;
    rolled integer := 0;
BEGIN
    SELECT o.timezone INTO zone FROM ledger_organization o WHERE o.id = org;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ledger_month_totals'), hashtext(org::text));
    FOR month_start IN
        SELECT m::date FROM generate_series(
            (SELECT date_trunc('month', min(d.day)::timestamp) FROM ledger_accountdaytotal d
             WHERE d.organization_id = org),
            date_trunc('month', (LEAST(upto, clock_timestamp()) - interval '2 days') AT TIME ZONE zone)
                - interval '1 month',
            interval '1 month') m
        WHERE NOT EXISTS (SELECT 1 FROM ledger_rolledmonth r WHERE r.organization_id = org AND r.month = m::date)
        ORDER BY 1
    LOOP
        INSERT INTO ledger_accountmonthtotal (organization_id, account_id, month, kind, channel, country, category,
                                              credit, credit_count, debit, debit_count, quantity, free_quantity)
        SELECT d.organization_id, d.account_id, month_start, d.kind, d.channel, d.country, d.category,
               SUM(d.credit), SUM(d.credit_count), SUM(d.debit), SUM(d.debit_count), SUM(d.quantity),
               SUM(d.free_quantity)
        FROM ledger_accountdaytotal d
        WHERE d.organization_id = org AND d.day >= month_start AND d.day < (month_start + interval '1 month')::date
        GROUP BY d.organization_id, d.account_id, d.kind, d.channel, d.country, d.category;
        INSERT INTO ledger_rolledmonth (organization_id, month) VALUES (org, month_start);
        rolled := rolled + 1;
    END LOOP;
    RETURN rolled;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_month_totals_rebuild(org uuid, upto timestamptz) RETURNS integer AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ledger_month_totals'), hashtext(org::text));
    DELETE FROM ledger_accountmonthtotal WHERE organization_id = org;
    DELETE FROM ledger_rolledmonth WHERE organization_id = org;
    RETURN ledger_month_totals_roll(org, upto);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_month_totals_unroll() RETURNS trigger AS $$
DECLARE
    org uuid;
    month_start date;
BEGIN
    SELECT a.organization_id, date_trunc('month', NEW.created_at AT TIME ZONE o.timezone)::date
    INTO org, month_start
    FROM ledger_account a JOIN ledger_organization o ON o.id = a.organization_id WHERE a.id = NEW.account_id;
    PERFORM pg_advisory_xact_lock(hashtext('ledger_month_totals'), hashtext(org::text));
    DELETE FROM ledger_rolledmonth WHERE organization_id = org AND month = month_start;
    IF FOUND THEN
        DELETE FROM ledger_accountmonthtotal WHERE organization_id = org AND month = month_start;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER ledger_posting_month_totals
    AFTER INSERT ON ledger_posting
    FOR EACH ROW WHEN (NEW.account_id IS NOT NULL AND NEW.created_at < clock_timestamp() - interval '1 day')
    EXECUTE FUNCTION ledger_month_totals_unroll();
