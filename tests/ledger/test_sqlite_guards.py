"""The zero-setup SQLite database keeps the ledger guards after the last migration.

SQLite drops a table's triggers when a migration rebuilds the table; this migrates a fresh SQLite file
in a subprocess and runs tests/ledger/sqlite_guards_probe.py against it.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("sqlite_guards_probe.py")


def test_every_ledger_guard_holds_on_a_freshly_migrated_sqlite_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'guards.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "creditsite.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    probe = subprocess.run([sys.executable, str(PROBE)], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert len(lines) == 9, probe.stdout
    assert all(": refused (" in line for line in lines), probe.stdout
