"""Finance across orgs: the landing page, cross-org usage with its charts, expired credits with PO and grant date."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ledger import services
from ledger.finance.panels import LandingPanel, landing_panels
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount
from tests.payments.conftest import ensure_payment_defaults
from tests.payments.helpers import start_top_up

pytestmark = pytest.mark.django_db
SYSTEM = services.SYSTEM


@pytest.fixture
def orgs(db):
    """Acme (INR) with usage today, an expired lot with a PO and one expiring soon; Globex (USD) below zero."""
    now = timezone.now()
    acme = make_org(name="Acme")
    pilot = make_subaccount(acme, name="Pilot")
    services.credits_grant(actor=SYSTEM, account=pilot, amount="2000", expires_in="1M", purchase_order="PO-0101",
                           at=now - timedelta(days=45))
    services.lots_expire(at=now)
    services.credits_grant(actor=SYSTEM, account=acme.master_account, amount="1000", expires_in="1M",
                           purchase_order="PO-0202", at=now - timedelta(days=20))
    services.charge_create(actor=SYSTEM, account=acme.master_account, channel="sms", quantity=10,
                           unit_price="1.2345", traffic="transactional")
    globex = make_org(name="Globex", currency="USD", timezone_name="America/New_York", payment_scheme="postpaid",
                      credit_limit="20000")
    services.charge_create(actor=SYSTEM, account=globex.master_account, channel="whatsapp", quantity=3,
                           unit_price="4066.945500", traffic="transactional", category="marketing")
    return acme, globex


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_finance_lands_on_totals_usage_expiries_top_ups_and_negatives_each_linking_to_a_ledger(client, orgs):
    acme, globex = orgs
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:index"))
    content = response.content.decode()
    inr = re.search(r'<tr data-currency="INR">.*?</tr>', content, re.S).group(0)
    assert "₹987.66" in inr  # 1000 - 12.345, rounded to paise
    assert inr.count("₹12.35") == 2  # usage today and this month
    usd = re.search(r'<tr data-currency="USD">.*?</tr>', content, re.S).group(0)
    assert "-$12,200.84" in usd and "1 account" in usd
    expiries = re.search(r'id="expiries">.*?</table>', content, re.S).group(0)
    assert reverse("finance:org_ledger", args=[acme.pk]) in expiries and "₹987.66" in expiries
    negatives = re.search(r'id="negative-balances">.*?</table>', content, re.S).group(0)
    assert reverse("finance:account_ledger", args=[globex.master_account.pk]) in negatives
    pending = re.search(r'id="panel-pending_topups".*?</div>', content, re.S).group(0)
    assert "No top-up is waiting for its payment." in pending  # the slot the payments app fills
    assert "-$12,200.8365" not in content and "987.655" not in content


def test_the_pending_top_ups_slot_lists_top_ups_waiting_for_their_payment(client, orgs):
    acme, _ = orgs
    ensure_payment_defaults()
    top_up = start_top_up(acme.master_account, amount="1000")
    client.force_login(user_with_role("Finance", "fin"))
    content = client.get(reverse("finance:index")).content.decode()
    pending = re.search(r'id="panel-pending_topups".*?</div>', content, re.S).group(0)
    assert f'data-top-up="{top_up.pk}"' in pending and "₹1,000.00" in pending and "₹1,180.00" in pending


def test_a_registered_panel_fills_its_slot(client, orgs):
    panel = LandingPanel(slot="pending_topups", title="Pending top-ups", template="finance/_report_filters.html",
                         context=lambda user, organizations: {"count": organizations.count()})
    installed = landing_panels._panels.get("pending_topups")
    landing_panels.register(panel)
    try:
        client.force_login(user_with_role("Finance", "fin"))
        content = client.get(reverse("finance:index")).content.decode()
        slot = re.search(r'id="panel-pending_topups".*?</div>', content, re.S).group(0)
        assert "payments app" not in slot and "<form" in slot
    finally:
        landing_panels.register(installed)


def test_expired_credits_across_orgs_show_the_lot_s_po_and_grant_date(client, orgs):
    acme, _ = orgs
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:expired_credits"))
    (row,) = re.findall(r'<tr class="expiry-row">.*?</tr>', response.content.decode(), re.S)
    grant = timezone.now() - timedelta(days=45)
    assert "PO-0101" in row and "₹2,000.00" in row and "Acme" in row
    assert f"{grant.astimezone(acme.tz):%Y-%m-%d %H:%M} IST" in row
    assert 'class="finance-chart"' not in response.content.decode()  # all currencies: no chart that would add them up
    response = client.get(reverse("finance:expired_credits"), {"currency": "INR"})
    assert 'class="finance-chart"' in response.content.decode() and "Credits granted vs expired" in response.content.decode()
    table = list(csv.DictReader(io.StringIO(b"".join(
        client.get(reverse("finance:expired_credits_csv")).streaming_content).decode())))
    assert [(row["purchase_order"], row["amount"], row["granted_amount"]) for row in table] == [
        ("PO-0101", "2000.000000", "2000.000000")]


def test_usage_across_orgs_has_the_three_charts_and_a_csv_with_fixed_places(client, orgs):
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:usage_overview"), {"currency": "USD"})
    content = response.content.decode()
    for title in ("Usage by channel and month", "Credits granted vs expired", "Balance of all USD orgs"):
        assert f"<title>{title}</title>" in content, title
    assert "$12,200.84" in content and "WhatsApp" in content
    table = list(csv.DictReader(io.StringIO(b"".join(
        client.get(reverse("finance:usage_overview_csv"), {"currency": "USD"}).streaming_content).decode())))
    assert [(row["organization"], row["channel"], row["amount"], row["quantity"]) for row in table] == [
        ("Globex", "whatsapp", "12200.836500", "3")]
    assert client.get(reverse("finance:usage_overview"), {"currency": "DEM"}).status_code == 400


def test_the_org_reports_page_draws_its_charts(client, orgs):
    acme, _ = orgs
    client.force_login(user_with_role("Finance", "fin"))
    content = client.get(reverse("finance:reports", args=[acme.pk])).content.decode()
    charts = re.search(r'id="report-charts">.*?</div>', content, re.S).group(0)
    assert charts.count("<svg") == 3 and "Org total balance" in charts


def test_org_admins_see_their_orgs_only_and_subaccount_users_are_sent_to_their_ledger(client, orgs):
    acme, globex = orgs
    admin = user_with_role("Org admin", "oa")
    acme.admins.add(admin)
    client.force_login(admin)
    content = client.get(reverse("finance:index")).content.decode()
    assert 'data-currency="INR"' in content and 'data-currency="USD"' not in content
    assert "Globex" not in client.get(reverse("finance:expired_credits")).content.decode()
    owner = user_with_role("Subaccount user", "owner")
    pilot = acme.accounts.get(name="Pilot")
    pilot.owner = owner
    pilot.save(update_fields=["owner"])
    client.force_login(owner)
    assert client.get(reverse("finance:index"))["Location"] == reverse("finance:my_ledger")
    assert client.get(reverse("finance:usage_overview")).status_code == 403
