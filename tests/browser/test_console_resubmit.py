"""In Chromium: Add credits, submit, Back, submit again grants once; a deliberate repeat asks first."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import selectors, services
from ledger.models import Transaction
from tests.admin.conftest import user_with_role
from tests.factories import make_org

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def org(transactional_db):
    org = make_org(name="Acme Messaging")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="500", expires_in="6M")
    return org


def grants_of(org, amount="1000"):
    return Transaction.objects.filter(organization=org, kind="grant", amount=Decimal(amount)).count()


def submit_again_after_back(page):
    """Press Back to the form and send it again, whichever way Chromium shows the page.

    Restored from the back/forward cache, the old form is still there and is sent as it was; fetched
    again, the page says the form was already submitted and offers a new one, which is filled in the same.
    """
    page.go_back()
    page.wait_for_load_state()
    if page.locator("#form-used").count():
        page.click("#new-form")
        page.fill("#id_amount", "1000")
    url = page.url
    page.click("#submit-action")
    page.wait_for_load_state()
    return url


def test_back_and_submit_again_grants_once_and_a_deliberate_repeat_is_confirmed(page, live_server, org,
                                                                                 screenshots):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    page.click("a[data-action=add-credits]")
    form_url = page.url
    page.fill("#id_amount", "1000")
    page.click("#submit-action")
    page.wait_for_selector("#balance-value")
    assert page.locator("#balance-value").inner_text() == "₹1,500.00"
    assert grants_of(org) == 1

    # Back lands on the form's own URL: the form instance that was sent, not a fresh one
    page.go_back()
    page.wait_for_load_state()
    assert page.url == form_url
    if page.locator("#form-used").count():
        assert "?form=" in form_url
        assert "This form was already submitted" in page.locator("#form-used").inner_text()
        assert "grant of ₹1,000.00 to Master account" in page.locator("#form-used").inner_text()
        page.screenshot(path=str(screenshots / "add_credits_after_back.png"), full_page=True)
        page.reload()  # reloading it does not bring a usable form back either
        assert page.locator("#form-used").count() == 1 and page.locator("#action-form").count() == 0
        page.go_forward()
        page.wait_for_load_state()
    else:  # restored as it was (back/forward cache): sending it again is a replay
        page.click("#submit-action")
        page.wait_for_selector("#balance-value")
        assert "Already done" in page.locator("ul.messagelist").inner_text()
    assert grants_of(org) == 1

    # Back again, and send whatever the browser shows: still one grant; the same values ask first
    second_form_url = submit_again_after_back(page)
    assert grants_of(org) == 1
    if page.locator("#duplicate-confirm").count():
        prompt = page.locator("#duplicate-confirm").inner_text()
        assert "The same grant of ₹1,000.00 to Master account was made" in prompt and "ago by you" in prompt
        page.screenshot(path=str(screenshots / "add_credits_duplicate_prompt.png"), full_page=True)
        page.reload()  # the browser re-posts the prompt's form: it asks again, it never grants
        page.wait_for_load_state()
        assert grants_of(org) == 1
        page.click("#confirm-duplicate")  # a deliberate second grant
        page.wait_for_selector("#balance-value")
        assert grants_of(org) == 2
        assert page.locator("#balance-value").inner_text() == "₹2,500.00"
        page.screenshot(path=str(screenshots / "add_credits_confirmed_repeat.png"), full_page=True)
    else:
        assert "Already done" in page.locator("ul.messagelist").inner_text()

    # One step back is the prompt, a POST's page that Chromium shows only after asking to send it again
    # (ERR_CACHE_MISS); the step before it is the confirmed form's own URL: it shows the form used
    before = grants_of(org)
    page.goto(second_form_url)
    assert page.locator("#form-used").count() == 1 and page.locator("#action-form").count() == 0
    assert grants_of(org) == before
    org.master_account.refresh_from_db()
    assert org.master_account.balance == Decimal("500") + before * Decimal("1000")


def test_two_tabs_of_one_form_grant_once_and_the_second_links_the_entry(page, live_server, org, screenshots):
    user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    log_in(page, live_server, "pat")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_add-credits', args=[org.pk])}")
    page.fill("#id_amount", "1000")
    second = page.context.new_page()  # "Duplicate tab": the same form instance in another tab
    second.goto(page.url)
    second.fill("#id_amount", "1000")
    page.click("#submit-action")
    page.wait_for_selector("#balance-value")
    second.click("#submit-action")
    second.wait_for_selector("#balance-value")
    notice = second.locator("ul.messagelist").inner_text()
    assert "Already done: this form was submitted" in notice
    assert second.locator("ul.messagelist a", has_text="View the entry").count() == 1
    second.screenshot(path=str(screenshots / "add_credits_second_tab.png"), full_page=True)
    assert grants_of(org) == 1
