"""Run by tests/ledger/test_sqlite_guards.py in a fresh, migrated SQLite database: prints one line per guard."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")

import django  # noqa: E402

django.setup()

from django.db import IntegrityError, connection, transaction  # noqa: E402

from ledger import services  # noqa: E402
from ledger.models import CreditLot, SystemAccount  # noqa: E402

organization = services.organization_create(actor=services.SYSTEM, name="Probe", currency="INR",
                                            timezone_name="Asia/Kolkata")
master = organization.master_account
grant = services.credits_grant(actor=services.SYSTEM, account=master, amount="10", expires_in="1M")
other = services.organization_create(actor=services.SYSTEM, name="Other", currency="INR").master_account
issued = SystemAccount.objects.get(code="issued")
lot = CreditLot.objects.get()
PROBES = {
    "update posting": "UPDATE ledger_posting SET amount = amount * 2",
    "delete transaction": "DELETE FROM ledger_transaction",
    "posting of a missing transaction": (
        f"INSERT INTO ledger_posting (transaction_id, system_account_id, amount, created_at) "
        f"VALUES (987654, {issued.pk}, 1, '2026-01-01')"),
    "transaction of a missing account": (
        "INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at, "
        "actor_service, reference, memo, channel, country, category, traffic, period, metadata) "
        f"VALUES ('{organization.pk.hex}', 'ffffffffffffffffffffffffffffffff', 'grant', 'INR', 1, "
        "'2026-01-01', '', '', '', '', '', '', '', '', '{}')"),
    "posting on another organization's account": (
        f"INSERT INTO ledger_posting (transaction_id, account_id, amount, balance_after, created_at) "
        f"VALUES ({grant.pk}, '{other.pk.hex}', 1, 1, '2026-01-01')"),
    "delete referenced account": f"DELETE FROM ledger_account WHERE id = '{master.pk.hex}'",
    "delete referenced lot": f"DELETE FROM ledger_creditlot WHERE id = {lot.pk}",
    "delete system account": f"DELETE FROM ledger_systemaccount WHERE id = {issued.pk}",
    "delete referenced organization": f"DELETE FROM ledger_organization WHERE id = '{organization.pk.hex}'",
}
for name, sql in PROBES.items():
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
        print(f"{name}: allowed")
    except IntegrityError as exc:
        print(f"{name}: refused ({exc})")
