"""The console as people use it, in Chromium at 1366 px: the activity timeline after staff actions, a banner
that follows a charge, finance's landing page, a report with its charts, and the bad-timezone form error."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AccountThreshold
from alerts.services import account_alerts_check
from ledger import selectors, services
from ratecards.services import rate_card_version_create
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]
WIDE = 1366


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def org(transactional_db):
    org = make_org(name="Acme Retail")
    make_subaccount(org, name="Support OTP")
    rate_card_version_create(actor=services.SYSTEM, organization=org, rates=[
        {"channel": "sms", "country": None, "category": None, "unit_price": "0.25"}])
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="5000", expires_in="6M",
                           purchase_order="PO-0001")
    for day in range(3):
        services.charge_create(actor=services.Actor(service="campaign-engine"), account=org.master_account,
                               channel="sms", quantity=1000 + day, traffic="transactional")
    return org


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDE


def submit_action(page, live_server, org, slug, fields: dict):
    page.goto(f"{live_server.url}{reverse(f'admin:ledger_organization_{slug}', args=[org.pk])}")
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click("#submit-action")
    page.wait_for_selector("#balance-value")


def test_the_timeline_shows_who_and_why_after_a_grant_a_removal_and_a_limit_change(wide_page, live_server, org,
                                                                                   screenshots):
    page = wide_page
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "priya")
    log_in(page, live_server, "priya")
    submit_action(page, live_server, org, "add-credits", {"#id_amount": "1200", "#id_purchase_order": "PO-2026-0211",
                                                         "#id_comment": "Festival top-up, invoice INV-8841"})
    submit_action(page, live_server, org, "remove-credits", {"#id_amount": "250.5",
                                                            "#id_comment": "Duplicate grant of last week"})
    submit_action(page, live_server, org, "credit-limit", {"#id_amount": "800", "#id_temporary_days": "14",
                                                          "#id_comment": "Black Friday volume, approved by CFO"})
    page.click("#org-links a[data-link=activity]")
    page.wait_for_selector("#activity")
    rows = [re.sub(r"\s+", " ", text) for text in page.locator("#activity tr.activity-row").all_inner_texts()]
    assert "Credit limit" in rows[0] and "priya" in rows[0] and "Black Friday volume, approved by CFO" in rows[0]
    assert "₹0.00 → ₹800.00" in rows[0] and "temporary for 14 days" in rows[0]
    assert "Removal" in rows[1] and "₹250.50" in rows[1] and "Duplicate grant of last week" in rows[1]
    assert "Grant" in rows[2] and "PO PO-2026-0211" in rows[2] and "Festival top-up, invoice INV-8841" in rows[2]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d IST", row) for row in rows[:3])
    assert any("campaign-engine" in row and "(service)" in row for row in rows)  # the token's charges
    assert fits(page)
    page.screenshot(path=str(screenshots / "activity_timeline.png"), full_page=True)
    page.locator("#activity tr.activity-row").nth(1).locator("a.activity-link").click()  # its ledger entry
    page.wait_for_selector("#content h2, #content-main")
    assert "Removal #" in page.locator("#content").inner_text()


def test_a_banner_follows_a_charge_with_the_live_figure(wide_page, live_server, org, screenshots):
    page = wide_page
    support = org.accounts.get(name="Support OTP")
    services.transfer_create(actor=services.SYSTEM, from_account=org.master_account, to_account=support,
                             amount="500")
    AccountThreshold.objects.create(account=support, low_credit_threshold="600")
    assert [n.kind for n in account_alerts_check(account_id=support.pk)] == ["low_balance"]
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "priya")
    log_in(page, live_server, "priya")
    url = f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}"
    page.goto(url)
    banner = page.locator(".alert-banner[data-kind=low_balance]")
    assert "Available now: ₹500.00, at or below the threshold of ₹600.00" in banner.inner_text()
    page.screenshot(path=str(screenshots / "banner_before_charge.png"))
    services.charge_create(actor=services.Actor(service="campaign-engine"), account=support, channel="sms",
                           quantity=493, traffic="transactional")  # 123.25: no alert check has run since
    page.goto(url)
    text = page.locator(".alert-banner[data-kind=low_balance]").inner_text()
    assert "Available now: ₹376.75" in text and "₹500.00" not in text
    page.screenshot(path=str(screenshots / "banner_after_charge.png"))
    services.credits_grant(actor=services.SYSTEM, account=support, amount="1000")
    page.goto(url)
    assert page.locator(".alert-banner[data-kind=low_balance]").count() == 0  # gone with the condition


def test_finance_lands_on_its_page_and_opens_a_report_with_charts(wide_page, live_server, org, screenshots):
    page = wide_page
    globex = make_org(name="Globex", currency="USD", timezone_name="America/New_York", payment_scheme="postpaid",
                      credit_limit="20000")
    services.charge_create(actor=services.SYSTEM, account=globex.master_account, channel="sms", quantity=1,
                           unit_price="12200.8365", traffic="transactional")
    services.credits_grant(actor=services.SYSTEM, account=org.accounts.get(name="Support OTP"), amount="300",
                           expires_in="1M", purchase_order="PO-0199", at=timezone.now() - timedelta(days=10))
    user_with_role(selectors.ROLE_FINANCE, "femi")
    log_in(page, live_server, "femi")
    assert page.url.endswith(reverse("finance:index"))  # landed on the finance page, not a model list
    assert "₹4,549.25" in page.locator("#totals tr[data-currency=INR]").inner_text()  # 5000 - 750.75 + 300
    assert "-$12,200.84" in page.locator("#negative-balances").inner_text()
    assert "PO" not in page.locator("#expiries").inner_text() and "₹300.00" in page.locator("#expiries").inner_text()
    assert page.locator("#panel-pending_topups").count() == 1
    assert fits(page)
    page.screenshot(path=str(screenshots / "finance_landing.png"), full_page=True)
    page.locator("#organizations a", has_text="Reports").first.click()
    page.wait_for_selector("#report-charts")
    assert page.locator("#report-charts svg.finance-chart").count() == 3
    titles = page.locator("#report-charts svg > title").evaluate_all("elements => elements.map(e => e.textContent)")
    assert {"Usage by channel and month", "Credits granted vs expired"} <= set(titles)
    assert fits(page)
    page.screenshot(path=str(screenshots / "report_with_charts.png"), full_page=True)
    page.goto(f"{live_server.url}{reverse('finance:usage_overview')}?currency=INR")
    assert page.locator("#report-charts svg.finance-chart").count() == 3
    page.screenshot(path=str(screenshots / "usage_across_orgs.png"), full_page=True)


def test_a_bad_timezone_is_a_form_error_on_the_org_page(wide_page, live_server, org, screenshots):
    page = wide_page
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "priya")
    log_in(page, live_server, "priya")
    response = page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert response.status == 200 and fits(page)
    page.fill("#id_timezone", "Mars/Base")
    with page.expect_navigation() as navigation:
        page.click("input[name=_save]")
    assert navigation.value.status == 200
    assert "were not saved" in page.locator("#settings-not-saved").inner_text()  # said at the top, too
    error = page.locator(".field-timezone .errorlist").inner_text()
    assert "'Mars/Base' is not an IANA timezone." in error
    page.locator(".field-timezone").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "bad_timezone_error.png"), full_page=True)
    org.refresh_from_db()
    assert org.timezone == "Asia/Kolkata" and org.master_account.balance == Decimal("4249.25")
