"""The purchase screens, pending banners, confirmation, receipts and finance's records in the admin."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import selectors
from ledger import services as ledger
from ledger.models import Transaction
from payments import tasks
from payments.models import Payment, TopUp, TopUpStatus
from tests.admin.conftest import user_with_role
from tests.factories import make_org

from .helpers import deliver, sandbox_body, start_top_up


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin)
    return client


def form_data(org, **overrides):
    data = {"account": str(org.master_account.pk), "amount": "1000", "billing_name": "Acme Retail Pvt Ltd",
            "billing_address": "4 Brigade Road, Bengaluru", "billing_country": "IN", "billing_state": "KA",
            "billing_tax_id": "", "billing_email": "", "provider": "sandbox",
            "idempotency_key": "6c1f1f3e-0000-4000-8000-000000000001", "stage": "review"}
    return {**data, **overrides}


def with_token(client, url, data: dict) -> dict:
    """The record-payment form's data with the one-time token of a fresh rendering of the form."""
    page = client.get(url).content.decode()
    return {**data, "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1)}


def buy_url(org):
    return reverse("admin:payments_topup_buy", args=[org.pk])


def test_the_buy_form_lists_accounts_that_hold_funds(org, admin_client):
    page = admin_client.get(buy_url(org)).content.decode()
    assert "Master account" in page and "Marketing" in page and "Support" not in page
    assert "Karnataka (KA)" in page and 'value="sandbox"' in page


def test_review_shows_net_tax_and_total_then_payment_opens_the_checkout(org, admin_client):
    review = admin_client.post(buy_url(org), form_data(org))
    page = review.content.decode()
    assert review.status_code == 200 and 'id="review"' in page
    assert "₹1,000.00" in page and "CGST" in page and "SGST" in page and "₹1,180.00" in page
    confirm = admin_client.post(buy_url(org), form_data(org, stage="confirm"))
    top_up = TopUp.objects.get()
    assert confirm.status_code == 302 and confirm["Location"] == top_up.checkout_url
    assert (top_up.status, top_up.total, top_up.created_by.username) == ("pending", Decimal("1180.00"), "orgadmin")
    # a double submit of the same review (same hidden key) opens the same checkout, no second top-up
    again = admin_client.post(buy_url(org), form_data(org, stage="confirm"))
    assert again["Location"] == top_up.checkout_url and TopUp.objects.count() == 1
    # Back, another amount, the same key: asked to check, then a new key goes on
    changed = admin_client.post(buy_url(org), form_data(org, stage="confirm", amount="2000"))
    assert changed.status_code == 400 and "already started with other values" in changed.content.decode()


def test_outside_the_limits_is_a_form_error_naming_them(org, admin_client):
    response = admin_client.post(buy_url(org), form_data(org, amount="50"))
    assert response.status_code == 400
    assert "₹100.00" in response.content.decode() and "₹100,000.00" in response.content.decode()
    missing_state = admin_client.post(buy_url(org), form_data(org, billing_state=""))
    assert missing_state.status_code == 400 and "Choose the state" in missing_state.content.decode()


def test_pending_payments_show_on_every_admin_page_with_complete_and_cancel(org, admin_client, org_admin):
    top_up = start_top_up(org.master_account, "500", actor=ledger.Actor(user=org_admin))
    for url in (reverse("admin:index"), reverse("admin:ledger_organization_change", args=[org.pk]),
                reverse("finance:index")):
        page = admin_client.get(url).content.decode()
        assert "Pending payment" in page and top_up.checkout_url in page, url
        assert reverse("admin:payments_topup_cancel", args=[top_up.pk]) in page
    cancelled = admin_client.post(reverse("admin:payments_topup_cancel", args=[top_up.pk]))
    assert cancelled.status_code == 302 and cancelled["Location"].startswith(buy_url(org))
    assert TopUp.objects.get(pk=top_up.pk).status == TopUpStatus.CANCELLED
    assert "Pending payment" not in admin_client.get(reverse("admin:index")).content.decode()


def test_staff_see_an_orgs_pending_payments_on_its_pages_only(org, client, org_admin):
    start_top_up(org.master_account, "500", actor=ledger.Actor(user=org_admin))
    client.force_login(user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat"))
    assert "Pending payment" in client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
    assert "Pending payment" not in client.get(reverse("admin:index")).content.decode()


def test_confirmation_page_offers_the_tax_invoice(org, admin_client, org_admin):
    top_up = start_top_up(org.master_account, "500", actor=ledger.Actor(user=org_admin))
    confirmation = reverse("admin:payments_topup_confirmation", args=[top_up.pk])
    assert "Waiting for the payment" in admin_client.get(confirmation).content.decode()
    deliver(sandbox_body(top_up))
    top_up.refresh_from_db()
    page = admin_client.get(confirmation).content.decode()
    assert top_up.invoice_number in page and "Download the tax invoice" in page
    receipt = admin_client.get(reverse("admin:payments_topup_receipt", args=[top_up.pk]))
    assert receipt["Content-Type"] == "application/pdf" and receipt.content.startswith(b"%PDF")
    org_page = admin_client.get(reverse("admin:ledger_organization_change", args=[org.pk]) + "?panels=inline")
    org_page = org_page.content.decode()
    assert f"{top_up.invoice_number} (PDF)" in org_page and 'id="buy-credits"' in org_page


def test_the_sandbox_page_pays_through_the_signed_webhook(org, client, org_admin, monkeypatch):
    top_up = start_top_up(org.master_account, "500", actor=ledger.Actor(user=org_admin))
    sent = []
    monkeypatch.setattr(tasks.send_sandbox_event, "delay", lambda *args: sent.append(args))
    checkout = client.get(top_up.checkout_url)
    assert checkout.status_code == 200 and "₹590.00" in checkout.content.decode()
    response = client.post(top_up.checkout_url, {"outcome": "pay"})
    assert response.status_code == 302 and sent == [(str(top_up.pk), "payment.succeeded",
                                                     "http://testserver/api/v1/payments/webhooks/sandbox")]
    assert client.get("/payments/sandbox/not-a-token/").status_code == 404


def test_others_cannot_buy_or_see(org, client, defaults):
    finance = user_with_role(selectors.ROLE_FINANCE, "fin")
    client.force_login(finance)
    assert client.get(buy_url(org)).status_code == 403
    stranger = user_with_role(selectors.ROLE_ORG_ADMIN, "stranger")
    client.force_login(stranger)
    assert client.get(buy_url(org)).status_code == 404
    top_up = start_top_up(org.master_account, "500")
    assert client.get(reverse("admin:payments_topup_confirmation", args=[top_up.pk])).status_code == 404
    assert client.post(reverse("admin:payments_topup_cancel", args=[top_up.pk])).status_code == 404


def test_a_subaccount_user_buys_user_credits_when_the_org_allows(org, client):
    user = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "sub")
    marketing = org.accounts.get(name="Marketing")
    marketing.owner = user
    marketing.save(update_fields=["owner"])
    client.force_login(user)
    assert client.get(buy_url(org)).status_code == 403
    org.individual_user_credits = True
    org.save(update_fields=["individual_user_credits"])
    page = client.get(buy_url(org)).content.decode()
    assert "Marketing" in page and "Master account" not in page
    assert "nav-buy-credits" in client.get(reverse("admin:index")).content.decode()


def test_finance_records_a_bank_transfer_against_a_pending_top_up(org, client, defaults):
    top_up = start_top_up(org.master_account, "1000", provider="bank_transfer")
    assert re.match(r"TU-[0-9A-F]{10}", top_up.provider_reference)
    client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    url = reverse("admin:payments_topup_record_payment", args=[top_up.pk])
    data = with_token(client, url, {"reference": "UTR123", "received_on": "2026-05-04", "amount": "1000"})
    wrong = client.post(url, data)
    assert wrong.status_code == 400 and "1180" in wrong.content.decode()
    response = client.post(url, {**data, "amount": "1180"})  # corrected: the same form (token) goes on
    assert response.status_code == 302
    top_up.refresh_from_db()
    assert top_up.status == TopUpStatus.PAID and top_up.provider_payment_id == "UTR123"
    duplicate = client.post(url, with_token(client, url, {"reference": "UTR123", "received_on": "2026-05-04",
                                                          "amount": "1180"}))
    assert duplicate.status_code in (400, 409) and Payment.objects.count() == 1


def test_finance_records_a_payment_against_a_postpaid_invoice(client, defaults):
    globex = make_org(name="Globex", currency="USD", timezone_name="UTC", payment_scheme="postpaid",
                      credit_limit="1000")
    master = globex.master_account
    ledger.charge_create(actor=ledger.SYSTEM, account=master, channel="sms", unit_price="300", quantity=1,
                         at=datetime(2026, 4, 10, tzinfo=UTC))
    [invoice] = ledger.postpaid_month_close(organization=globex, at=datetime(2026, 5, 1, 0, 5, tzinfo=UTC))
    client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    url = reverse("admin:payments_invoice_record_payment", args=[invoice.pk])
    assert "outstanding $300.00" in client.get(url).content.decode()
    too_much = client.post(url, with_token(client, url, {"reference": "WIRE-1", "received_on": "2026-05-04",
                                                         "amount": "301"}))
    assert too_much.status_code == 400
    data = with_token(client, url, {"reference": "WIRE-1", "received_on": "2026-05-04", "amount": "200"})
    assert client.post(url, data).status_code == 302
    payment = Transaction.objects.get(kind="payment")
    assert payment.amount == Decimal("200") and payment.metadata["invoice"] == str(invoice.pk)
    assert sum(p.amount for p in payment.postings.all()) == 0
    assert "outstanding $100.00" in client.get(url).content.decode()


def test_staff_set_the_purchase_expiry_and_individual_user_credits_on_the_org_page(org, client):
    client.force_login(user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat"))
    response = client.post(reverse("admin:ledger_organization_change", args=[org.pk]), {
        "name": org.name, "timezone": org.timezone, "payment_scheme": "prepaid", "purchase_expires_in": "1Y",
        "individual_user_credits": "on"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.purchase_expires_in, org.individual_user_credits) == ("1Y", True)
    assert org.history.first().individual_user_credits is True


def test_platform_staff_buy_on_a_customers_behalf(org, client):
    staff = user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    client.force_login(staff)
    response = client.post(buy_url(org), form_data(org, stage="confirm", account=str(org.accounts.get(
        name="Marketing").pk)))
    top_up = TopUp.objects.get()
    assert response.status_code == 302 and top_up.created_by == staff and top_up.account.name == "Marketing"


def test_admin_pages_show_amounts_through_the_money_formatter(org, admin_client, org_admin):
    """Top-up and payment pages (view-only) show amounts and tax lines like every other screen: ₹1,180.00."""
    top_up = start_top_up(org.master_account, "1000", actor=ledger.Actor(user=org_admin))
    deliver(sandbox_body(top_up))
    change = admin_client.get(reverse("admin:payments_topup_change", args=[top_up.pk])).content.decode()
    assert "₹1,000.00" in change and "₹180.00" in change and "₹1,180.00" in change
    assert "CGST 9%: ₹90.00; SGST 9%: ₹90.00" in change
    assert "1000.000000" not in change and "1180.00</" not in change and '"amount":' not in change
    payment = Payment.objects.get(top_up=top_up)
    admin_client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    shown = admin_client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert "₹1,180.00" in shown and "1180.000000" not in shown


def test_a_record_payment_form_records_once_whatever_back_and_resubmit_do(client, defaults):
    """Back to the submitted form and send it again (or a second tab, a double click): one payment. The
    reference is changed on the resubmit so that only the one-time token, not the unique reference, stops it."""
    globex = make_org(name="Globex", currency="USD", timezone_name="UTC", payment_scheme="postpaid",
                      credit_limit="1000")
    ledger.charge_create(actor=ledger.SYSTEM, account=globex.master_account, channel="sms", unit_price="300",
                         quantity=1, at=datetime(2026, 4, 10, tzinfo=UTC))
    [invoice] = ledger.postpaid_month_close(organization=globex, at=datetime(2026, 5, 1, 0, 5, tzinfo=UTC))
    client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    url = reverse("admin:payments_invoice_record_payment", args=[invoice.pk])
    data = with_token(client, url, {"reference": "WIRE-1", "received_on": "2026-05-04", "amount": "100"})
    first = client.post(url, data)
    assert first.status_code == 302
    again = client.post(url, {**data, "reference": "WIRE-2"}, follow=True)
    assert again.status_code == 200 and "Already recorded" in again.content.decode()
    assert Transaction.objects.filter(kind="payment").count() == 1 and Payment.objects.count() == 1
    forged = client.post(url, {**data, "reference": "WIRE-3", "form_token": "forged"})
    assert forged.status_code == 400 and "expired" in forged.content.decode()
    top_up = start_top_up(make_org(name="Acme").master_account, "1000", provider="bank_transfer")
    top_up_url = reverse("admin:payments_topup_record_payment", args=[top_up.pk])
    form = with_token(client, top_up_url, {"reference": "UTR9", "received_on": "2026-05-04", "amount": "1180"})
    assert client.post(top_up_url, form).status_code == 302
    resent = client.post(top_up_url, {**form, "reference": "UTR10"}, follow=True)
    assert "Already recorded" in resent.content.decode() and Payment.objects.filter(top_up=top_up).count() == 1
    assert Transaction.objects.filter(kind="payment").count() == 1


def test_a_pending_top_up_is_a_banner_on_its_org_pages_until_it_expires(admin_client, org, usd_org, buyer, monkeypatch):
    org_page = reverse("admin:ledger_organization_change", args=[org.pk])
    assert "pending-payment-banner" not in admin_client.get(org_page).content.decode()
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    start_top_up(usd_org.master_account, "20", actor=ledger.SYSTEM)  # another org's: not shown here
    html = admin_client.get(org_page).content.decode()
    assert html.count('class="pending-payment-banner"') == 1 and f'data-top-up="{top_up.pk}"' in html
    later = top_up.expires_at + timedelta(seconds=1)
    monkeypatch.setattr("payments.selectors.timezone.now", lambda: later)  # past its 24 hours
    assert "pending-payment-banner" not in admin_client.get(org_page).content.decode()
