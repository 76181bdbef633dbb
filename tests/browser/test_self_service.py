"""In Chromium: a subaccount user transfers their own credits with the conditions tick (refused without it), and
an org blocked by the stop-when-depleted policy says so on its pages while the API answers 402 org_blocked."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import selectors, services
from ledger.models import Transaction, TransactionKind
from tests.admin.conftest import user_with_role
from tests.api.helpers import token_client, with_rate_card
from tests.factories import make_org, make_subaccount

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def individual_org(transactional_db):
    org = make_org(name="Acme Retail India")
    services.organization_update(actor=services.SYSTEM, organization=org, individual_user_credits=True,
                                 transfer_conditions="Transfers are final and keep the credits' expiry dates.")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="500", expires_in="6M")
    alice = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "alice")
    sales = make_subaccount(org, name="Sales (Alice)", owner=alice)
    services.transfer_create(actor=services.SYSTEM, from_account=org.master_account, to_account=sales, amount="100")
    return org


def test_subaccount_user_transfers_with_the_conditions_tick(page, live_server, individual_org, screenshots):
    sales = individual_org.accounts.get(name="Sales (Alice)")
    log_in(page, live_server, "alice")
    page.wait_for_selector("#my-credits")  # alice lands on her credits
    assert page.locator(f"tr[data-account='{sales.pk}'] .balance").inner_text() == "₹100.00"
    page.click(f"tr[data-account='{sales.pk}'] a.transfer-link")
    page.wait_for_selector("#transfer-form")
    assert "keep the credits' expiry dates" in page.locator("#conditions-text").inner_text()
    page.check("input[name=direction][value=to_master]")
    page.fill("#id_amount", "40")
    page.fill("#id_comment", "Campaign finished early")
    page.click("#submit-transfer")  # without the tick: refused, nothing moved
    page.wait_for_selector(".field-agree .errorlist")
    assert "Tick the box" in page.locator(".field-agree .errorlist").inner_text()
    page.screenshot(path=str(screenshots / "self_service_transfer_refused.png"), full_page=True)
    sales.refresh_from_db()
    assert sales.balance == Decimal("100") and not Transaction.objects.filter(actor_user__username="alice").exists()

    page.check("#id_agree")
    page.screenshot(path=str(screenshots / "self_service_transfer_form.png"), full_page=True)
    page.click("#submit-transfer")
    page.wait_for_selector("#my-credits")
    assert "Transferred ₹40.00" in page.locator(".messagelist").inner_text()
    assert page.locator(f"tr[data-account='{sales.pk}'] .balance").inner_text() == "₹60.00"
    page.screenshot(path=str(screenshots / "self_service_transfer_done.png"), full_page=True)
    # Back to the sent form and submit it again: nothing moves twice
    page.go_back()
    page.wait_for_selector("#form-used, #transfer-form")
    if page.locator("#transfer-form").count():
        page.check("#id_agree")
        page.click("#submit-transfer")
        page.wait_for_selector("#my-credits")
    sales.refresh_from_db()
    assert sales.balance == Decimal("60")
    assert Transaction.objects.filter(kind=TransactionKind.TRANSFER, actor_user__username="alice").count() == 1


@pytest.fixture
def blocked_org(transactional_db):
    org = with_rate_card(make_org(name="Depleted Ltd"))
    services.organization_update(actor=services.SYSTEM, organization=org, spending_policy="stop_when_depleted")
    admin = user_with_role(selectors.ROLE_ORG_ADMIN, "olga")
    org.admins.add(admin)
    return org


def test_an_org_blocked_by_stop_when_depleted_says_so(page, live_server, blocked_org, screenshots):
    org = blocked_org
    client = token_client(["charge"], organizations=[org])
    response = client.post("/api/v1/charges", {"account": str(org.master_account.pk), "channel": "sms",
                                               "country": "IN", "traffic": "transactional"},
                           format="json", HTTP_IDEMPOTENCY_KEY="blocked-1")
    assert response.status_code == 402 and response.json()["code"] == "org_blocked"
    assert "blocked until it recharges" in response.json()["detail"]

    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert "Blocked until it recharges" in page.locator("#org-blocked").inner_text()
    page.screenshot(path=str(screenshots / "org_blocked_dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_transfer', args=[org.pk])}")
    page.wait_for_selector("#action-form")
    assert "Blocked until it recharges" in page.locator("#org-blocked").inner_text()
    page.screenshot(path=str(screenshots / "org_blocked_action_page.png"), full_page=True)
    page.goto(f"{live_server.url}{reverse('selfservice:organization_credits', args=[org.pk])}")
    assert "Blocked until it recharges" in page.locator("#org-blocked").inner_text()
    page.screenshot(path=str(screenshots / "org_blocked_users_credits.png"), full_page=True)
