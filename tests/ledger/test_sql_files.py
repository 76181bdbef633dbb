"""The SQL in the database is the current SQL of ledger/sql/, and migrations pin what they apply."""

import importlib
import pkgutil
import re

import pytest
from django.db import connection, transaction

import ledger.migrations
from ledger import sqlfiles

pytestmark = pytest.mark.django_db

FUNCTIONS_SQL = """
SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema() AND p.proname LIKE 'ledger\\_%%' ORDER BY 1, 2
"""
TRIGGERS_SQL = """
SELECT t.tgname, t.tgrelid::regclass::text, pg_get_triggerdef(t.oid) FROM pg_trigger t
WHERE NOT t.tgisinternal AND t.tgname LIKE 'ledger\\_%%' ORDER BY 1, 2
"""
CURRENT_FILES = sorted(path.relative_to(sqlfiles.CURRENT_DIR).as_posix()
                       for path in sqlfiles.CURRENT_DIR.rglob("*.sql"))
POSTGRESQL_FILES = [path for path in CURRENT_FILES if sqlfiles.vendor_of(path) == "postgresql"]


def _installed() -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS_SQL)
        functions = cursor.fetchall()
        cursor.execute(TRIGGERS_SQL)
        triggers = cursor.fetchall()
    return functions, triggers


def _declared(kind: str) -> set[str]:
    pattern = {"function": r"CREATE OR REPLACE FUNCTION (ledger_\w+)\(",
               "trigger": r"CREATE (?:OR REPLACE |CONSTRAINT )?TRIGGER (ledger_\w+)"}[kind]
    return {name for path in POSTGRESQL_FILES
            for name in re.findall(pattern, (sqlfiles.CURRENT_DIR / path).read_text())}


def test_the_database_holds_exactly_the_current_sql_files(postgres_only):
    """Applying every current file again changes nothing, and nothing ledger_* exists that no file declares."""
    before = _installed()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for path in POSTGRESQL_FILES:
                for statement in sqlfiles.statements((sqlfiles.CURRENT_DIR / path).read_text()):
                    cursor.execute(statement)
        after = _installed()
        transaction.set_rollback(True)
    assert after == before, "a current file differs from what the migrations installed: add a migration"
    functions, triggers = before
    assert {name for name, _ in functions} == _declared("function")
    assert {name for name, _, _ in triggers} == _declared("trigger")


def _pins() -> dict[str, list[tuple[str, str]]]:
    """Every (migration, digest) pinned per current file, in migration order."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for module in sorted(name for _, name, _ in pkgutil.iter_modules(ledger.migrations.__path__)):
        migration = importlib.import_module(f"ledger.migrations.{module}").Migration
        for operation in migration.operations:
            if isinstance(operation, sqlfiles.ApplyCurrentSQL):
                for path, digest in operation.pinned.items():
                    pins.setdefault(path, []).append((module, digest))
    return pins


def test_the_latest_migration_of_each_current_file_pins_its_text():
    pins = _pins()
    assert set(pins) == set(CURRENT_FILES), "every current file is applied by a migration"
    for path, applied in pins.items():
        module, digest = applied[-1]
        current = sqlfiles.sha256((sqlfiles.CURRENT_DIR / path).read_text())
        assert current.startswith(digest), (
            f"ledger/sql/{path} changed since {module} applied it: freeze the old text and add a migration")
        for module, digest in applied:
            assert sqlfiles.pinned_text(path, digest)  # every migration still finds the text it was written for


def test_frozen_copies_are_history_only():
    """Frozen copies are what their name says, and none of them is the current text (that is the live file).

    A pinned copy (`name@digest.sql`) is the exact text a migration pinned; the files of the migrations
    before 0019 say in their first line that they are frozen.
    """
    current = {sqlfiles.sha256((sqlfiles.CURRENT_DIR / path).read_text()) for path in CURRENT_FILES}
    for frozen in sqlfiles.FROZEN_DIR.glob("*.sql"):
        digest = sqlfiles.sha256(frozen.read_text())
        assert digest not in current
        if "@" in frozen.stem:
            assert digest.startswith(frozen.stem.split("@")[1])
        else:
            assert frozen.read_text().startswith("-- Frozen:")
