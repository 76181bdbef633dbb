"""The rate card admin: the editor saves through the service, errors show on the rows, org page and history."""

from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from ratecards.models import Rate, RateCardVersion
from tests.factories import UserFactory, make_org

from .helpers import new_version, rate, utc

pytestmark = pytest.mark.django_db

D = Decimal
ADD_URL = reverse("admin:ratecards_ratecardversion_add")
NOW = utc(2026, 5, 10, 18, 0)  # 23:30 in Kolkata


@pytest.fixture
def staff_client(client):
    user = UserFactory(username="ops", is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def post_data(org, rows, effective_from="", note="", initial=0):
    data = {"organization": str(org.pk), "effective_from": effective_from, "note": note,
            "rates-TOTAL_FORMS": str(len(rows)), "rates-INITIAL_FORMS": str(initial),
            "rates-MIN_NUM_FORMS": "0", "rates-MAX_NUM_FORMS": "1000"}
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"rates-{index}-{key}"] = value
    return data


@time_machine.travel(NOW, tick=False)
def test_editor_creates_first_version_in_force_at_once(staff_client):
    org = make_org(timezone_name="Asia/Kolkata")
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "", "category": "", "unit_price": "0.25"},
        {"channel": "sms", "country": "IN", "category": "", "unit_price": "0.10"},
        {"channel": "whatsapp", "country": "IN", "category": "marketing", "unit_price": "0.7"},
        {"channel": "", "country": "", "category": "", "unit_price": ""},  # an empty extra row
    ], note="launch"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("admin:ratecards_ratecardversion_organization", args=[org.pk])
    version = RateCardVersion.objects.get(organization=org)
    assert (version.number, version.status, version.effective_from, version.note) == (1, "current", NOW, "launch")
    assert version.created_by == staff_client.user
    assert sorted(version.rates.values_list("channel", "country", "category", "unit_price")) == [
        ("sms", "", "", D("0.25")), ("sms", "IN", "", D("0.10")), ("whatsapp", "IN", "marketing", D("0.7"))]


@time_machine.travel(NOW, tick=False)
def test_editor_follows_activation_rules_for_later_edits(staff_client):
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    page = staff_client.get(ADD_URL + f"?organization={org.pk}")
    assert page.status_code == 200
    assert page.context["formset"].initial == [{"channel": "sms", "country": "", "category": "",
                                                "unit_price": D("0.25")}]
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "", "category": "", "unit_price": "0.30"}], initial=1))
    assert response.status_code == 302
    version = RateCardVersion.objects.get(organization=org, number=2)
    assert (version.status, version.effective_from) == ("pending", utc(2026, 5, 10, 18, 30))
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "", "category": "", "unit_price": "0.35"}], effective_from="2026-06-01"))
    assert response.status_code == 302
    assert RateCardVersion.objects.get(organization=org, number=3).effective_from == utc(2026, 5, 31, 18, 30)
    assert RateCardVersion.objects.get(organization=org, number=2).status == "cancelled"


@time_machine.travel(NOW, tick=False)
def test_editor_shows_service_errors_on_the_rows(staff_client):
    org = make_org(timezone_name="Asia/Kolkata")
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "IN", "category": "", "unit_price": "0.1"},
        {"channel": "sms", "country": "IN", "category": "", "unit_price": "0.2"},
        {"channel": "email", "country": "US", "category": "", "unit_price": "0.1"},
        {"channel": "sms", "country": "", "category": "marketing", "unit_price": "-1"},
    ]))
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert "Duplicate of rate 1" in forms[1].errors["country"][0]
    assert "Email has one price for all countries" in forms[2].errors["country"][0]
    assert forms[3].errors["unit_price"]  # the form's own min_value check
    assert not RateCardVersion.objects.filter(organization=org).exists()
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "", "category": "marketing", "unit_price": "1"},
    ]))
    assert response.context["formset"].forms[0].errors["category"] == ["The sms channel has no categories."]
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "XX", "category": "", "unit_price": "1"}]))
    assert "country" in response.context["formset"].forms[0].errors
    assert Rate.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_editor_refuses_an_earlier_effective_date(staff_client):
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    response = staff_client.post(ADD_URL, post_data(org, [
        {"channel": "sms", "country": "", "category": "", "unit_price": "0.30"}], effective_from="2026-05-10"))
    assert response.status_code == 200
    assert "next day at the earliest" in response.context["form"].errors["effective_from"][0]
    assert RateCardVersion.objects.filter(organization=org).count() == 1


@time_machine.travel(NOW, tick=False)
def test_organization_page_shows_side_by_side_and_history_and_cancels(staff_client):
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25"), rate("sms", "0.10", country="IN")], at=utc(2026, 5, 1))
    pending = new_version(org, [rate("sms", "0.25"), rate("sms", "0.12", country="IN")], at=NOW)
    url = reverse("admin:ratecards_ratecardversion_organization", args=[org.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    rows = {(row["channel"], row["country"]): row for row in response.context["rows"]}
    assert rows[("SMS", "India (IN)")]["cells"] == [D("0.10"), D("0.12")]
    assert rows[("SMS", "India (IN)")]["changed"] and not rows[("SMS", "Default")]["changed"]
    html = response.content.decode()
    assert "2026-05-11 00:00" in html  # the pending version's start, in the org's local time
    assert "Cancel pending v2" in html
    assert [entry["number"] for entry in response.context["history"]] == [2, 1]
    response = staff_client.post(reverse("admin:ratecards_ratecardversion_cancel", args=[pending.pk]))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert pending.history.latest().history_user == staff_client.user
    detail = staff_client.get(reverse("admin:ratecards_ratecardversion_change", args=[pending.pk]))
    assert detail.status_code == 200 and "0.12" in detail.content.decode()
    audit = staff_client.get(reverse("admin:ratecards_ratecardversion_history", args=[pending.pk]))
    assert audit.status_code == 200
    assert staff_client.get(reverse("admin:ratecards_ratecardversion_changelist")).status_code == 200


def test_org_admin_sees_only_own_org_and_cannot_edit(client):
    mine, other = make_org(name="Mine"), make_org(name="Other")
    new_version(mine, [rate("sms", "1")], at=utc(2026, 5, 1))
    new_version(other, [rate("sms", "2")], at=utc(2026, 5, 1))
    user = UserFactory(username="orgadmin")
    user.user_permissions.add(Permission.objects.get(codename="view_ratecardversion"))
    mine.admins.add(user)
    client.force_login(user)
    changelist = client.get(reverse("admin:ratecards_ratecardversion_changelist"))
    assert [v.organization for v in changelist.context["cl"].result_list] == [mine]
    assert client.get(reverse("admin:ratecards_ratecardversion_organization", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:ratecards_ratecardversion_organization", args=[other.pk])).status_code == 404
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, post_data(mine, [
        {"channel": "sms", "country": "", "category": "", "unit_price": "0"}])).status_code == 403
    assert RateCardVersion.objects.filter(organization=mine).count() == 1


def test_history_revert_is_refused(staff_client):
    org = make_org(timezone_name="UTC", currency="USD")
    new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    pending = new_version(org, [rate("sms", "2")], at=utc(2026, 5, 1, 10))
    pending.status = "cancelled"  # not a service call: a stand-in for any later change to revert
    pending.save(update_fields=["status"])
    record = pending.history.earliest()
    url = reverse("admin:ratecards_ratecardversion_simple_history", args=[pending.pk, record.history_id])
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url, {}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == "cancelled"
