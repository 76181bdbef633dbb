"""The Organization admin: search, list columns, filters, the dashboard and scoping per role."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import services
from ratecards.services import rate_card_version_create
from tests.factories import UserFactory, make_org

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:ledger_organization_changelist"


def change_url(org):
    return reverse("admin:ledger_organization_change", args=[org.pk])


def listed(response):
    return [org.name for org in response.context["cl"].result_list]


def test_search_by_name_substring(staff_client, org, other_org):
    response = staff_client.get(reverse(CHANGELIST), {"q": "messag"})
    assert response.status_code == 200
    assert listed(response) == ["Acme Messaging"]


def test_search_by_exact_wallet_id_any_case(staff_client, org, other_org):
    response = staff_client.get(reverse(CHANGELIST), {"q": other_org.wallet_id.lower()})
    assert listed(response) == ["Globex"]
    # a wallet ID prefix is not a match: wallet IDs are exact
    response = staff_client.get(reverse(CHANGELIST), {"q": other_org.wallet_id[:5]})
    assert listed(response) == []


def test_search_by_exact_uuid(staff_client, org, other_org):
    response = staff_client.get(reverse(CHANGELIST), {"q": str(org.pk)})
    assert listed(response) == ["Acme Messaging"]


def test_list_shows_balances_in_the_org_currency(staff_client, org, other_org):
    services.credit_limit_set(actor=services.SYSTEM, account=other_org.master_account, amount="20")
    services.hold_create(actor=services.SYSTEM, account=other_org.master_account, amount="5")
    response = staff_client.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert "₹1,000.00" in html
    rows = {row.name: row for row in response.context["cl"].result_list}
    globex = rows["Globex"]
    assert globex.m_balance == Decimal("50") and globex.m_held == Decimal("5")
    assert globex.m_available == Decimal("65")  # 50 + 20 - 5
    assert "$65.00" in html and "$20.00" in html and "$5.00" in html


def test_balance_status_column_and_filter(staff_client, org):
    poor = make_org(name="Poor Co")
    services.credits_grant(actor=services.SYSTEM, account=poor.master_account, amount="10")  # INR 10 < 100
    owing = make_org(name="Owing Ltd", payment_scheme="postpaid", credit_limit="1000")
    services.charge_create(actor=services.SYSTEM, account=owing.master_account, channel="sms", quantity=1,
                           unit_price="400", traffic="transactional")  # -400, 600 still available
    make_org(name="Empty Co")  # nothing available: promotional sends are refused
    off = make_org(name="Switched Off", credit_management_enabled=False)
    services.credits_grant(actor=services.SYSTEM, account=off.master_account, amount="1000")
    for status, names in (("low", ["Poor Co"]), ("ok", ["Acme Messaging"]), ("negative", ["Owing Ltd"]),
                          ("blocked", ["Empty Co", "Switched Off"])):
        assert listed(staff_client.get(reverse(CHANGELIST), {"balance": status})) == names, status
    html = staff_client.get(reverse(CHANGELIST)).content.decode()
    for name, status, label in (("Poor Co", "low", "Low"), ("Acme Messaging", "ok", "OK"),
                                ("Owing Ltd", "negative", "Negative"), ("Empty Co", "blocked", "Blocked")):
        row = re.search(rf"<tr>(?:(?!</tr>).)*{name}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
        assert f'data-status="{status}"' in row and f">{label}</span>" in row, name
    assert "Credit management is off" in re.search(r"<tr>(?:(?!</tr>).)*Switched Off(?:(?!</tr>).)*</tr>",
                                                   html, re.S).group(0)


def test_an_account_threshold_overrides_the_org_s_for_the_status(staff_client, org):
    from alerts.models import AccountThreshold, AlertSettings

    AlertSettings.objects.create(organization=org, low_credit_threshold="50")
    assert listed(staff_client.get(reverse(CHANGELIST), {"balance": "ok"})) == ["Acme Messaging"]  # 1000 >= 50
    AccountThreshold.objects.create(account=org.master_account, low_credit_threshold="1500")
    assert listed(staff_client.get(reverse(CHANGELIST), {"balance": "low"})) == ["Acme Messaging"]


def test_filters_by_currency_and_scheme(staff_client, org, other_org):
    assert listed(staff_client.get(reverse(CHANGELIST), {"currency": "USD"})) == ["Globex"]
    make_org(name="Postpaid Ltd", payment_scheme="postpaid", credit_limit="500")
    assert listed(staff_client.get(reverse(CHANGELIST), {"payment_scheme__exact": "postpaid"})) == ["Postpaid Ltd"]
    assert listed(staff_client.get(reverse(CHANGELIST), {"balance": "negative"})) == []


def test_dashboard_shows_breakdown_accounts_lots_and_ledger(staff_client, org):
    master = org.master_account
    services.credit_limit_set(actor=services.SYSTEM, account=master, amount="200", temporary_days=10)
    services.hold_create(actor=services.SYSTEM, account=master, amount="100", reference="campaign-7")
    response = staff_client.get(change_url(org))
    assert response.status_code == 200
    html = response.content.decode()
    breakdown = response.context["breakdown"]
    assert breakdown["balance"] == "₹1,000.00"
    assert breakdown["credit_limit"] == "₹200.00" and breakdown["limit_expires_at"] is not None
    assert breakdown["held"] == "₹100.00"
    assert breakdown["available"] == "₹1,100.00"  # 1000 + 200 - 100
    assert "Temporary until" in html
    assert [row["account"].name for row in response.context["account_rows"]] == [
        "Master account", "Marketing", "Support"]
    assert "uses the master account&#x27;s funds" in html or "uses the master account's funds" in html
    assert len(response.context["lot_rows"]) == 1 and response.context["lot_rows"][0]["remaining"] == "₹1,000.00"
    assert response.context["entry_rows"][0]["amount"] == "₹1,000.00"
    assert 'id="ledger"' in html and "Grant" in html
    # includes of the alerts and finance apps render with the org in context
    assert 'id="rate-card"' in html
    for slug in ("add-credits", "remove-credits", "credit-limit", "transfer", "credit-management"):
        assert f'data-action="{slug}"' in html


def test_dashboard_lists_the_first_accounts_of_a_large_org_and_links_to_all(staff_client, org):
    from ledger.admin.dashboard import ACCOUNTS_SHOWN
    from tests.factories import make_subaccount

    for number in range(ACCOUNTS_SHOWN + 5):
        make_subaccount(org, name=f"Team {number:03}", balance_mode="shared" if number % 2 else "own")
    total = org.accounts.count()
    response = staff_client.get(change_url(org))
    html = response.content.decode()
    names = [row["account"].name for row in response.context["account_rows"]]
    assert len(names) == ACCOUNTS_SHOWN and names[:3] == ["Master account", "Marketing", "Support"]
    assert f"{total} in total · the first {ACCOUNTS_SHOWN} shown" in html
    link = re.search(r'<a href="([^"]+)" id="all-accounts">', html).group(1).replace("&amp;", "&")
    listed = staff_client.get(link)
    assert listed.status_code == 200 and listed.context["cl"].result_count == total
    assert response.context["breakdown"]["funds_accounts"] == 1 + 1 + (ACCOUNTS_SHOWN + 5 + 1) // 2  # every account
    small = staff_client.get(change_url(make_org(name="Small")))
    assert 'id="all-accounts"' not in small.content.decode() and "1 in total" in small.content.decode()


def test_dashboard_counts_active_holds_of_every_account_and_links_each_row(staff_client, org, other_org):
    marketing = org.accounts.get(name="Marketing")
    services.transfer_create(actor=services.SYSTEM, from_account=org.master_account, to_account=marketing, amount="50")
    for account, amount in ((org.master_account, "10"), (org.master_account, "20"), (marketing, "5")):
        services.hold_create(actor=services.SYSTEM, account=account, amount=amount, reference=f"c-{amount}")
    released = services.hold_create(actor=services.SYSTEM, account=marketing, amount="1", reference="gone")
    services.hold_release(actor=services.SYSTEM, hold=released)
    services.hold_create(actor=services.SYSTEM, account=other_org.master_account, amount="7", reference="not this org")
    response = staff_client.get(change_url(org))
    assert response.context["active_holds"] == 3
    assert "3 active holds" in response.content.decode()
    for row in response.context["account_rows"]:
        assert row["url"] == reverse("admin:ledger_account_change", args=[row["account"].pk])
    for row in response.context["entry_rows"]:
        assert row["url"] == reverse("admin:ledger_transaction_change", args=[row["posting"].transaction_id])


def test_dashboard_shows_the_rate_card_in_force_and_the_next_one(staff_client, org):
    rates = [{"channel": "sms", "country": code, "unit_price": "0.01"} for code in ("IN", "US", "GB")]
    rate_card_version_create(actor=services.SYSTEM, organization=org, rates=rates)
    later = rate_card_version_create(actor=services.SYSTEM, organization=org, rates=rates[:1])
    card = staff_client.get(change_url(org)).context["rate_card"]
    assert card["version"].number == 1 and [row["rate"].country for row in card["rates"]] == ["GB", "IN", "US"]
    assert [item["version"].pk for item in card["pending"]] == [later.pk] and card["more"] is False


def test_dashboard_empty_states(staff_client):
    empty = make_org(name="Empty Org")
    html = staff_client.get(change_url(empty)).content.decode()
    assert "No credits left in any lot" in html
    assert "No ledger entries yet" in html


def test_finance_sees_every_org_read_only_without_money_buttons(finance_client, org, other_org):
    response = finance_client.get(reverse(CHANGELIST))
    assert sorted(listed(response)) == ["Acme Messaging", "Globex"]
    response = finance_client.get(change_url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["action_tools"] == []
    assert 'data-action="add-credits"' not in html
    assert response.context["has_change_permission"] is False
    assert finance_client.post(change_url(org), {"name": "Hacked"}).status_code == 403


def test_org_admin_sees_only_their_orgs(org_admin_client, org, other_org):
    assert listed(org_admin_client.get(reverse(CHANGELIST))) == ["Acme Messaging"]
    response = org_admin_client.get(change_url(org))
    assert response.status_code == 200
    assert [tool["slug"] for tool in response.context["action_tools"]] == ["transfer"]
    other = org_admin_client.get(change_url(other_org))
    assert other.status_code in (302, 404)
    assert b"Globex" not in other.content
    assert org_admin_client.get(reverse("admin:ledger_organization_history", args=[other_org.pk])).status_code == 404
    # search cannot reach another org either
    assert listed(org_admin_client.get(reverse(CHANGELIST), {"q": other_org.wallet_id})) == []


def test_subaccount_user_has_no_org_pages(sub_client, org):
    assert sub_client.get(reverse(CHANGELIST)).status_code == 403
    assert sub_client.get(change_url(org)).status_code in (302, 403, 404)
    action = reverse("admin:ledger_organization_add-credits", args=[org.pk])
    assert sub_client.get(action).status_code in (403, 404)


def test_non_staff_user_cannot_log_in(client, org):
    from tests.factories import UserFactory

    user = UserFactory(username="nostaff", is_staff=False, is_superuser=True)
    client.force_login(user)
    response = client.get(change_url(org))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_creates_an_org_through_the_service(staff_client):
    data = {"name": "New Brand", "currency": "USD", "timezone": "UTC", "payment_scheme": "postpaid",
            "credit_limit": "250", "credit_management_enabled": "on"}
    response = staff_client.post(reverse("admin:ledger_organization_add"), data)
    assert response.status_code == 200  # first the confirmation: the currency is for good
    assert "can never be changed" in " ".join(response.context["confirmation"])
    assert "credit limit of $250.00" in " ".join(response.context["confirmation"])
    from ledger.models import Organization

    assert not Organization.objects.filter(name="New Brand").exists()
    response = staff_client.post(reverse("admin:ledger_organization_add"), {**data, "_confirm": "1"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    from ledger.models import Organization

    created = Organization.objects.get(name="New Brand")
    assert created.master_account.credit_limit == Decimal("250")
    assert created.wallet_id.startswith("W-")


def test_postpaid_org_without_limit_is_a_form_error(staff_client):
    response = staff_client.post(reverse("admin:ledger_organization_add"), {
        "name": "Bad", "currency": "USD", "timezone": "UTC", "payment_scheme": "postpaid", "credit_limit": "0"})
    assert response.status_code == 200
    assert "needs a credit limit" in str(response.context["adminform"].form.errors["credit_limit"])


def test_staff_renames_an_org_and_history_records_it(staff_client, org):
    response = staff_client.post(change_url(org), {
        "name": "Acme Renamed", "timezone": "Asia/Kolkata", "payment_scheme": "prepaid",
        "spending_policy": "promotional_must_fit", "spending_floor": "0"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Acme Renamed"
    assert org.history.first().history_user.username == "pat-staff"


def test_platform_staff_set_the_spending_policy_the_page_says_when_the_org_is_blocked(staff_client, org):
    response = staff_client.post(change_url(org), {
        "name": org.name, "timezone": org.timezone, "payment_scheme": "prepaid",
        "spending_policy": "stop_when_depleted", "spending_floor": "1000"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.spending_policy, org.spending_floor) == ("stop_when_depleted", Decimal("1000"))
    latest = org.history.first()
    assert (latest.spending_policy, latest.history_user.username) == ("stop_when_depleted", "pat-staff")
    page = staff_client.get(change_url(org))
    assert b'id="org-blocked"' in page.content and "₹1,000.00" in page.content.decode()


def test_org_admins_see_the_spending_policy_but_cannot_change_it(org_admin_client, org):
    page = org_admin_client.get(change_url(org))
    assert "spending_policy" not in page.context["adminform"].form.fields
    assert b"Promotional must fit" in page.content
    org_admin_client.post(change_url(org), {"name": org.name, "timezone": org.timezone, "payment_scheme": "prepaid",
                                            "spending_policy": "stop_when_depleted"})
    org.refresh_from_db()
    assert org.spending_policy == "promotional_must_fit"


AUTOCOMPLETE = "admin:autocomplete"


def admins_search(client, term="", page=1, model_name="organization", field_name="admins"):
    return client.get(reverse(AUTOCOMPLETE), {"app_label": "ledger", "model_name": model_name,
                                              "field_name": field_name, "term": term, "page": page})


def test_the_admins_picker_lists_only_the_org_s_admins_and_searches_the_rest(staff_client, staff_user, org):
    """A select listed every user of the installation on every org page; the autocomplete lists the chosen."""
    chosen = UserFactory(username="chosen-admin")
    org.admins.add(chosen)
    for n in range(25):
        UserFactory(username=f"picker-{n:02}", email=f"picker{n}@example.com")
    html = staff_client.get(change_url(org)).content.decode()
    picker = re.search(r'<select[^>]*name="admins"[^>]*>(.*?)</select>', html, re.S)
    assert "admin-autocomplete" in picker.group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", picker.group(1)) == ["chosen-admin"]

    # platform staff hold no auth.view_user: they search the picker's choices, 20 a page
    assert not staff_user.has_perm("auth.view_user")
    first = admins_search(staff_client, "picker-").json()
    assert [r["text"] for r in first["results"]] == [f"picker-{n:02}" for n in range(20)]
    assert first["pagination"] == {"more": True}
    second = admins_search(staff_client, "picker-", page=2).json()
    assert len(second["results"]) == 5 and second["pagination"] == {"more": False}
    assert [r["text"] for r in admins_search(staff_client, "picker7@").json()["results"]] == ["picker-07"]


def test_staff_save_an_admin_picked_from_the_search(staff_client, org):
    picked = UserFactory(username="picked")
    data = {"name": org.name, "timezone": org.timezone, "payment_scheme": org.payment_scheme,
            "purchase_expires_in": org.purchase_expires_in, "spending_policy": org.spending_policy,
            "spending_floor": org.spending_floor, "admins": [picked.pk], "reason": "new admin"}
    page = staff_client.get(change_url(org))
    form = page.context["adminform"].form
    for name in form.fields:
        if name not in data and name in form.initial:
            data[name] = form.initial[name]
    data = {k: v for k, v in data.items() if v is not None}
    response = staff_client.post(change_url(org), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(org.admins.values_list("username", flat=True)) == ["picked"]


@pytest.mark.parametrize("who", ["finance_client", "org_admin_client", "sub_client"])
def test_who_may_not_change_the_admins_may_not_search_users(request, who, org):
    client = request.getfixturevalue(who)
    assert admins_search(client, "").status_code == 403


def test_the_search_is_open_only_for_the_field_it_serves(staff_client, org):
    """Accounts' owners are no autocomplete of the console: staff may not list users through them."""
    assert admins_search(staff_client, "", model_name="account", field_name="owner").status_code == 403
    assert admins_search(staff_client, "", field_name="nonexistent").status_code == 403
