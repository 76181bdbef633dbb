"""gunicorn settings for production: `gunicorn -c creditsite/gunicorn.conf.py creditsite.wsgi`.

Threaded workers (gthread), so that exports of any size stream to the end (see `worker_class` below).

Metrics of several worker processes are added up through prometheus_client's multiprocess mode: every
process writes its counters into PROMETHEUS_MULTIPROC_DIR (default /tmp/creditsite-metrics), emptied
when gunicorn starts so that counts of an earlier run do not linger.

Each worker, once it has loaded the application, moves every object it holds so far (modules, settings,
URL patterns, serializers: hundreds of thousands) out of the garbage collector's sight (`gc.freeze()`):
a full collection during a request then walks only what requests create, not the whole application.
"""

import gc
import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Threaded workers: the worker's main thread keeps telling the master it is alive while a request thread
# streams a long CSV export, so `timeout` only ends a worker that is stuck, never a download in progress
# (a sync worker is killed `timeout` seconds into any response, cutting the file short without an error).
# Each thread holds its own database connection: workers x threads connections (docs/operations.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
accesslog = None  # the application logs one JSON line per request (with its request id)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/creditsite-metrics")  # noqa: S108 - override in production


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess  # the master's hook: prometheus only when a worker exits

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    gc.freeze()  # see the module docstring
