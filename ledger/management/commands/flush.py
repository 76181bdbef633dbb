"""manage.py flush, also for the ledger's tables: they refuse TRUNCATE, so it runs with triggers switched off.

Switching triggers off (`session_replication_role = replica`) needs a superuser on PostgreSQL: the
test suite's role (its transactional tests flush after each test) can, the app's production role
cannot, so production data keeps its guard. SQLite has no TRUNCATE: nothing changes there.

The test runner's flush (no sequence reset, no questions asked) of a database with few rows deletes them
instead of truncating: a TRUNCATE of the ~60 tables replaces each table's and index's files and syncs
them at commit (about 1 s after a test), a DELETE of a test's few rows takes milliseconds. With triggers
off no foreign key is checked, so the order of the tables does not matter. Anything else (the command
line resets sequences) or a database with many rows is truncated, as Django does. Rows, not file sizes:
a test database's files grow with every rolled-back test's dead rows while it holds a handful of live ones.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction

FEW_ROWS = 100_000  # live rows in all tables; above this, TRUNCATE beats DELETE


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            if options.get("reset_sequences", True) or options.get("interactive", True):
                return super().handle(**options)
            return self.delete_rows(connection, options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")

    def delete_rows(self, connection, options):
        """Empty every table with DELETE when they hold few rows, else Django's TRUNCATE."""
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        with connection.cursor() as cursor:  # the statistics' count: an estimate is enough to choose
            cursor.execute("SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables "
                           "WHERE schemaname = current_schema() AND relname = ANY(%s)", [tables])
            if cursor.fetchone()[0] > FEW_ROWS:
                return super().handle(**options)
        quote = connection.ops.quote_name
        deletes = "; ".join(f"DELETE FROM {quote(table)}" for table in tables)  # noqa: S608 - Django's table names
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(deletes)
        if tables and not options.get("inhibit_post_migrate", False):
            for app_config in apps.get_app_configs():  # as Django's flush: their post_migrate receivers
                if find_spec(f"{app_config.name}.management") is not None:
                    import_module(f"{app_config.name}.management")
            emit_post_migrate_signal(options["verbosity"], False, connection.alias)
