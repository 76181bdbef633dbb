"""Runs the versioned SQL files of ledger/sql/ from migrations, for the database in use."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent / "sql"


def _parts(name: str, vendor: str) -> tuple[str, str] | None:
    path = SQL_DIR / f"{name}.{vendor}.sql"
    if not path.exists():
        return None
    text = path.read_text()
    forward, reverse = text.split("-- reverse", 1)
    return forward.split("-- forward", 1)[1], reverse


def _statements(sql: str) -> list[str]:
    """Split on top-level semicolons, keeping $$-quoted bodies and BEGIN ... END; blocks whole."""
    statements, current, in_dollar = [], [], False
    for line in sql.splitlines():
        if line.strip().startswith("--") and not in_dollar:
            continue
        current.append(line)
        in_dollar ^= line.count("$$") % 2 == 1
        stripped = line.strip()
        if not in_dollar and stripped.endswith(";") and (not stripped.startswith("BEGIN") or "END;" in stripped):
            statement = "\n".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
    return statements


def run_sql_file(name: str, restores: tuple[str, ...] = ()) -> migrations.RunPython:
    """A migration operation that applies (and on reverse, undoes) ledger/sql/NAME.<vendor>.sql.

    `restores` names earlier files whose functions or triggers this file replaces: on reverse their
    forward part is applied again after this file's reverse part (which drops what it would re-create).
    """

    def apply(direction: int):
        def run(apps, schema_editor):
            vendor = schema_editor.connection.vendor
            parts = _parts(name, vendor)
            if parts is None:
                return
            statements = _statements(parts[direction])
            if direction == 1:
                for earlier in restores:
                    statements += _statements(_parts(earlier, vendor)[0])
            for statement in statements:
                schema_editor.execute(statement, params=None)

        return run

    return migrations.RunPython(apply(0), apply(1))


def sqlite_guards_rebuilt(*operations) -> list:
    """Schema operations that rebuild ledger tables on SQLite, wrapped so the 0012 guard triggers survive.

    SQLite rebuilds a table for AddField with a default or a changed CHECK constraint, which drops the
    table's triggers and fails on triggers of other tables that name it. The guards of 0012 are
    dropped before the operations and created again after them; PostgreSQL keeps its triggers across
    ALTER TABLE, so nothing extra runs there.
    """

    def guards(direction: int):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "sqlite":
                for statement in _statements(_parts("0012_ledger_references", "sqlite")[direction]):
                    schema_editor.execute(statement, params=None)

        return run

    drop, create = guards(1), guards(0)
    return [migrations.RunPython(drop, create), *operations, migrations.RunPython(create, drop)]
