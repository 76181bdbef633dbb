"""The Celery app: JSON-only, late acks, tasks autodiscovered from the installed apps, Django's logging."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")

app = Celery("creditsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task log lines carry task_id and the request_id of the request that enqueued them (task headers).
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def _django_logging(**kwargs) -> None:
    """Workers log through the project's LOGGING (JSON lines in production), not Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
