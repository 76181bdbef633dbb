"""Read paths at depth (issue 19): API keyset pages at boundaries with equal created_at, CSV exports in
keyset chunks (complete, newest first, none twice, the same cells as the JSON), the org dashboard's
latest entries, and the balance chart from the daily totals."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from ledger import daytotals, services
from ledger.admin.dashboard import LATEST_POSTINGS
from ledger.api import serializers as s
from ledger.finance import charts
from ledger.finance import csv as finance_csv
from ledger.models import Posting
from tests.api.helpers import token_client
from tests.factories import SYSTEM, make_org, make_subaccount

pytestmark = pytest.mark.django_db
ZERO = Decimal("0")


@pytest.fixture
def read_client_for(db):
    return lambda org: token_client(["read"], organizations=[org])

SAME = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)


def ties(master, count=7):
    """`count` charges written at the same instant (a batch stamps them all with one created_at)."""
    services.credits_grant(actor=SYSTEM, account=master, amount="100", expires_in="never", at=SAME)
    services.charge_batch(actor=SYSTEM, account=master, at=SAME,
                          items=[services.ChargeRequest(channel="sms", unit_price="1", reference=f"r{n}")
                                 for n in range(count)])
    return list(Posting.objects.filter(account=master).order_by("-created_at", "-id").values_list("id", flat=True))


def test_api_pages_at_boundaries_with_equal_created_at(read_client_for, money_path):
    master = make_org(name="Ties").master_account
    expected = ties(master)
    client = read_client_for(master.organization)
    seen, url = [], f"/api/v1/accounts/{master.pk}/ledger?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == expected  # every entry once, newest first, across pages that cut through equal instants


def test_api_csv_is_complete_and_the_same_as_the_json(read_client_for, monkeypatch):
    from ledger.api import views

    monkeypatch.setattr(views, "CSV_CHUNK_SIZE", 2)
    org = make_org(name="Csv")
    master = org.master_account
    shared = make_subaccount(org, "Campaigns", balance_mode="shared")
    expected = ties(master)
    services.charge_create(actor=SYSTEM, account=shared, channel="whatsapp", category="marketing",
                           unit_price="0.5", quantity=2, reference="=HYPERLINK(\"http://x\")")
    client = read_client_for(org)
    response = client.get(f"/api/v1/accounts/{master.pk}/ledger.csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    header, rows = lines[0].split(","), lines[1:]
    assert header == list(s.LedgerEntrySerializer().fields)
    json_rows = client.get(f"/api/v1/accounts/{master.pk}/ledger?page_size=100").json()["results"]
    assert [int(line.split(",")[0]) for line in rows] == [row["id"] for row in json_rows]
    assert [row["id"] for row in json_rows][1:] == expected
    newest = dict(zip(header, next(__import__("csv").reader([rows[0]])), strict=True))
    as_json = {key: "" if value is None else str(value) for key, value in json_rows[0].items()}
    assert newest == {**as_json, "reference": "'=HYPERLINK(\"http://x\")"}  # the formula neutralised


def test_finance_csv_in_small_chunks_is_complete(client, finance_user, monkeypatch):
    monkeypatch.setattr(finance_csv, "CHUNK_SIZE", 3)
    org = make_org(name="Chunks")
    master = org.master_account
    sub = make_subaccount(org, "Team")
    expected = ties(master, count=8)
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=sub, amount="5", at=SAME)
    client.force_login(finance_user)
    everything = list(Posting.objects.filter(account__organization=org)
                      .order_by("-transaction__created_at", "-id").values_list("id", flat=True))
    for url, wanted in ((reverse("finance:account_ledger_csv", args=[master.pk]), [
                            pk for pk in everything if pk in set(Posting.objects.filter(account=master)
                                                                 .values_list("id", flat=True))]),
                        (reverse("finance:org_ledger_csv", args=[org.pk]), everything)):
        lines = b"".join(client.get(url).streaming_content).decode().splitlines()
        assert [int(line.rsplit(",", 1)[1]) for line in lines[1:]] == wanted, url
    assert len(everything) == 11 and set(expected) < set(everything)


def test_keyset_values_reads_every_row_once_in_order(money_path):
    master = make_org(name="Keyset").master_account
    expected = ties(master, count=10)
    queryset = Posting.objects.filter(account=master)
    for size in (1, 2, 3, 11, 12, 100):
        rows = list(finance_csv.keyset_values(queryset, "created_at", ["amount", "id"], chunk_size=size))
        assert [pk for _, pk in rows] == expected, size


def test_dashboard_latest_entries_merge_every_account(money_path, monkeypatch):
    org = make_org(name="Latest")
    master = org.master_account
    sub = make_subaccount(org, "Team")
    services.credits_grant(actor=SYSTEM, account=master, amount="100", expires_in="never", at=SAME)
    for minute in range(25):
        account = master if minute % 2 else sub
        if account is sub and minute == 0:
            services.transfer_create(actor=SYSTEM, from_account=master, to_account=sub, amount="50",
                                     at=SAME + timedelta(minutes=minute))
        else:
            services.charge_create(actor=SYSTEM, account=account, channel="sms", unit_price="1",
                                   at=SAME + timedelta(minutes=minute))
    other = make_org(name="Other").master_account
    services.credits_grant(actor=SYSTEM, account=other, amount="1", expires_in="never", at=SAME + timedelta(hours=1))
    newest = list(Posting.objects.filter(account__organization=org).order_by("-created_at", "-id")
                  .values_list("id", flat=True)[:20])
    shown = LATEST_POSTINGS(organization_id=org.pk)
    assert [posting.pk for posting in shown] == newest
    assert shown[0].transaction.kind and shown[0].account.organization_id == org.pk  # read with the postings
    monkeypatch.setattr(connection, "vendor", "sqlite")  # make run's database: no LATERAL, the plain query
    assert [posting.pk for posting in LATEST_POSTINGS(organization_id=org.pk)] == newest


def test_balance_chart_from_totals_equals_chart_from_postings(money_path, monkeypatch):
    org = make_org(name="Chart", timezone_name="Asia/Kolkata")
    master = org.master_account
    now = datetime.now(UTC)
    services.credits_grant(actor=SYSTEM, account=master, amount="100", expires_in="never", at=now - timedelta(days=20))
    for days in (15, 10, 10, 3, 0):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="2",
                               at=now - timedelta(days=days, minutes=1))
    from_totals = charts.balance_series(org, days=30)
    usage = charts.usage_by_channel(org, days=30)
    monkeypatch.setattr(daytotals, "usable", lambda: False)
    assert charts.balance_series(org, days=30) == from_totals
    assert from_totals[-1][1] == Decimal("90") and from_totals[0][1] == ZERO
    assert usage == [("SMS", Decimal("10"))] == charts.usage_by_channel(org, days=30)



def test_an_org_admins_pages_ask_their_admin_role_once_whatever_the_number_of_accounts(client):
    """Who may buy for which account asked `is_org_admin_of` once per account: 100 queries on a 100-account org."""
    from ledger import selectors
    from tests.admin.conftest import user_with_role

    org = make_org(name="Wide")
    user = user_with_role(selectors.ROLE_ORG_ADMIN, "wide-admin")
    org.admins.add(user)
    client.force_login(user)
    pages = [reverse("finance:org_ledger", args=[org.pk]), reverse("finance:reports", args=[org.pk]),
             reverse("admin:ledger_organization_change", args=[org.pk])]

    def queries(url):
        from django.test.utils import CaptureQueriesContext
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    make_subaccount(org, name="Sub 0")
    before = [queries(url) for url in pages]
    for index in range(1, 11):
        make_subaccount(org, name=f"Sub {index}")
    assert [queries(url) for url in pages] == before
