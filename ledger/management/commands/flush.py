"""manage.py flush, also for the ledger's tables: they refuse TRUNCATE, so it runs with triggers switched off.

Switching triggers off (`session_replication_role = replica`) needs a superuser on PostgreSQL: the
test suite's role (its transactional tests flush after each test) can, the app's production role
cannot, so production data keeps its guard. SQLite has no TRUNCATE: nothing changes there.
"""

from django.core.management.commands import flush
from django.db import connections


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")
