"""Exports for the customer: org admins download CSV and print their own orgs' ledgers and the six-month usage
export (same filters as finance, streamed); another org's are 404."""

import csv
import io

import pytest
from django.urls import reverse

from ledger import services

pytestmark = pytest.mark.django_db


def rows(response):
    assert response.status_code == 200 and response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def used_org(org):
    services.charge_create(actor=services.SYSTEM, account=org.master_account, channel="sms", quantity=10,
                           country="IN", unit_price="0.5", reference="camp-1")
    return org


def test_org_admin_exports_own_org(org_admin_client, used_org, other_org):
    client, org = org_admin_client, used_org
    ledger = rows(client.get(reverse("finance:org_ledger_csv", args=[org.pk])))
    assert sorted(line["kind"] for line in ledger) == ["charge", "grant"]
    filtered = rows(client.get(reverse("finance:org_ledger_csv", args=[org.pk]), {"kind": "charge"}))
    assert [line["amount"] for line in filtered] == ["-5.000000"]
    usage = rows(client.get(reverse("finance:usage_csv", args=[org.pk])))
    assert [(line["channel"], line["quantity"]) for line in usage] == [("sms", "10")]
    assert rows(client.get(reverse("finance:topups_csv", args=[org.pk])))[0]["kind"] == "grant"
    assert rows(client.get(reverse("finance:account_ledger_csv", args=[org.master_account.pk])))
    printed = client.get(reverse("finance:org_ledger_print", args=[org.pk]))
    assert printed.status_code == 200 and "camp-1" in printed.content.decode()
    page = client.get(reverse("finance:org_ledger", args=[org.pk])).content.decode()
    assert reverse("finance:org_ledger_csv", args=[org.pk]) in page
    for name in ("finance:org_ledger_csv", "finance:org_ledger_print", "finance:usage_csv", "finance:topups_csv",
                 "finance:reports"):
        assert client.get(reverse(name, args=[other_org.pk])).status_code == 404, name
    assert client.get(reverse("finance:account_ledger_csv", args=[other_org.master_account.pk])).status_code == 404


def test_subaccount_user_still_has_no_org_export(client, used_org, alice):
    client.force_login(alice)
    for name in ("finance:org_ledger_csv", "finance:usage_csv"):
        assert client.get(reverse(name, args=[used_org.pk])).status_code in (403, 404)


def test_org_admin_payments_report_csv_covers_own_orgs(org_admin_client, used_org):
    page = org_admin_client.get(reverse("finance_payments:report"))
    assert page.status_code == 200 and page.context["can_export"]
    response = org_admin_client.get(reverse("finance_payments:report"), {"format": "csv", "table": "reconciliation"})
    assert response.status_code == 200 and response.streaming  # 403 before org admins had export_ledger
