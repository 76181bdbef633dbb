"""The SQL the ORM cannot say (functions, triggers), as migrations apply it.

`ledger/sql/` holds the current SQL: one file per PostgreSQL function with the triggers that run it
(`functions/<name>.sql`) and the SQLite guards (`sqlite_guards.sql`); every statement in them can run
again. A migration applies a current file pinned by the SHA-256 of its text: when the file changes
later, the migration finds the text it was written for among the frozen copies in
`ledger/migrations/sql/` (`<name>@<first 12 hex digits>.sql`), so an old migration never runs newer SQL.
The migrations before 0019 apply whole frozen files of their own (`ledger/migrations/sql/NNNN_*.sql`)
with forward and reverse parts. tests/ledger/test_sql_files.py checks that the database holds exactly
what the current files say.
"""

import hashlib
from pathlib import Path

from django.db import migrations

CURRENT_DIR = Path(__file__).resolve().parent / "sql"
FROZEN_DIR = Path(__file__).resolve().parent / "migrations" / "sql"
VENDORS = {"postgresql", "sqlite"}


def vendor_of(path: str) -> str:
    """The database a current file is for: PostgreSQL functions, or the SQLite guards."""
    return "sqlite" if path.endswith("sqlite_guards.sql") else "postgresql"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pinned_text(path: str, digest: str) -> str:
    """The text of current file `path` (relative to ledger/sql/) whose SHA-256 starts with `digest`.

    The current file if it still has that text, else its frozen copy; a migration whose text is in
    neither fails with what to do.
    """
    current = CURRENT_DIR / path
    if current.exists() and sha256(current.read_text()).startswith(digest):
        return current.read_text()
    frozen = FROZEN_DIR / f"{Path(path).stem}@{digest[:12]}.sql"
    if frozen.exists() and sha256(frozen.read_text()).startswith(digest):
        return frozen.read_text()
    raise FileNotFoundError(
        f"ledger/sql/{path} no longer has the text a migration pinned ({digest[:12]}): keep that text (from git) "
        f"as {frozen.relative_to(FROZEN_DIR.parent.parent)} and apply the new file in a new migration.")


def statements(sql: str) -> list[str]:
    """Split on top-level semicolons, keeping $$-quoted bodies and BEGIN ... END; blocks whole."""
    found, current, in_dollar = [], [], False
    for line in sql.splitlines():
        if line.strip().startswith("--") and not in_dollar:
            continue
        current.append(line)
        in_dollar ^= line.count("$$") % 2 == 1
        stripped = line.strip()
        if not in_dollar and stripped.endswith(";") and (not stripped.startswith("BEGIN") or "END;" in stripped):
            statement = "\n".join(current).strip()
            if statement:
                found.append(statement)
            current = []
    return found


class ApplyCurrentSQL(migrations.RunPython):
    """A migration operation applying current SQL files, each pinned by the start of its SHA-256.

    `pinned` maps a path under ledger/sql/ to its digest; each file runs on its own database only.
    `reverse_sql` maps a vendor to the statements that undo the operation there (none: irreversible).
    """

    def __init__(self, pinned: dict[str, str], reverse_sql: dict[str, list[str]] | None = None):
        self.pinned = pinned

        def forward(apps, schema_editor):
            vendor = schema_editor.connection.vendor
            for path, digest in pinned.items():
                if vendor_of(path) == vendor:
                    for statement in statements(pinned_text(path, digest)):
                        schema_editor.execute(statement, params=None)

        def backward(apps, schema_editor):
            for statement in (reverse_sql or {}).get(schema_editor.connection.vendor, []):
                schema_editor.execute(statement, params=None)

        super().__init__(forward, backward if reverse_sql is not None else None)


def frozen_statements(name: str, vendor: str, part: int = 0, starting: str = "") -> list[str]:
    """Statements of frozen migration file ledger/migrations/sql/NAME.<vendor>.sql (part 0 forward, 1 reverse)."""
    parts = _parts(name, vendor)
    if parts is None:
        return []
    return [statement for statement in statements(parts[part]) if statement.startswith(starting)]


def _parts(name: str, vendor: str) -> tuple[str, str] | None:
    path = FROZEN_DIR / f"{name}.{vendor}.sql"
    if not path.exists():
        return None
    text = path.read_text()
    forward, reverse = text.split("-- reverse", 1)
    return forward.split("-- forward", 1)[1], reverse


def run_sql_file(name: str, restores: tuple[str, ...] = ()) -> migrations.RunPython:
    """A migration operation that applies (and on reverse, undoes) frozen file ledger/migrations/sql/NAME.<vendor>.sql.

    `restores` names earlier files whose functions or triggers this file replaces: on reverse their
    forward part is applied again after this file's reverse part (which drops what it would re-create).
    """

    def apply(direction: int):
        def run(apps, schema_editor):
            vendor = schema_editor.connection.vendor
            found = frozen_statements(name, vendor, direction)
            if direction == 1:
                for earlier in restores:
                    found += frozen_statements(earlier, vendor)
            for statement in found:
                schema_editor.execute(statement, params=None)

        return run

    return migrations.RunPython(apply(0), apply(1))


def run_statements(forward: dict[str, list[str]], reverse: dict[str, list[str]]) -> migrations.RunPython:
    """A migration operation running the statements given for the database in use, and others on reverse."""
    def run(by_vendor):
        def apply(apps, schema_editor):
            for statement in by_vendor.get(schema_editor.connection.vendor, []):
                schema_editor.execute(statement, params=None)
        return apply

    return migrations.RunPython(run(forward), run(reverse))


_kept_triggers: dict[str, list[tuple[str, str]]] = {}


def sqlite_guards_rebuilt(*operations) -> list:
    """Schema operations that rebuild ledger tables on SQLite, wrapped so that the guard triggers survive.

    SQLite rebuilds a table for AddField with a default or a changed CHECK constraint, which drops the
    table's triggers and fails on triggers of other tables that name it. The ledger's triggers are kept
    aside and dropped before the operations and created again, exactly as they were, after them (in
    either direction); PostgreSQL keeps its triggers across ALTER TABLE, so nothing runs there.
    """

    def keep(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger\\_%' "
                           "ESCAPE '\\' ORDER BY name")
            kept = cursor.fetchall()
        _kept_triggers[schema_editor.connection.alias] = kept
        for name, _ in kept:
            schema_editor.execute(f"DROP TRIGGER {name}", params=None)

    def restore(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for _, sql in _kept_triggers.pop(schema_editor.connection.alias, []):
            schema_editor.execute(sql, params=None)

    return [migrations.RunPython(keep, restore), *operations, migrations.RunPython(restore, keep)]
