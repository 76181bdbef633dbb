"""Django's PostgreSQL backend with a health check that costs no round trip.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request that reuses a
kept connection: one more round trip on the send-time path. Here a kept, idle connection is first asked
without a round trip whether the server has sent anything since its last answer: when PostgreSQL
closes a connection (a restart, a terminated backend, an idle timeout) its termination notice or the
end of the stream is waiting on the socket. Only then, or when psycopg already knows the connection
is broken or not idle, is `SELECT 1` sent. A server gone without a word (its host lost) is found by
the first query, as without a health check: that request fails with a 503 and the connection is closed
at its end (Django's errors_occurred path).
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


def has_pending_input(fileno: int) -> bool:
    """Whether the socket has something to read (or was closed by the peer), without waiting."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.pgconn.transaction_status == pq.TransactionStatus.IDLE:
            try:
                if not has_pending_input(connection.fileno()):
                    return True
            except (OSError, ValueError):
                return False
        return super().is_usable()  # something arrived, or not idle: ask the server
