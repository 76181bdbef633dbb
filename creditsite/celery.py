"""The Celery app: JSON-only, late acks, tasks autodiscovered from the installed apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")

app = Celery("creditsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
