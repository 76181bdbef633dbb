"""The Celery app: JSON-only, late acks, tasks autodiscovered from the installed apps, Django's logging."""

import logging.config
import os

from celery import Celery
from celery.signals import after_task_publish, before_task_publish, setup_logging
from django.conf import settings
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")

app = Celery("creditsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TaskLogContext(DjangoStructLogInitStep):
    """Worker boot step: task log lines carry task_id and the request_id of the request that enqueued them
    (read from the task's headers). Publishing is already hooked once by the django_structlog app, so the
    step's second publish hook is removed (it would log every enqueue twice)."""

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        before_task_publish.disconnect(self.receiver.receiver_before_task_publish)
        after_task_publish.disconnect(self.receiver.receiver_after_task_publish)


app.steps["worker"].add(TaskLogContext)


@setup_logging.connect
def _django_logging(**kwargs) -> None:
    """Workers log through the project's LOGGING (JSON lines in production), not Celery's own format."""
    logging.config.dictConfig(settings.LOGGING)
