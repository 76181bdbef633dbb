"""Org settings in the console: who and why on every history row, a confirmation that states the consequence,
refusal where an invariant would break (the rule in services.organization_update), and forms that never 500."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from alerts.models import AlertSettings
from ledger import services
from ledger.errors import InvalidOperation
from ledger.models import Organization
from tests.api.helpers import token_client
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def change_url(org):
    return reverse("admin:ledger_organization_change", args=[org.pk])


def settings_form(org, **changes):
    return {"name": org.name, "timezone": org.timezone, "payment_scheme": org.payment_scheme, "reason": "",
            **changes}


@pytest.fixture
def globex(db):
    """Postpaid, USD, with usage taken on credit: balance -400 on a 1,000 limit."""
    org = make_org(name="Globex", currency="USD", timezone_name="America/New_York", payment_scheme="postpaid",
                   credit_limit="1000")
    services.charge_create(actor=services.SYSTEM, account=org.master_account, channel="sms", quantity=1,
                           unit_price="400", traffic="transactional")
    return org


def test_history_rows_name_the_user_through_the_request_middleware(staff_client, org, staff_user):
    AlertSettings.objects.create(organization=org, low_credit_threshold="100")
    settings = AlertSettings.objects.get(organization=org)
    response = staff_client.post(reverse("admin:alerts_alertsettings_change", args=[settings.pk]), {
        "low_credit_threshold": "250", "recipients": "ops@example.com", "expiry_warning_days": "7",
        "runway_alert_days": "7", "email_enabled": "on"})
    assert response.status_code == 302
    record = settings.history.latest()
    assert record.history_user == staff_user and record.history_actor_label == "pat-staff"


def test_a_service_token_s_change_names_the_token(org):
    client = token_client(["manage"], name="provisioning")
    response = client.patch(reverse("api-organization", args=[org.pk]), {"name": "Acme by API"}, format="json")
    assert response.status_code == 200, response.content
    record = org.history.latest()
    assert record.history_user is None and record.history_actor_service == "provisioning"
    assert record.history_actor_label == "provisioning"


def test_the_history_page_says_who_and_why_never_none(staff_client, org):
    services.organization_update(actor=services.Actor(service="provisioning"), organization=org, name="Acme 2",
                                 reason="Renamed by the CRM sync")
    content = staff_client.get(reverse("admin:ledger_organization_history", args=[org.pk])).content.decode()
    assert "provisioning" in content and "Renamed by the CRM sync" in content
    assert ">None<" not in content and "None\n" not in content
    assert reverse("finance:activity", args=[org.pk]) in content  # the whole timeline is one click away


def test_switching_the_payment_scheme_states_the_consequence_before_saving(staff_client, org):
    services.credit_limit_set(actor=services.SYSTEM, account=org.master_account, amount="500")
    response = staff_client.post(change_url(org), settings_form(org, payment_scheme="postpaid",
                                                                reason="Signed the postpaid contract"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="confirm-changes"' in page and 'name="_confirm"' in page
    assert "becomes postpaid" in page and "credit limit of ₹500.00" in page and "invoiced" in page
    org.refresh_from_db()
    assert org.payment_scheme == "prepaid"  # nothing saved before the confirmation
    response = staff_client.post(change_url(org), settings_form(org, payment_scheme="postpaid", _confirm="1",
                                                                reason="Signed the postpaid contract"))
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.payment_scheme == "postpaid"
    record = org.history.latest()
    assert record.history_user.username == "pat-staff" and record.history_change_reason == "Signed the postpaid contract"


def test_leaving_postpaid_with_usage_on_credit_is_refused_with_the_service_s_error(staff_client, globex):
    response = staff_client.post(change_url(globex), settings_form(globex, payment_scheme="prepaid", _confirm="1"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "negative balance" in errors["payment_scheme"][0] and "Invoice or repay" in errors["payment_scheme"][0]
    assert response.context["confirmation"] is None  # refused: nothing to confirm
    globex.refresh_from_db()
    assert globex.payment_scheme == "postpaid"


def test_the_rule_lives_in_the_service_and_a_dry_run_changes_nothing(globex):
    with pytest.raises(InvalidOperation) as refused:
        services.organization_update(actor=services.SYSTEM, organization=globex, payment_scheme="prepaid")
    assert "payment_scheme" in refused.value.errors
    paid = make_org(name="Paid up", currency="USD", payment_scheme="postpaid", credit_limit="100")
    checked = services.organization_update(actor=services.SYSTEM, organization=paid, payment_scheme="prepaid",
                                           dry_run=True)
    assert checked.payment_scheme == "prepaid"
    paid.refresh_from_db()
    assert paid.payment_scheme == "postpaid" and paid.history.count() == 1
    services.organization_update(actor=services.SYSTEM, organization=paid, payment_scheme="prepaid")
    paid.refresh_from_db()
    assert paid.payment_scheme == "prepaid"


def test_a_timezone_change_states_both_clocks(staff_client, org):
    response = staff_client.post(change_url(org), settings_form(org, timezone="Europe/London"))
    page = response.content.decode()
    assert response.status_code == 200 and "counted in Europe/London from now on" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d IST in Asia/Kolkata", page)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d GMT in Europe/London", page)


def test_a_bad_timezone_is_a_form_error_never_a_500(staff_client, org):
    response = staff_client.post(change_url(org), settings_form(org, timezone="Mars/Base", _confirm="1"))
    assert response.status_code == 200
    assert "not an IANA timezone" in response.context["adminform"].form.errors["timezone"][0]
    assert 'id="org-dashboard"' in response.content.decode()  # the dashboard still renders, as saved
    org.refresh_from_db()
    assert org.timezone == "Asia/Kolkata"


def test_the_add_form_offers_active_currencies_common_first_and_refuses_withdrawn_ones(staff_client):
    page = staff_client.get(reverse("admin:ledger_organization_add")).content.decode()
    select = re.search(r'<select name="currency".*?</select>', page, re.S).group(0)
    assert select.index('label="Common"') < select.index('value="INR"') < select.index('label="All active currencies"')
    assert 'value="DEM"' not in select and 'value="XXX"' not in select and 'value="ZWD"' not in select
    response = staff_client.post(reverse("admin:ledger_organization_add"), {
        "name": "Old money", "currency": "DEM", "timezone": "UTC", "payment_scheme": "prepaid", "_confirm": "1"})
    assert response.status_code == 200 and "currency" in response.context["adminform"].form.errors
    assert not Organization.objects.filter(name="Old money").exists()


def test_the_credit_management_screen_states_both_consequences_and_records_why(staff_client, org):
    url = reverse("admin:ledger_organization_credit-management", args=[org.pk])
    opened = staff_client.get(url, follow=True)
    page = opened.content.decode()
    assert 'id="switch-consequences"' in page and "credit_management_disabled" in page
    assert "draw credits again" in page
    form = opened.context["form"]["form_token"].value()
    response = staff_client.post(url, {"enabled": "off", "form_token": form, "comment": "Unpaid invoice"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.credit_management_enabled is False
    assert org.history.latest().history_change_reason == "Unpaid invoice"


def test_the_org_list_fits_1366_px_with_the_columns_that_matter(staff_client, org):
    response = staff_client.get(reverse("admin:ledger_organization_changelist"))
    headers = re.findall(r'<th scope="col"[^>]*class="[^"]*column-(\w+)', response.content.decode())
    assert headers == ["name_col", "currency", "payment_scheme", "balance_col", "available_col", "status_col"]


def test_the_dashboard_shows_org_total_master_balance_status_and_the_pending_rate_card(staff_client, org):
    from ratecards.services import rate_card_version_create

    rates = [{"channel": "sms", "country": None, "category": None, "unit_price": "0.25"}]
    rate_card_version_create(actor=services.SYSTEM, organization=org, rates=rates)
    v2 = rate_card_version_create(actor=services.SYSTEM, organization=org,
                                  rates=[{**rates[0], "unit_price": "0.30"}])
    marketing = org.accounts.get(name="Marketing")
    services.credits_grant(actor=services.SYSTEM, account=marketing, amount="250.5")
    page = staff_client.get(change_url(org)).content.decode()
    assert re.search(r'id="org-total-value">₹1,250.50<', page)
    assert re.search(r'id="balance-value">₹1,000.00<', page)
    assert "Org total balance" in page and "Master account balance" in page
    local = v2.effective_from.astimezone(org.tz)
    assert f"v2 takes effect {local:%Y-%m-%d} 00:00 IST" in page
    assert 'data-status="ok"' in page
    assert Decimal("0.30") == v2.rates.get().unit_price


def test_the_spending_floor_input_shows_the_currency_s_minor_unit_and_keeps_finer_digits(staff_client, org):
    Organization.objects.filter(pk=org.pk).update(spending_floor=Decimal("500"))
    page = staff_client.get(change_url(org)).content.decode()
    assert re.search(r'name="spending_floor"[^>]*value="500\.00"', page), "floor shown as 500.00"
    Organization.objects.filter(pk=org.pk).update(spending_floor=Decimal("12.345678"))
    page = staff_client.get(change_url(org)).content.decode()
    assert re.search(r'name="spending_floor"[^>]*value="12\.345678"', page), "finer digits are never rounded away"


@pytest.mark.parametrize(("count", "note"), [(30, False), (31, True)])
def test_the_dashboard_lists_the_first_30_rates_and_says_when_there_are_more(staff_client, org, count, note):
    import phonenumbers

    from ratecards.services import rate_card_version_create

    countries = sorted(phonenumbers.SUPPORTED_REGIONS)[:count]
    rate_card_version_create(actor=services.SYSTEM, organization=org, rates=[
        {"channel": "sms", "country": code, "category": None, "unit_price": "0.25"} for code in countries])
    response = staff_client.get(change_url(org))
    assert len(response.context["rate_card"]["rates"]) == 30
    assert ("Only the first rates are shown." in response.content.decode()) is note
