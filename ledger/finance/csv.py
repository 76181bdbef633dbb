"""Streamed CSV exports: rows read in keyset chunks as tuples (no model instances), written as they are
fetched, in constant memory, the first row after one short query whatever the size of the export.

Every CSV the project writes goes through `stream_rows`, which neutralises spreadsheet formulas in
every text cell (`spreadsheet_cell`); amounts are plain decimals with 6 places in every row
(`plain_decimal`, which a spreadsheet reads as numbers), times ISO 8601 in the org's zone.

On PostgreSQL the ledger exports (finance, self-service and API) are written by the database instead:
`copy_lines` runs `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)` per keyset chunk, its cells formatted
in SQL (`ledger_spreadsheet_cell`, `ledger_iso_time`, amounts as numeric text), and gives the same
bytes as `stream_rows` (tests/finance/test_ledger_csv_copy.py compares both).
"""

import csv
import re
from collections.abc import Iterable, Iterator

from django.db import connections
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from django.http import StreamingHttpResponse

from ledger.money import plain_decimal
from ledger.selectors import entry_kind, entry_kind_expression

from .selectors import LedgerScope

CHUNK_SIZE = 2000
COPY_CHUNK_SIZE = 10_000  # rows per COPY statement (about 1.5 MB of CSV)
COPY_FIRST_CHUNK_SIZE = 1000  # a smaller first chunk: the first rows go out sooner
LINES_PER_WRITE = 200

ENTRY_HEADER = [
    "date", "kind", "amount", "balance_after", "currency", "account", "subaccount", "actor", "reference", "memo",
    "channel", "country", "category", "quantity", "unit_price", "transaction_id", "posting_id",
]
ENTRY_FIELDS = [
    "created_at", "transaction__kind", "amount", "balance_after", "transaction__currency", "account__name",
    "transaction__subaccount__name", "transaction__actor_user__username", "transaction__actor_service",
    "transaction__reference", "transaction__memo", "transaction__channel", "transaction__country",
    "transaction__category", "transaction__quantity", "transaction__unit_price", "transaction_id", "id",
]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


# OWASP's CSV injection triggers (and their full-width forms, which some spreadsheets read the same way).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# A plain decimal such as "-12.500000" (an amount written by `plain_decimal`) is a number to a spreadsheet.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
LEADING_BLANKS = " \n\x0b\x0c\u00a0"
# A cell can only start a formula if its first character is a trigger or a blank that may hide one.
FIRST_OF_RISKY = frozenset(FORMULA_TRIGGERS) | frozenset(LEADING_BLANKS)


def spreadsheet_cell(value):
    """A CSV cell a spreadsheet shows as written: text that would start a formula gets a leading `'`.

    Text is caught even after leading spaces or line breaks (" =1+1"); numbers, plain decimal strings
    ("-12.500000"), None and dates are left as they are, so a negative amount stays a number.
    (defusedcsv misses tab, CR and leading spaces.)
    """
    if type(value) is not str or value[:1] not in FIRST_OF_RISKY:  # the common case, decided by one character
        return value
    if PLAIN_NUMBER.fullmatch(value):
        return value
    if value.lstrip(LEADING_BLANKS)[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def stream_rows(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV lines, LINES_PER_WRITE to a string (one write per string, not per row), every text cell made safe
    for spreadsheets."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    lines = []
    for row in rows:
        lines.append(writer.writerow([spreadsheet_cell(cell) for cell in row]))
        if len(lines) == LINES_PER_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def csv_response(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def keyset_values(queryset: QuerySet, time_field: str, fields: list[str], chunk_size: int | None = None,
                  ) -> Iterator[tuple]:
    """`values_list(*fields)` of every row, newest first by (`time_field`, id), one short query per chunk.

    Each chunk starts strictly after the last row of the one before (the keyset condition, its first
    term an index bound), so no query builds the whole result (as a WITH HOLD cursor would before its
    first row) and rows written meanwhile, being newer, neither shift nor repeat. `fields` must end with
    the id; the time field is fetched too.
    """
    chunk_size = chunk_size or CHUNK_SIZE
    queryset = queryset.order_by(f"-{time_field}", "-id")
    width = len(fields)
    fetched = fields if time_field in fields else [*fields, time_field]
    at = fetched.index(time_field)
    last = None
    while True:
        page = queryset if last is None else queryset.filter(_older(time_field, *last))
        rows = list(page.values_list(*fetched)[:chunk_size])
        for row in rows:
            yield row[:width]
        if len(rows) < chunk_size:
            return
        last = rows[-1][at], rows[-1][width - 1]


def _older(time_field: str, moment, pk) -> Q:
    """Rows after (`moment`, `pk`) newest first: the keyset condition, its first term an index bound."""
    return (Q(**{f"{time_field}__lte": moment})
            & (Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "id__lt": pk})))


def _down_to(time_field: str, moment, pk) -> Q:
    """Rows down to (`moment`, `pk`) included, newest first."""
    return (Q(**{f"{time_field}__gte": moment})
            & (Q(**{f"{time_field}__gt": moment}) | Q(**{time_field: moment, "id__gte": pk})))


def copies_csv(queryset: QuerySet) -> bool:
    """Whether the database can write this queryset's CSV itself (`copy_lines`): PostgreSQL."""
    return connections[queryset.db].vendor == "postgresql"


def text_cell(expression) -> Func:
    """A text cell written by the database: formulas neutralised, empty text as an empty cell (NULL)."""
    return NullIf(Func(expression, function="ledger_spreadsheet_cell", output_field=TextField()), Value(""),
                  output_field=TextField())


def amount_cell(expression) -> Cast:
    """An amount cell written by the database: numeric(20, 6) as text is `plain_decimal`'s text."""
    return Cast(expression, TextField())


def time_cell(expression, zone: str, utc: str = "+00:00") -> Func:
    """A moment in `zone` as `datetime.isoformat()` writes it (an offset of zero as `utc`)."""
    return Func(expression, Value(zone), Value(utc), function="ledger_iso_time", output_field=TextField())


def actor_cell() -> Func:
    """The actor of a posting's transaction: username, else service, else system."""
    return text_cell(Coalesce(NullIf(F("transaction__actor_user__username"), Value("")),
                              NullIf(F("transaction__actor_service"), Value("")), Value("system"),
                              output_field=TextField()))


def _crlf(data: bytes) -> bytes:
    """COPY's row ends (LF) as csv.writer's (CRLF); a line break inside a quoted cell stays as it is.

    Quotes only open and close cells or come doubled inside them, so the parts between quotes at even
    places lie outside every cell.
    """
    if b'"' not in data:
        return data.replace(b"\n", b"\r\n")
    parts = data.split(b'"')
    parts[::2] = [part.replace(b"\n", b"\r\n") for part in parts[::2]]
    return b'"'.join(parts)


def _copy(queryset: QuerySet) -> bytes:
    """The queryset's rows as CSV, written by PostgreSQL in one COPY statement, read whole before returning.

    Reading the whole chunk first means a download ending between chunks (the client went away) never
    leaves a COPY running on the connection.
    """
    connection = connections[queryset.db]
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)  # COPY binds no parameters
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.copy(statement) as copy:
            data = b"".join(copy)
    return _crlf(data)


def copy_lines(header: list[str], queryset: QuerySet, time_field: str, cells: list, chunk_size: int | None = None,
               ) -> Iterator[bytes]:
    """The CSV of `stream_rows(header, ...)`, its rows (`cells`, SQL expressions) written by PostgreSQL, newest first.

    Per chunk: one index query for the chunk's last (`time_field`, id), then one COPY of the rows from the
    previous chunk's last (excluded) down to it; each chunk is read whole before it is sent. Rows written
    meanwhile are newer than every chunk but the first, so none repeats or shifts. The header goes out
    with the first chunk (COPY_FIRST_CHUNK_SIZE rows), so the first bytes include the first rows.
    """
    chunk_size = chunk_size or COPY_CHUNK_SIZE
    size = min(chunk_size, COPY_FIRST_CHUNK_SIZE)
    queryset = queryset.order_by(f"-{time_field}", "-id")
    names = [f"csv_cell_{index}" for index in range(len(cells))]
    head = csv.writer(_Echo()).writerow(header).encode()
    last = None
    while True:
        page = queryset if last is None else queryset.filter(_older(time_field, *last))
        bound = list(page.values_list(time_field, "id")[size - 1:size])
        rows = page.filter(_down_to(time_field, *bound[0])) if bound else page
        data = _copy(rows.annotate(**dict(zip(names, cells, strict=True))).values_list(*names))
        if head:
            data, head = head + data, b""
        if data:
            yield data
        if not bound:
            return
        last, size = bound[0], chunk_size


def entry_cells(scope: LedgerScope, *, show_balance: bool = True) -> list:
    """The cells of `entry_rows` as SQL expressions, for `copy_lines`."""
    return [
        time_cell(F("created_at"), scope.organization.tz.key), entry_kind_expression(), amount_cell(F("amount")),
        amount_cell(F("balance_after")) if show_balance else Value(None, output_field=TextField()),
        *(text_cell(F(name)) for name in ("transaction__currency", "account__name", "transaction__subaccount__name")),
        actor_cell(),
        *(text_cell(F(f"transaction__{name}")) for name in ("reference", "memo", "channel", "country", "category")),
        F("transaction__quantity"), amount_cell(F("transaction__unit_price")), F("transaction_id"), F("id"),
    ]


def entry_lines(scope: LedgerScope, queryset: QuerySet, *, show_balance: bool = True) -> Iterator[str | bytes]:
    """The ledger CSV of the entries (ENTRY_HEADER, then `entry_rows`): written by PostgreSQL where it can."""
    if copies_csv(queryset):
        return copy_lines(ENTRY_HEADER, queryset, scope.time_field, entry_cells(scope, show_balance=show_balance))
    return stream_rows(ENTRY_HEADER, entry_rows(scope, queryset, show_balance=show_balance))


def entry_rows(scope: LedgerScope, queryset: QuerySet, *, show_balance: bool = True) -> Iterator[list]:
    """Ledger entries as CSV rows, newest first, fetched CHUNK_SIZE at a time in keyset chunks."""
    tz = scope.organization.tz
    rows = keyset_values(queryset, scope.time_field, ENTRY_FIELDS)
    for (created_at, kind, amount, balance_after, currency, account_name, subaccount_name, username, service,
         reference, memo, channel, country, category, quantity, unit_price, transaction_id, posting_id) in rows:
        yield [
            created_at.astimezone(tz).isoformat(), entry_kind(kind, amount), plain_decimal(amount),
            plain_decimal(balance_after) if show_balance else "", currency, account_name, subaccount_name,
            username or service or "system", reference, memo, channel, country, category,
            "" if quantity is None else quantity, plain_decimal(unit_price), transaction_id,
            posting_id,
        ]

