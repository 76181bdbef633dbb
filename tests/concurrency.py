"""Run a function in several threads released at once, each on its own database connection."""

import threading

from django.db import connection


def run_in_threads(count: int, target) -> list:
    """Start `count` threads together on `target(index)`; return each one's result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # returned to the test, which asserts on it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results
