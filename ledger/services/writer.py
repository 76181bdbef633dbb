"""The SQL writer of a Book: its rows in a few bulk statements, or on PostgreSQL in one statement."""

import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from ..models import CreditLot, Posting, Transaction


def write_in_bulk(book, accounts) -> None:
    """bulk_create / bulk_update: lots, transactions, postings, then the accounts' cached balances."""
    if book.new_lots:
        CreditLot.objects.bulk_create(book.new_lots)
    if book.changed_lots:
        CreditLot.objects.bulk_update(list(book.changed_lots.values()), ["remaining"])
    if book.entries:
        for entry in book.entries:  # lots created above now have ids
            if entry.transaction.lot is not None:
                entry.transaction.lot_id = entry.transaction.lot.pk
        Transaction.objects.bulk_create([entry.transaction for entry in book.entries])
        Posting.objects.bulk_create(_postings(book, models=True))
    for account in accounts:
        account.save(update_fields=["balance", "held"])


def _postings(book, models: bool = False) -> list:
    """The postings of every entry with their transaction's id (as Posting instances when `models`)."""
    postings = []
    for entry in book.entries:
        for posting in entry.postings:
            if isinstance(posting, Posting):
                posting.transaction = entry.transaction
            elif models:
                posting = posting.as_model(entry.transaction)
            else:
                posting.transaction_id = entry.transaction.pk
            postings.append(posting)
    return postings


def write_in_one_statement(book, accounts) -> None:
    """Every row as data-modifying CTEs of one statement (PostgreSQL; the book creates no lot)."""
    params: dict = {}
    parts: list[str] = []
    single = len(book.entries) == 1
    if book.entries and not single:  # several transactions: allocate their ids first
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_transaction', 'id')) "
                           "FROM generate_series(1, %s)", [len(book.entries)])
            ids = [row[0] for row in cursor.fetchall()]
        for entry, pk in zip(book.entries, ids, strict=True):
            entry.transaction.pk = pk
        parts.append(_unnest_insert(Transaction, [e.transaction for e in book.entries], "t", params))
        parts.append(_unnest_insert(Posting, _postings(book), "p", params, with_pk=False))
    elif single:  # the hot path: the postings take the id the transaction insert returns
        txn = book.entries[0].transaction
        parts.append(_unnest_insert(Transaction, [txn], "t", params, with_pk=False) + " RETURNING id")
        parts.append(_unnest_insert(Posting, book.entries[0].postings, "p", params, with_pk=False,
                                    transaction_from="w0"))
    if book.changed_lots:
        lots = list(book.changed_lots.values())
        params.update(lot_ids=[lot.pk for lot in lots], lot_remaining=[str(lot.remaining) for lot in lots])
        parts.append("UPDATE ledger_creditlot l SET remaining = v.remaining::numeric "
                     "FROM unnest(%(lot_ids)s::bigint[], %(lot_remaining)s::text[]) AS v(id, remaining) "
                     "WHERE l.id = v.id")
    if accounts:
        params.update(account_ids=[str(a.pk) for a in accounts], balances=[str(a.balance) for a in accounts],
                      helds=[str(a.held) for a in accounts])
        parts.append("UPDATE ledger_account a SET balance = v.balance::numeric, held = v.held::numeric "
                     "FROM unnest(%(account_ids)s::uuid[], %(balances)s::text[], %(helds)s::text[]) "
                     "AS v(id, balance, held) WHERE a.id = v.id")
    if not parts:
        return
    # Every write is a data-modifying CTE (all run, referenced or not); the query returns the new
    # transaction's id when there is a single one (w0, the transaction insert).
    ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} " + ("SELECT id FROM w0" if single else "SELECT 1"), params)  # noqa: S608
        if single:
            book.entries[0].transaction.pk = cursor.fetchone()[0]
    for entry in book.entries:
        entry.transaction._state.adding, entry.transaction._state.db = False, connection.alias


def _db_text(field, obj):
    """A field's value as text for an unnest() of text arrays (cast back to the column type in SQL)."""
    value = getattr(obj, field.attname)
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _unnest_insert(model, objs, prefix: str, params: dict, with_pk: bool = True,
                   transaction_from: str | None = None) -> str:
    """INSERT ... SELECT FROM unnest(text arrays), one array per column, for a list of unsaved rows.

    A column with the same value in every row (the org, the account, the instant of a batch) is one
    parameter instead of an array. With `transaction_from`, the `transaction_id` column is taken from
    that CTE's returned id.
    """
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    columns, casts, arrays, names = [], [], [], []
    for index, column in enumerate(fields):
        columns.append(connection.ops.quote_name(column.column))
        if transaction_from and column.attname == "transaction_id":
            casts.append(f"(SELECT id FROM {transaction_from})")  # noqa: S608 - a CTE name of ours
            continue
        key = f"{prefix}{index}"
        attname = column.attname
        values = [getattr(obj, attname) for obj in objs]
        first = values[0]
        if len(values) > 1 and _all_same(values, first):
            params[key] = _db_text(column, objs[0])
            casts.append(f"%({key})s::{column.db_type(connection)}")
            continue
        params[key] = [_db_text(column, obj) for obj in objs]
        arrays.append(f"%({key})s::text[]")
        names.append(f"c{index}")
        casts.append(f"c{index}::{column.db_type(connection)}")
    if not arrays:  # every column constant: one row per object still
        params[f"{prefix}n"] = len(objs)
        source = f"generate_series(1, %({prefix}n)s)"
    else:
        source = f"unnest({', '.join(arrays)}) AS u({', '.join(names)})"
    return (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"SELECT {', '.join(casts)} FROM {source}")


def _all_same(values: list, first) -> bool:
    if first is None:
        return all(value is None for value in values)
    return all(value is not None and type(value) is type(first) and value == first for value in values)
