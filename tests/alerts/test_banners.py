"""Org page banners with live figures, gone with their condition, worded per payment scheme; thresholds per account."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from alerts.models import AccountThreshold, Notification, NotificationKind
from alerts.selectors import live_banners, threshold_for
from alerts.services import account_alerts_check, alert_settings_get_or_create, notification_create
from ledger import services
from tests.factories import SYSTEM, make_org, make_subaccount

pytestmark = pytest.mark.django_db


def charge(account, amount):
    return services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=1, unit_price=amount,
                                  traffic="transactional")


def text_of(html: str) -> str:
    return re.sub(r"\s+([,.:])", r"\1", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def banners_on_page(client, org) -> list[str]:
    page = client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
    return [text_of(block) for block in re.findall(r'<div class="alert-banner .*?</div>', page, re.S)]


def test_a_low_balance_banner_shows_the_live_figure_and_goes_with_the_condition(client, django_user_model):
    org = make_org(name="Acme")
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="150")
    charge(master, "60")
    assert [n.kind for n in account_alerts_check(account_id=master.pk)] == ["low_balance"]
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    (banner,) = banners_on_page(client, org)
    assert "Available now: ₹90.00, at or below the threshold of ₹100.00" in banner and "Add credits" in banner
    charge(master, "40.256")  # no alert check has run since: the banner still tells the truth
    (banner,) = banners_on_page(client, org)
    assert "Available now: ₹49.74" in banner and "₹90.00" not in banner
    services.credits_grant(actor=SYSTEM, account=master, amount="100")  # 149.74 >= 100: gone at once
    assert banners_on_page(client, org) == []
    assert Notification.objects.get(kind="low_balance").dismissed_at is None  # before any check dismissed it


def test_negative_balance_wording_fits_the_payment_scheme(db):
    prepaid = make_org(name="Pre")
    charge(prepaid.master_account, "25")
    account_alerts_check(account_id=prepaid.master_account.pk)
    postpaid = make_org(name="Post", currency="USD", timezone_name="UTC", payment_scheme="postpaid",
                        credit_limit="20000")
    charge(postpaid.master_account, "12200.8365")
    account_alerts_check(account_id=postpaid.master_account.pk)

    (pre,) = [b for b in live_banners(prepaid) if b.kind == NotificationKind.NEGATIVE_BALANCE]
    assert pre.live and pre.facts["balance"] == Decimal("-25")
    (post,) = [b for b in live_banners(postpaid) if b.kind == NotificationKind.NEGATIVE_BALANCE]
    assert post.facts["available"] == Decimal("7799.1635")

    from django.template.loader import render_to_string

    text = text_of(render_to_string("alerts/_org_banners.html", {"organization": postpaid}))
    assert "Master account is using its credit" in text
    assert "Balance now: -$12,200.84" in text and "$7,799.16 of the $20,000.00 credit limit is left" in text
    assert "repay" not in text.lower()
    text = text_of(render_to_string("alerts/_org_banners.html", {"organization": prepaid}))
    assert "Negative balance on Master account" in text and "Add credits to repay it" in text


def test_other_notices_say_when_their_figures_were_true(db):
    org = make_org(name="Acme")
    notification_create(organization=org, kind=NotificationKind.RATECARD_ACTIVATED, level="info",
                        title="Rate card version 2 is in effect", message="Prices of v2 apply.", email=False)
    (banner,) = live_banners(org)
    assert not banner.live
    from django.template.loader import render_to_string

    text = text_of(render_to_string("alerts/_org_banners.html", {"organization": org}))
    assert re.search(r"At \d{4}-\d\d-\d\d \d\d:\d\d IST it was: Prices of v2 apply\.", text)


def test_thresholds_apply_per_account_with_the_org_s_as_default(db):
    org = make_org(name="Acme")
    alert_settings_get_or_create(organization=org)  # INR 100 for the org
    small = make_subaccount(org, name="Small team")
    otp = make_subaccount(org, name="OTP")
    services.credits_grant(actor=SYSTEM, account=small, amount="50")
    services.credits_grant(actor=SYSTEM, account=otp, amount="5000")
    AccountThreshold.objects.create(account=small, low_credit_threshold="10")
    AccountThreshold.objects.create(account=otp, low_credit_threshold="6000")
    assert threshold_for(small) == Decimal("10") and threshold_for(org.master_account) == Decimal("100")
    assert account_alerts_check(account_id=small.pk) == []  # 50 >= its own 10, though below the org's 100
    (fired,) = account_alerts_check(account_id=otp.pk)  # 5000 < its own 6000
    assert fired.kind == "low_balance" and fired.data["threshold"] == "6000.000000"


def test_org_admins_set_their_own_accounts_thresholds_only(client, db):
    from tests.admin.conftest import user_with_role

    org, other = make_org(name="Acme"), make_org(name="Globex", currency="USD", timezone_name="UTC")
    admin_user = user_with_role("Org admin", "oa")
    org.admins.add(admin_user)
    client.force_login(admin_user)
    url = reverse("admin:alerts_accountthreshold_add")
    page = client.get(url).content.decode()
    assert "Acme / Master account" in page and "Globex" not in page
    refused = client.post(url, {"account": other.master_account.pk, "low_credit_threshold": "5"})
    assert refused.status_code == 200 and "account" in refused.context["adminform"].form.errors
    saved = client.post(url, {"account": org.master_account.pk, "low_credit_threshold": "250"})
    assert saved.status_code == 302
    record = AccountThreshold.objects.get(account=org.master_account)
    assert record.low_credit_threshold == Decimal("250") and record.history.get().history_user == admin_user
    assert not AccountThreshold.objects.filter(account=other.master_account).exists()


def test_at_the_threshold_the_alert_the_banner_and_the_console_status_all_say_low(client, django_user_model):
    """One boundary everywhere: available equal to the threshold is low (the alert fires "when it reaches" it)."""
    org = make_org(name="Edge")
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="100")  # INR threshold 100: exactly at it
    assert [n.kind for n in account_alerts_check(account_id=master.pk)] == ["low_balance"]
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    (banner,) = banners_on_page(client, org)
    assert "Available now: ₹100.00, at or below the threshold of ₹100.00" in banner
    page = client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
    assert 'id="org-status" data-status="low"' in page
    listed = client.get(reverse("admin:ledger_organization_changelist"), {"balance": "low"})
    assert [row.name for row in listed.context["cl"].result_list] == ["Edge"]
    services.credits_grant(actor=SYSTEM, account=master, amount="0.01")  # above it: OK everywhere
    assert banners_on_page(client, org) == []
    page = client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
    assert 'data-status="ok"' in page
