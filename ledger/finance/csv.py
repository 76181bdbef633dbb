"""Streamed CSV exports: rows read in keyset chunks as tuples (no model instances), written as they are
fetched, in constant memory, the first row after one short query whatever the size of the export.

Every CSV the project writes goes through `stream_rows`, which neutralises spreadsheet formulas in
every text cell (`spreadsheet_cell`); amounts are plain decimals with 6 places in every row
(`plain_decimal`, which a spreadsheet reads as numbers), times ISO 8601 in the org's zone.
"""

import csv
import re
from collections.abc import Iterable, Iterator

from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse

from ledger.money import plain_decimal
from ledger.selectors import entry_kind

from .selectors import LedgerScope

CHUNK_SIZE = 2000
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
        page = queryset
        if last is not None:
            moment, pk = last
            page = page.filter(Q(**{f"{time_field}__lte": moment})
                               & (Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "id__lt": pk})))
        rows = list(page.values_list(*fetched)[:chunk_size])
        for row in rows:
            yield row[:width]
        if len(rows) < chunk_size:
            return
        last = rows[-1][at], rows[-1][width - 1]


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

