"""Signal wiring of the ops app: request line fields, Celery task timings, money metrics at zero."""

import time

from celery.signals import task_postrun, task_prerun, worker_init
from django_structlog import signals as structlog_signals

from . import logs, metrics

_task_started: dict[str, float] = {}


def _task_prerun(task_id=None, task=None, **kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


def _task_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        metrics.task_run_recorded(task=task.name, state=state or "UNKNOWN", seconds=time.perf_counter() - started)


def _worker_init(**kwargs) -> None:
    metrics.worker_exporter_start()


def connect() -> None:
    """Connect the receivers (called once from OpsConfig.ready)."""
    structlog_signals.bind_extra_request_finished_metadata.connect(logs.request_finished_fields,
                                                                   dispatch_uid="ops.request_finished_fields")
    task_prerun.connect(_task_prerun, dispatch_uid="ops.task_prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="ops.task_postrun", weak=False)
    worker_init.connect(_worker_init, dispatch_uid="ops.worker_init", weak=False)
    metrics.money_metrics_initialize()
