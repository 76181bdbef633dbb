"""The README's configuration table names every environment variable the code reads, each exactly once."""

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# django-environ reads (env.str("NAME", ...)), os.environ reads, and ${NAME} in the scripts
PYTHON_READS = re.compile(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"|os\.environ(?:\.get\(|\[)\s*"([A-Z][A-Z0-9_]*)"')
SHELL_READS = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
SOURCES = [*sorted((ROOT / "creditsite").glob("*.py")), ROOT / "ops" / "collectors.py"]
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE"}  # set by the entry points themselves


def _read_by_code() -> set[str]:
    names = set()
    for path in SOURCES:
        if path.name == "test_settings.py":
            continue
        names |= {a or b for a, b in PYTHON_READS.findall(path.read_text())}
    for path in (ROOT / "scripts").glob("*.sh"):
        names |= set(SHELL_READS.findall(path.read_text()))
    return names - NOT_CONFIGURATION


def _table_names() -> Counter:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = Counter()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split(" | ", 1)[0]))
    return names


def test_every_variable_the_code_reads_is_in_the_table_once():
    read, documented = _read_by_code(), _table_names()
    assert {"SECRET_KEY", "GUNICORN_WORKERS", "PROMETHEUS_MULTIPROC_DIR", "REDIS_URL"} <= read  # the scan works
    assert sorted(read - set(documented)) == []
    assert sorted(name for name, count in documented.items() if count > 1) == []
    assert sorted(set(documented) - read) == []  # no row for a variable nothing reads
