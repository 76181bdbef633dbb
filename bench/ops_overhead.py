"""What the operations middleware costs per request: the request id, the HTTP metrics and the request log line.

Times an in-process GET of an unknown API path (a JSON 404: no database, no template) with the full
middleware stack and with each of the three removed, alternating the variants to even out a busy
machine; logs go to a null handler (the cost measured is building the line, not writing it).
Run: `.venv/bin/python bench/ops_overhead.py`; the figures go to BENCHMARKS.md by hand.
"""

import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

PATH = "/api/v1/no-such-endpoint"
VARIANTS = {
    "full stack": set(),
    "without the request id": {"ops.middleware.RequestIdMiddleware"},
    "without the HTTP metrics": {"ops.middleware.RequestMetricsMiddleware"},
    "without the request log line": {"django_structlog.middlewares.RequestMiddleware"},
    "without all three": {"ops.middleware.RequestIdMiddleware", "ops.middleware.RequestMetricsMiddleware",
                          "django_structlog.middlewares.RequestMiddleware"},
}


def median_microseconds(requests: int = 300) -> float:
    client = Client()
    for _ in range(50):
        client.get(PATH, secure=True)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(PATH, secure=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> None:
    logging.getLogger().handlers = [logging.NullHandler()]
    results = {name: [] for name in VARIANTS}
    for _ in range(5):
        for name, dropped in VARIANTS.items():
            with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m not in dropped]):
                results[name].append(median_microseconds())
    full = statistics.median(results["full stack"])
    for name, runs in results.items():
        value = statistics.median(runs)
        print(f"{name:32} {value:6.0f} us per request ({full - value:+.0f} us saved)")


if __name__ == "__main__":
    main()
