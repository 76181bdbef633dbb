"""Log lines the operator reads: the request line's extra fields and the money action line.

Rendering, context (request_id, task_id) and scrubbing are set up in `creditsite.logs`.
"""

import time

import structlog

from .middleware import route_of

money_logger = structlog.get_logger("creditsite.money")


def actor_label(actor) -> str:
    """Who acted, without secrets: `user:<id>`, `service:<token name>` or `system`."""
    if actor is None:
        return "system"
    user = getattr(actor, "user", None)
    if user is not None:
        return f"user:{user.pk}"
    service = getattr(actor, "service", "")
    return f"service:{service}" if service else "system"


def money_action_log(*, kind: str, organization_id, account_id, amount, currency: str = "",
                     idempotency_key: str | None = None, actor=None, transaction_id=None, count: int = 1) -> None:
    """One line per money action: org, account, amount, kind, idempotency key and actor (never a token).

    Connected to the ledger's `money_moved` event (ops.signals); amounts are logged as decimal strings. A
    set-based expiry is one line per currency with the number of lots it expired (`count`).
    """
    money_logger.info("money_moved", kind=kind, organization=str(organization_id) if organization_id else None,
                      account=str(account_id) if account_id else None, amount=str(amount), currency=currency,
                      idempotency_key=idempotency_key, actor=actor_label(actor),
                      transaction=str(transaction_id) if transaction_id else None,
                      **({"count": count} if count != 1 else {}))


def request_finished_fields(sender, request, logger, response, log_kwargs, **kwargs) -> None:
    """django-structlog signal receiver: add the route name and the response time to the request line."""

    log_kwargs["route"] = route_of(request)
    started = getattr(request, "started_at", None)
    if started is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
