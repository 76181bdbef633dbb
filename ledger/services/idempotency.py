"""Idempotency keys: one key, one effect, and the stored response a retry gets back.

A money operation claims its key in the same transaction as its effect (the key row is inserted
first, so a concurrent duplicate waits on it and then replays). The API stores its rendered
response on the key's record after the first run and answers a retry with it.
"""

import hashlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from ..errors import IdempotencyConflict, InvalidOperation
from ..models import QUANTUM, Account, Hold, IdempotencyRecord, Organization, Transaction
from ..money import Actor
from .results import BatchResult

RESULT_MODELS = {"transaction": Transaction, "hold": Hold, "organization": Organization, "account": Account}

# The key of the operation running in this thread or task, for the events it publishes (ledger.events.money_moved).
_running_key: ContextVar[str | None] = ContextVar("ledger_idempotency_key", default=None)


def running_key() -> str | None:
    """The idempotency key of the money operation running now (None without one)."""
    return _running_key.get()


_PLAIN = (str, int, bool, type(None))  # values that normalize to themselves


def _normalize(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values: the fast way out
        return value
    if isinstance(value, Decimal):
        return str(value.quantize(QUANTUM)) if value.is_finite() else str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dict):  # plain values inline: a batch's 1,000 items have ten each
        return {str(k): v if type(v) in _PLAIN else _normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else _normalize(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def request_fingerprint(operation: str, params: dict) -> str:
    """A stable hash of an operation and its normalized parameters."""
    payload = json.dumps({"operation": operation, "params": _normalize(params)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def http_fingerprint(method: str, path: str, body) -> str:
    """The fingerprint of an API request: its method, its path (trailing slash ignored) and its parsed body."""
    return request_fingerprint(f"{method} {path.rstrip('/')}", {"body": body})


def check_key(key: str) -> None:
    """An idempotency key is 1-255 printable ASCII characters."""
    if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
        raise InvalidOperation(errors={"idempotency_key": ["Use 1-255 printable ASCII characters."]})


def run_idempotent(*, actor: Actor, key: str | None, operation: str, params: dict, work: Callable[[], Any],
                   fingerprint: str | None = None, joins_caller: bool = False):
    """Run `work` in one durable atomic block, at most once per (caller, key).

    A retry with the same request returns the first result; the same key with a different
    request raises IdempotencyConflict. The key row is inserted first, so a concurrent
    duplicate waits on it and then replays instead of acting twice. With `joins_caller`, a caller's
    open transaction is joined instead (settling a purchase commits with the caller's own rows).
    """
    durable = not (joins_caller and connection.in_atomic_block)
    if not key:
        with transaction.atomic(durable=durable):
            return work()
    check_key(key)
    fingerprint = fingerprint or request_fingerprint(operation, params)
    with transaction.atomic(durable=durable):
        record_id = claim_key(actor.caller, key, operation, fingerprint)
        if record_id is None:
            return replay(IdempotencyRecord.objects.get(caller=actor.caller, key=key), operation, fingerprint)
        token = _running_key.set(key)
        try:
            result = work()
        finally:
            _running_key.reset(token)
        if isinstance(result, BatchResult):
            outcome = {"result_model": "batch", "result_data": result.to_record()}
        else:
            outcome = {"result_model": result._meta.model_name, "result_id": str(result.pk)}
        IdempotencyRecord.objects.filter(pk=record_id).update(**outcome)
        return result


def claim_key(caller: str, key: str, operation: str, fingerprint: str) -> int | None:
    """Insert the key row, or return None when it exists (after waiting for a concurrent first use to end).

    One statement: INSERT ... ON CONFLICT DO NOTHING waits on a conflicting uncommitted insert, then
    either inserts (the other rolled back) or does nothing (it committed: the caller replays it).
    """
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (caller, key, operation, fingerprint, result_model, result_id, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, '', '', %s) ON CONFLICT (caller, key) DO NOTHING RETURNING id",
            [caller, key, operation, fingerprint, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def replay(record: IdempotencyRecord, operation: str, fingerprint: str):
    """The first result of a key used again: refused when the key was first used for another request."""
    if record.operation != operation or record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    if record.result_model == "batch":
        result = BatchResult.from_record(record.result_data)
    else:
        result = RESULT_MODELS[record.result_model].objects.get(pk=record.result_id)
    result.replayed = True
    return result


def response_once(*, actor: Actor, key: str | None, result, status: int,
                  render: Callable[[Any], Any], keep: bool = True) -> tuple[int, Any, bool]:
    """The (status, body, replayed) of the API's response to a service result, the same for every retry.

    A first run renders the result and keeps the response on the key's record; a replayed result
    gets the kept response back (or, when the first request committed but has not kept its body
    yet, the result rendered again). With `keep=False` nothing is kept (one statement and one commit
    less): for results whose rendering depends only on rows that never change (a charge), so a
    replay renders the same body again.
    """
    if key and getattr(result, "replayed", False):
        stored = (IdempotencyRecord.objects.filter(caller=actor.caller, key=key)
                  .values_list("response_status", "response_body").first())
        if stored and stored[1] is not None:
            return stored[0], stored[1], True
        return status, render(result), True
    body = render(result)
    if key and keep:
        IdempotencyRecord.objects.filter(caller=actor.caller, key=key).update(response_status=status,
                                                                              response_body=body)
    return status, body, False


def idempotency_keys_purge(*, older_than: datetime) -> int:
    """Delete idempotency records created before `older_than` (kept at least 7 days)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()
    return deleted
