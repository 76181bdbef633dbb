-- A CSV cell a spreadsheet shows as written, for the exports PostgreSQL writes with COPY
-- (ledger/finance/csv.py): the rule of spreadsheet_cell() in Python, tests/finance/test_ledger_csv_copy.py
-- runs the same cases through both. Text that would start a formula (= + - @, tab, CR and their
-- full-width forms), even after leading blanks (space, LF, VT, FF, NBSP), gets a leading '; a plain
-- decimal such as -12.500000 stays a number; NULL stays NULL. One expression (not STRICT), so the
-- planner inlines it into the export's query.
CREATE OR REPLACE FUNCTION ledger_spreadsheet_cell(value text) RETURNS text AS $$
    SELECT CASE
        WHEN left(value, 1) NOT IN ('=', '+', '-', '@', E'\t', E'\r', E'\uFF1D', E'\uFF0B', E'\uFF0D', E'\uFF20',
                                    ' ', E'\n', E'\013', E'\014', E'\u00A0') THEN value
        WHEN value ~ '^-?[0-9]+(\.[0-9]+)?$' THEN value
        WHEN left(ltrim(value, E' \n\013\014\u00A0'), 1)
             IN ('=', '+', '-', '@', E'\t', E'\r', E'\uFF1D', E'\uFF0B', E'\uFF0D', E'\uFF20') THEN '''' || value
        ELSE value
    END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
