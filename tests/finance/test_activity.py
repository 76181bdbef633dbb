"""The org activity timeline: who did what, when, why and for how much, from every source, in keyset pages."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AccountThreshold
from ledger import services
from ledger.activity import (
    ActivityEvent,
    ActivitySource,
    Window,
    activity_iter,
    activity_page,
    activity_sources,
)
from ledger.history import history_actor
from ledger.models import CreditLimitChange, Transaction
from ratecards.services import rate_card_version_create
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(db):
    """Acme: staff grant, removal and limit change with reasons; a service's charge and hold; settings changes."""
    org = make_org(name="Acme")
    pat = user_with_role("Platform staff", "pat")
    staff = services.Actor(user=pat)
    master = org.master_account
    rate_card_version_create(actor=staff, organization=org, rates=[
        {"channel": "sms", "country": None, "category": None, "unit_price": "0.25"}], note="Launch prices")
    services.credits_grant(actor=staff, account=master, amount="1000", expires_in="3M", purchase_order="PO-77",
                           comment="Q1 purchase")
    services.credits_remove(actor=staff, account=master, amount="120.5", comment="=SUM(A1) correction")
    services.credit_limit_set(actor=staff, account=master, amount="300", temporary_days=7, comment="Diwali peak")
    engine = services.Actor(service="campaign-engine", token_id=7)
    services.charge_create(actor=engine, account=master, channel="sms", quantity=40, country="IN",
                           reference="camp-9")
    services.hold_create(actor=engine, account=master, amount="50", reference="Friday blast")
    services.organization_update(actor=staff, organization=org, name="Acme Retail", reason="Brand rename")
    threshold = AccountThreshold(account=make_subaccount(org, name="OTP"), low_credit_threshold="75")
    history_actor(threshold, staff, "OTP must never stop")
    threshold.save()
    org.refresh_from_db()
    return org, pat


def rows(response) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r'<tr class="activity-row.*?</tr>', response.content.decode(), re.S)]


def test_the_timeline_shows_who_when_why_how_much_and_links_to_the_entry(client, story):
    org, pat = story
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:activity", args=[org.pk]))
    assert response.status_code == 200
    lines = rows(response)
    text = "\n".join(lines)
    grant = next(line for line in lines if line.split(" IST ")[1].startswith("Grant"))
    assert "₹1,000.00 to Master account" in grant and "PO PO-77" in grant and "pat" in grant
    assert "Q1 purchase" in grant and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d IST", grant)
    assert re.search(r"Removal ₹120.50 from Master account pat =SUM\(A1\) correction ₹120.50", text)
    assert re.search(r"Credit limit Master account: ₹0.00 → ₹300.00, temporary for 7 days until .* IST pat "
                     r"Diwali peak ₹300.00", text)
    assert re.search(r"Charge ₹10.00 for SMS IN × 40 on Master account campaign-engine \(service\) camp-9", text)
    assert re.search(r"Hold placed ₹50.00 reserved on Master account .* campaign-engine \(service\) Friday blast", text)
    assert re.search(r"Setting change name: Acme → Acme Retail pat Brand rename", text)
    assert re.search(r"Rate card v1: created, in force since .* pat Created", text)
    assert re.search(r"Account threshold OTP: own threshold set to ₹75.00 pat OTP must never stop", text)
    grant_txn = Transaction.objects.get(organization=org, kind="grant")
    assert f'href="{reverse("admin:ledger_transaction_change", args=[grant_txn.pk])}"' in response.content.decode()


def test_filters_by_source_who_and_date(client, story):
    org, _ = story
    client.force_login(user_with_role("Finance", "fin"))
    url = reverse("finance:activity", args=[org.pk])
    limits = rows(client.get(url, {"source": "credit_limit"}))
    assert len(limits) == 1 and "Credit limit" in limits[0]
    by_service = rows(client.get(url, {"actor": "campaign"}))
    assert len(by_service) == 2 and all("campaign-engine" in line for line in by_service)
    tomorrow = (timezone.now().astimezone(org.tz) + timedelta(days=1)).date()
    assert rows(client.get(url, {"date_from": tomorrow.isoformat()})) == []
    bad = client.get(url, {"date_from": "2026-12-31", "date_to": "2026-01-01"})
    assert bad.status_code == 400 and "must not be before" in bad.content.decode()
    staff_only = client.get(url + "?" + client.get(url).context["staff_only_query"])
    assert not any("campaign-engine" in line for line in rows(staff_only))


def test_keyset_pages_cross_sources_without_gaps_or_repeats_even_on_equal_times(story):
    org, pat = story
    moment = timezone.now() - timedelta(hours=1)
    staff = services.Actor(user=pat)
    for i in range(30):  # grants and limit changes at the very same instant
        services.credits_grant(actor=staff, account=org.master_account, amount=str(i + 1), at=moment)
        if i % 3 == 0:
            CreditLimitChange.objects.create(account=org.master_account, amount=i, previous_limit=0,
                                             created_at=moment, actor_user=pat)
    every = list(activity_iter(org, chunk=7))
    keys = [event.sort_key for event in every]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    walked, cursor = [], None
    while True:
        page = activity_page(org, limit=11, window=Window(before=cursor))
        walked += page.events
        if page.next_cursor is None:
            break
        cursor = page.events[-1].sort_key
    assert [event.sort_key for event in walked] == keys


def test_a_crafted_cursor_is_the_first_page_never_a_500(client, story):
    org, _ = story
    client.force_login(user_with_role("Finance", "fin"))
    url = reverse("finance:activity", args=[org.pk])
    first = rows(client.get(url))
    for cursor in ("garbage", "MjAyNi0xMi0wMXxub3BlfDE", "MjAyNnxtb25leXx4"):
        response = client.get(url, {"after": cursor})
        assert response.status_code == 200 and rows(response) == first


def test_org_admins_see_their_orgs_timeline_only_and_csv_needs_the_export_permission(client, story):
    org, _ = story
    other = make_org(name="Globex", currency="USD")
    admin = user_with_role("Org admin", "oa")
    org.admins.add(admin)
    client.force_login(admin)
    assert client.get(reverse("finance:activity", args=[org.pk])).status_code == 200
    assert client.get(reverse("finance:activity", args=[other.pk])).status_code == 404
    assert client.get(reverse("finance:activity_csv", args=[org.pk])).status_code == 200  # export_ledger (0022)
    assert client.get(reverse("finance:activity_csv", args=[other.pk])).status_code == 404
    from django.contrib.auth.models import Group, Permission

    Group.objects.get(name="Org admin").permissions.remove(Permission.objects.get(codename="export_ledger"))
    admin = type(admin).objects.get(pk=admin.pk)  # forget the cached permissions
    client.force_login(admin)
    assert client.get(reverse("finance:activity_csv", args=[org.pk])).status_code == 403
    client.force_login(user_with_role("Subaccount user", "su"))
    assert client.get(reverse("finance:activity", args=[org.pk])).status_code in (403, 404)


def test_the_csv_export_has_fixed_decimals_iso_times_and_no_formulas(client, story):
    org, _ = story
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:activity_csv", args=[org.pk]), {"source": ["money", "credit_limit"]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["source"] for row in table} == {"money", "credit_limit"}
    removal = next(row for row in table if row["kind"] == "Removal")
    assert removal["amount"] == "120.500000" and removal["currency"] == "INR"
    assert removal["reason"] == "'=SUM(A1) correction" and removal["actor"] == "pat"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+05:30", removal["time"])
    assert removal["link"].startswith("http://testserver/admin/ledger/transaction/")


def test_a_new_source_plugs_in_with_one_registration(client, story):
    org, _ = story

    class TopUpSource(ActivitySource):  # what the payments app will register for its top-ups
        name, label = "topups", "Top-ups"

        def events(self, organization, window, limit):
            return [ActivityEvent(at=timezone.now(), source=self.name, pk=1, kind="Top-up paid",
                                  summary="₹500.00 paid by card", actor="payments", actor_type="service",
                                  amount=Decimal("500"), currency="INR")]

    activity_sources.register(TopUpSource())
    try:
        client.force_login(user_with_role("Finance", "fin"))
        page = client.get(reverse("finance:activity", args=[org.pk]))
        assert "Top-up paid ₹500.00 paid by card payments" in rows(page)[0]
        assert 'value="topups"' in page.content.decode()  # and it is a filter choice
    finally:
        activity_sources._sources.pop("topups")
