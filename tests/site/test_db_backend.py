"""The project's PostgreSQL backend (creditsite/db/base.py): a health check that sends no query while the
connection is quiet, and still finds a connection the server has closed."""

import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_postgresql

from creditsite.db.base import DatabaseWrapper, has_pending_input

pytestmark = pytest.mark.usefixtures("postgres_only")


def test_postgresql_settings_use_the_project_backend_with_health_checks():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db(transaction=True)
def test_a_quiet_idle_connection_is_usable_without_a_query(monkeypatch):
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    def no_round_trip(self):
        raise AssertionError("SELECT 1 was sent")

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", no_round_trip)
    assert connection.is_usable() is True


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_found_and_replaced_before_the_next_query():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    deadline = time.monotonic() + 5
    while not has_pending_input(connection.connection.fileno()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connection.is_usable() is False
    # What Django does at the start of a request with health checks on: the dead connection is closed...
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    # ...and the next query opens a new one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@pytest.mark.django_db
def test_inside_a_transaction_the_check_asks_the_server(monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the test's transaction has begun: the connection is not idle
    calls = []
    original = django_postgresql.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    assert connection.is_usable() is True
    assert calls == [1]
