"""The staff console in a real browser: find an org by wallet ID, add credits, and finance's read-only view."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import selectors, services
from ledger.models import Transaction
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def org(transactional_db):
    org = make_org(name="Acme Messaging")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="1000", expires_in="6M",
                           purchase_order="PO-1")
    make_subaccount(org, name="Marketing")
    make_subaccount(org, name="Support", balance_mode="shared")
    make_org(name="Globex", currency="USD", timezone_name="UTC")
    return org


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_staff_finds_org_by_wallet_id_and_adds_credits(page, live_server, org, screenshots):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_changelist')}")
    page.fill("#searchbar", org.wallet_id)
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "₹1,000.00" in rows.first.inner_text()
    rows.first.locator("a", has_text="Acme Messaging").click()
    assert page.locator("#wallet-id").inner_text() == org.wallet_id
    assert page.locator("#balance-value").inner_text() == "₹1,000.00"
    page.screenshot(path=str(screenshots / "org_page_staff_before.png"), full_page=True)

    page.click("a[data-action=add-credits]")
    assert page.locator("#id_expires_in input[value='6M']").is_checked()
    page.fill("#id_amount", "500")
    page.check("#id_expires_in input[value='3M']")
    page.fill("#id_purchase_order", "PO-2024-17")
    page.fill("#id_comment", "Browser test top-up")
    page.screenshot(path=str(screenshots / "add_credits_form.png"), full_page=True)
    page.click("#submit-action")
    page.wait_for_selector("#balance-value")

    assert "Added ₹500.00 to Master account (expires: 3 months, PO PO-2024-17)." in page.locator(
        "ul.messagelist").inner_text()
    assert page.locator("#balance-value").inner_text() == "₹1,500.00"
    assert page.locator("#available-value").inner_text() == "₹1,500.00"
    first_row = page.locator("#ledger tr.ledger-row").first.inner_text()
    assert "Grant" in first_row and "+₹500.00" in first_row and "₹1,500.00" in first_row and "PO-2024-17" in first_row
    assert page.locator("#lots tbody tr").count() == 2
    page.screenshot(path=str(screenshots / "org_page_staff.png"), full_page=True)

    txn = Transaction.objects.filter(organization=org, kind="grant").latest("created_at")
    assert txn.amount == Decimal("500") and txn.metadata["expires_in"] == "3M"
    assert org.master_account.balance == Decimal("1500")

    # a double submit of one rendered form (same hidden idempotency key) adds once
    page.click("a[data-action=add-credits]")
    page.fill("#id_amount", "250")
    statuses = page.evaluate(
        """async () => {
            const form = document.getElementById('action-form');
            const send = () => fetch(location.href, {method: 'POST', body: new FormData(form),
                                                     credentials: 'same-origin', redirect: 'manual'});
            const [first, second] = await Promise.all([send(), send()]);
            return [first.type, second.type];
        }""")
    assert statuses == ["opaqueredirect", "opaqueredirect"]
    assert org.master_account.balance == Decimal("1750")
    assert Transaction.objects.filter(organization=org, kind="grant", amount=Decimal("250")).count() == 1


def test_finance_sees_no_add_credit_button_and_cannot_post(page, live_server, org, screenshots):
    user_with_role(selectors.ROLE_FINANCE, "fin")
    log_in(page, live_server, "fin")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert page.locator("#balance-value").inner_text() == "₹1,000.00"
    assert page.locator("a[data-action]").count() == 0
    assert page.get_by_text("Add credits").count() == 0
    page.screenshot(path=str(screenshots / "org_page_finance.png"), full_page=True)

    url = reverse("admin:ledger_organization_add-credits", args=[org.pk])
    assert page.goto(f"{live_server.url}{url}").status == 403
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    status = page.evaluate(
        """async ([url, account]) => {
            const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
            const body = new URLSearchParams({csrfmiddlewaretoken: token, account, amount: '100',
                                              expires_in: '3M', form_token: 'none'});
            const response = await fetch(url, {method: 'POST', body, credentials: 'same-origin'});
            return response.status;
        }""",
        [url, str(org.master_account.pk)],
    )
    assert status == 403
    assert org.master_account.balance == Decimal("1000")
    assert not Transaction.objects.filter(organization=org, amount=Decimal("100")).exists()


def test_finance_walks_from_the_org_page_to_its_ledger_reports_and_rate_card(page, live_server, org, screenshots):
    user_with_role(selectors.ROLE_FINANCE, "fin")
    log_in(page, live_server, "fin")
    page.click("#nav-finance")  # the header links to the finance pages from every admin page
    page.wait_for_selector("#q")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    page.click("#org-links a[data-link=finance-ledger]")
    page.wait_for_selector("form.finance-filters")
    filters = page.locator("form.finance-filters").inner_text()
    assert "[invalid name]" not in filters and "Kind:" in filters and "Channel:" in filters
    assert page.locator("nav ol.breadcrumbs li").count() == 4  # Home › Finance › org › Ledger, styled
    assert page.locator("nav ol.breadcrumbs").evaluate("e => getComputedStyle(e).paddingLeft") != "0px"
    page.screenshot(path=str(screenshots / "finance_org_ledger.png"), full_page=True)
    page.go_back()
    page.click("#org-links a[data-link=reports]")
    page.wait_for_selector("#usage-by-channel")
    page.go_back()
    page.click("#org-links a[data-link=rate-card]")
    page.wait_for_selector("#rate-card-side-by-side, #content-main")
    assert page.locator("nav ol.breadcrumbs").count() == 1


def test_staff_pick_an_org_admin_by_searching(page, live_server, org, screenshots):
    """The org admins picker is Django's autocomplete: type part of a name, pick, save."""
    from tests.factories import UserFactory

    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    UserFactory(username="dana-ops", email="dana@example.com")
    for n in range(30):
        UserFactory(username=f"bulk-{n}")
    log_in(page, live_server, "pat")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert page.locator("select[name=admins] option").count() == 0  # no user listed until searched
    page.locator("details:has(#id_admins) summary").click()
    page.locator("#id_admins + .select2").click()
    page.keyboard.type("dana")
    option = page.locator(".select2-results__option", has_text="dana-ops")
    option.wait_for()
    assert page.locator(".select2-results__option").count() == 1
    option.click()
    page.screenshot(path=str(screenshots / "org_admins_picker.png"), full_page=True)
    page.fill("#id_reason", "Dana runs their campaigns")
    page.click("input[name=_continue]")
    page.wait_for_selector("ul.messagelist")
    assert list(org.admins.values_list("username", flat=True)) == ["dana-ops"]
    assert page.locator("select[name=admins] option").all_text_contents() == ["dana-ops"]
