"""Reference for bench/writes.py: django-hordak's `Account.transfer_to` on the same PostgreSQL server.

Runs in its own virtual environment (django-hordak is no dependency of this project; bench/writes.py
creates var/hordak-venv with `pip install django-hordak psycopg[binary]`), on its own database.

    var/hordak-venv/bin/python bench/hordak_transfers.py setup --database-url postgres://.../bench_writes_hordak
    var/hordak-venv/bin/python bench/hordak_transfers.py run --database-url ... --threads 4 --count 400

`run` prints one JSON line: {"threads": 4, "transfers": 400, "seconds": 0.9, "per_second": 444.4}.
Each transfer is one `transfer_to` (a transaction and its two legs) in its own atomic block, between two
asset accounts of one pair per process (a hot pair, like the hot account of the charges).
"""

import argparse
import gc
import json
import threading
import time
from urllib.parse import urlparse


def configure(database_url: str) -> None:
    import django
    from django.conf import settings

    url = urlparse(database_url)
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "mptt", "djmoney", "hordak"],
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/"),
                               "USER": url.username or "", "PASSWORD": url.password or "",
                               "HOST": url.hostname or "", "PORT": url.port or "", "CONN_MAX_AGE": None}},
        USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField", SECRET_KEY="bench-only",
        DEFAULT_CURRENCY="USD", CURRENCIES=["USD"],
    )
    django.setup()


def setup(database_url: str) -> None:
    import psycopg

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    configure(database_url)
    from django.core.management import call_command
    from hordak.models import Account

    call_command("migrate", verbosity=0)
    Account.objects.create(name="Hot A", code="A", type=Account.TYPES.asset, currencies=["USD"])
    Account.objects.create(name="Hot B", code="B", type=Account.TYPES.asset, currencies=["USD"])


def run(database_url: str, threads: int, count: int) -> dict:
    configure(database_url)
    from django.db import connection, transaction
    from djmoney.money import Money
    from hordak.models import Account

    gc.freeze()  # as bench/writes.py does for this project's code (a gunicorn worker's setting)
    per_thread = count // threads
    ready = threading.Barrier(threads + 1)

    def work():
        a, b = Account.objects.get(code="A"), Account.objects.get(code="B")
        amount = Money("0.01", "USD")
        ready.wait()
        for i in range(per_thread):
            with transaction.atomic():
                (a if i % 2 == 0 else b).transfer_to(b if i % 2 == 0 else a, amount)
        connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    done = per_thread * threads
    return {"threads": threads, "transfers": done, "seconds": seconds, "per_second": done / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["setup", "run"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.database_url)
    else:
        print(json.dumps(run(args.database_url, args.threads, args.count)))


if __name__ == "__main__":
    main()
