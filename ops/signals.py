"""Signal wiring of the ops app: request line fields, Celery task timings, money metrics at zero, and the
ledger's events: money_moved (charges counted, one log line per money action) and lock_waited (the
charge path's lock wait)."""

import dataclasses
import time

from celery.signals import task_postrun, task_prerun, worker_init
from django_structlog import signals as structlog_signals

from ledger.events import lock_waited, money_moved

from . import collectors, logs, metrics

# What counts as a charge in the charge metrics: a charge, and the capture of a hold (the charge of a hold).
CHARGE_KINDS = ("charge", "hold_capture")

_task_started: dict[str, float] = {}


def _task_prerun(task_id=None, task=None, **kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


def _task_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        metrics.task_run_recorded(task=task.name, state=state or "UNKNOWN", seconds=time.perf_counter() - started)


def _worker_init(**kwargs) -> None:
    collectors.worker_exporter_start()


def _money_moved(sender, operation: str, movements: list, idempotency_key: str | None = None, **kwargs) -> None:
    """Receiver of ledger.events.money_moved (after the commit): charges counted, every movement logged.

    A batch (several movements of one kind, channel and traffic on one account) is counted and logged as
    one line per group with its `count` and total amount, as a set-based expiry is (a batch of 1,000 charges
    is one line, not 1,000: each line cost more than writing its rows). Refusals, replays and batch sizes are
    counted from the API's answers (ops.middleware), not here: a replay moves no money and sends no event,
    and a refusal is counted once, where the contract names it.
    """
    for movement in _grouped(movements) if len(movements) > 1 else movements:
        if movement.kind in CHARGE_KINDS:
            metrics.charge_recorded(channel=movement.channel, traffic=movement.traffic, amount=movement.amount,
                                    currency=movement.currency, count=movement.count)
        logs.money_action_log(kind=movement.kind, organization_id=movement.organization_id,
                              account_id=movement.account_id, amount=movement.amount, currency=movement.currency,
                              idempotency_key=idempotency_key, actor=movement.actor,
                              transaction_id=movement.transaction_id, count=movement.count)


def _grouped(movements: list) -> list:
    """Movements summed per kind, currency, channel, traffic, account and org (the transaction id kept when alone)."""
    groups: dict = {}
    for movement in movements:
        key = (movement.kind, movement.currency, movement.channel, movement.traffic, movement.account_id,
               movement.organization_id)
        groups.setdefault(key, []).append(movement)
    return [group[0] if len(group) == 1 else dataclasses.replace(
        group[0], amount=sum(m.amount for m in group), count=sum(m.count for m in group), transaction_id=None)
        for group in groups.values()]


def _lock_waited(sender, operation: str, seconds: float, **kwargs) -> None:
    """Receiver of ledger.events.lock_waited: the time a charge spent acquiring its funding account's lock."""
    metrics.lock_wait_recorded(seconds=seconds)


def connect() -> None:
    """Connect the receivers (called once from OpsConfig.ready)."""
    structlog_signals.bind_extra_request_finished_metadata.connect(logs.request_finished_fields,
                                                                   dispatch_uid="ops.request_finished_fields")
    task_prerun.connect(_task_prerun, dispatch_uid="ops.task_prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="ops.task_postrun", weak=False)
    worker_init.connect(_worker_init, dispatch_uid="ops.worker_init", weak=False)
    money_moved.connect(_money_moved, dispatch_uid="ops.money_moved", weak=False)
    lock_waited.connect(_lock_waited, dispatch_uid="ops.lock_waited", weak=False)
    collectors.money_metrics_initialize()
