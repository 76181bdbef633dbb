-- A moment as Python's datetime.astimezone(zone).isoformat() writes it, for the exports PostgreSQL
-- writes with COPY (ledger/finance/csv.py): 2026-12-07T08:39:05.123456+05:30, the fraction only when
-- there is one, the offset as +HH:MM (:SS only when it has seconds); `utc` replaces an offset of zero
-- (the API writes Z). Independent of the session's TimeZone. One expression, so the planner inlines it;
-- tests/finance/test_ledger_csv_copy.py compares it with Python.
CREATE OR REPLACE FUNCTION ledger_iso_time(moment timestamptz, zone text, utc text DEFAULT '+00:00')
RETURNS text AS $$
    SELECT replace(to_char(moment AT TIME ZONE zone, 'YYYY-MM-DD"T"HH24:MI:SS.US'), '.000000', '')
        || CASE WHEN moment AT TIME ZONE zone > moment AT TIME ZONE 'UTC'
                    THEN replace(replace(to_char((moment AT TIME ZONE zone) - (moment AT TIME ZONE 'UTC'),
                                                 '"+"HH24:MI:SS"|"'), ':00|', ''), '|', '')
                WHEN moment AT TIME ZONE zone < moment AT TIME ZONE 'UTC'
                    THEN replace(replace(to_char((moment AT TIME ZONE 'UTC') - (moment AT TIME ZONE zone),
                                                 '"-"HH24:MI:SS"|"'), ':00|', ''), '|', '')
                ELSE utc END
$$ LANGUAGE sql STABLE PARALLEL SAFE;
