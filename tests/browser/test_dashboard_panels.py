"""The org dashboard's deferred panels in Chromium: the page shows its figures first, then the charts and the
purchases arrive in their places; a panel that cannot be loaded says so and offers the page with every panel."""

import pytest
from django.urls import reverse

from ledger import selectors, services
from tests.admin.conftest import user_with_role
from tests.factories import make_org

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def org(transactional_db):
    org = make_org(name="Acme Messaging")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="1000", expires_in="6M")
    services.charge_create(actor=services.SYSTEM, account=org.master_account, channel="sms", quantity=100,
                           unit_price="0.40", reference="camp-1")
    return org


def test_the_panels_load_into_the_dashboard(page, live_server, org, screenshots):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    page.wait_for_selector('#panel-charts[data-state="loaded"] svg.finance-chart')
    page.wait_for_selector('#panel-purchases[data-state="loaded"]')
    assert page.locator("#panel-charts svg.finance-chart").count() == 2  # balance over time, usage by channel
    assert page.locator("#panel-purchases #buy-credits").count() == 1
    assert page.locator("[data-panel-url][aria-busy]").count() == 0
    assert page.inner_text("#balance-value") == "₹960.00"
    page.screenshot(path=str(screenshots / "dashboard_panels.png"), full_page=True)


def test_a_panel_that_fails_offers_the_page_with_every_panel(page, live_server, org):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.route("**/panels/charts/", lambda route: route.fulfill(status=502, body="Bad gateway"))
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    page.wait_for_selector('#panel-charts[data-state="failed"]')
    assert "balance and usage charts could not be loaded" in page.inner_text("#panel-charts")
    assert "Bad gateway" not in page.content()
    page.wait_for_selector('#panel-purchases[data-state="loaded"]')  # the others still load
    page.click("#panel-charts a")
    page.wait_for_selector("svg.finance-chart")  # ?panels=inline: every panel in place, no script needed
    assert "panels=inline" in page.url and page.locator("[data-panel-url]").count() == 0


def test_a_session_ended_in_another_tab_never_puts_the_login_page_in_a_panel(page, live_server, org):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.route("**/panels/purchases/", lambda route: route.fulfill(
        status=302, headers={"Location": reverse("admin:login")}))
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    page.wait_for_selector('#panel-purchases[data-state="failed"]')
    assert page.locator("#panel-purchases #id_username").count() == 0
