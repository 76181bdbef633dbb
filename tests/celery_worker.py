"""A real Celery worker in a subprocess on one queue of the Redis broker, against the test database."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the test database this process uses (the worker must write where the test reads)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue: str, redis_url: str, **env) -> subprocess.Popen:
    """A solo-pool worker consuming `queue`; its log (stdout and stderr) is read by `stop_worker`."""
    environ = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
               "CELERY_TASK_ALWAYS_EAGER": "False", "DJANGO_SETTINGS_MODULE": "creditsite.test_settings",
               "CONN_MAX_AGE": "0", **env}
    environ.pop("CI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creditsite", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_worker(worker: subprocess.Popen) -> str:
    """Stop the worker (warm shutdown, then kill) and return its log."""
    worker.terminate()
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output
