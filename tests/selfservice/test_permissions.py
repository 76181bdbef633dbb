"""Who may move money: one permission per action, granted and withheld, for platform staff and for an org admin
on their own org (and never on another org: 404). Withheld: the button is hidden and the POST is a 403."""

from decimal import Decimal as D
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from ledger import selectors
from ledger.models import Organization

pytestmark = pytest.mark.django_db


def perm(codename):
    return Permission.objects.get(content_type__app_label="ledger", codename=codename)


def master_figures(org):
    org = Organization.objects.get(pk=org.pk)
    master = org.master_account
    marketing = org.accounts.filter(name="Marketing").first()
    return master.balance, master.credit_limit, marketing and marketing.balance, org.credit_management_enabled


# action slug, permission, form data (given the org), the figures after a valid submission (from the fixture's)
ACTIONS = [
    ("add-credits", "add_credits", lambda org: {"account": org.master_account.pk, "amount": "10", "expires_in": "6M"},
     lambda b, lim, m, on: (b + 10, lim, m, on)),
    ("remove-credits", "remove_credits", lambda org: {"account": org.master_account.pk, "amount": "10"},
     lambda b, lim, m, on: (b - 10, lim, m, on)),
    ("credit-limit", "set_credit_limit", lambda org: {"account": org.master_account.pk, "amount": "50"},
     lambda b, lim, m, on: (b, D("50"), m, on)),
    ("transfer", "transfer_credits",
     lambda org: {"from_account": org.master_account.pk, "to_account": org.accounts.get(name="Marketing").pk,
                  "amount": "10"},
     lambda b, lim, m, on: (b - 10, lim, m + 10, on)),
    ("credit-management", "toggle_credit_management", lambda org: {"enabled": "off"},
     lambda b, lim, m, on: (b, lim, m, False)),
]
IDS = [action[0] for action in ACTIONS]


def submit(client, org, slug, data):
    """Open the action form (GET, one-time token) and post it; returns (GET response, POST response).

    Every form gets a reason (required for removals, transfers and limits on the approvals branch)."""
    data = {"comment": "permission test", **data}
    url = reverse(f"admin:ledger_organization_{slug}", args=[org.pk])
    opened = client.get(url)
    if opened.status_code != 302:
        return opened, client.post(url, data)
    token = parse_qs(urlparse(opened["Location"]).query)["form"][0]
    return opened, client.post(url, {**data, "form_token": token})


def tools(client, org):
    page = client.get(reverse("admin:ledger_organization_change", args=[org.pk]))
    assert page.status_code == 200
    return {tool["slug"] for tool in page.context["action_tools"]}


def assert_works(client, org, slug, data, expected):
    before = master_figures(org)
    assert slug in tools(client, org)
    _, response = submit(client, org, slug, data(org))
    assert response.status_code == 302, getattr(response, "context", None) and response.context["form"].errors
    assert master_figures(org) == expected(*before)


def assert_refused(client, org, slug, data):
    before = master_figures(org)
    assert slug not in tools(client, org)
    url = reverse(f"admin:ledger_organization_{slug}", args=[org.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {k: str(v) for k, v in data(org).items()}).status_code == 403
    assert master_figures(org) == before


@pytest.mark.parametrize(("slug", "codename", "data", "expected"), ACTIONS, ids=IDS)
def test_staff_granted(client, org, staff_user, slug, codename, data, expected):
    client.force_login(staff_user)
    assert_works(client, org, slug, data, expected)


@pytest.mark.parametrize(("slug", "codename", "data", "expected"), ACTIONS, ids=IDS)
def test_staff_withheld(client, org, staff_user, slug, codename, data, expected):
    Group.objects.get(name=selectors.ROLE_PLATFORM_STAFF).permissions.remove(perm(codename))
    client.force_login(staff_user)
    assert_refused(client, org, slug, data)


@pytest.mark.parametrize(("slug", "codename", "data", "expected"), ACTIONS, ids=IDS)
def test_org_admin_granted_on_own_org_only(client, org, other_org, org_admin_user, slug, codename, data, expected):
    if codename in ("add_credits", "remove_credits"):  # the Credit managers group ("selected users")
        org_admin_user.groups.add(Group.objects.get(name="Credit managers"))
    else:
        org_admin_user.user_permissions.add(perm(codename))
    client.force_login(org_admin_user)
    assert_works(client, org, slug, data, expected)
    before = master_figures(other_org)
    url = reverse(f"admin:ledger_organization_{slug}", args=[other_org.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {k: str(v) for k, v in data(org).items()}).status_code == 404
    assert master_figures(other_org) == before


@pytest.mark.parametrize(("slug", "codename", "data", "expected"), ACTIONS, ids=IDS)
def test_org_admin_withheld(client, org, org_admin_user, slug, codename, data, expected):
    Group.objects.get(name=selectors.ROLE_ORG_ADMIN).permissions.remove(perm(codename))  # transfers are granted
    client.force_login(org_admin_user)
    assert_refused(client, org, slug, data)


def test_buy_granted_and_withheld(client, org, other_org, org_admin_user, staff_user):
    buy = perm("buy_credits")
    for user in (org_admin_user, staff_user):
        client.force_login(user)
        assert client.get(reverse("admin:payments_topup_buy", args=[org.pk])).status_code == 200
    client.force_login(org_admin_user)
    assert client.get(reverse("admin:payments_topup_buy", args=[other_org.pk])).status_code == 404
    for name in (selectors.ROLE_ORG_ADMIN, selectors.ROLE_PLATFORM_STAFF):
        Group.objects.get(name=name).permissions.remove(buy)
    for user in (org_admin_user, staff_user):
        client.force_login(user)
        assert client.get(reverse("admin:payments_topup_buy", args=[org.pk])).status_code == 403
        page = client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
        assert reverse("admin:payments_topup_buy", args=[org.pk]) not in page


def test_api_asks_for_add_or_remove_separately(client, org, org_admin_user):
    org_admin_user.user_permissions.add(perm("add_credits"))
    client.force_login(org_admin_user)
    master = org.master_account
    added = client.post(f"/api/v1/accounts/{master.pk}/credits", {"amount": "5", "expires_in": "never"},
                        content_type="application/json", headers={"Idempotency-Key": "a1"})
    assert added.status_code == 201
    removed = client.post(f"/api/v1/accounts/{master.pk}/removals", {"amount": "5"},
                          content_type="application/json", headers={"Idempotency-Key": "r1"})
    assert removed.status_code == 403
    assert master_figures(org)[0] == D("1005")


def test_split_gives_both_halves_to_every_holder_of_manage_credits(db, django_user_model):
    import importlib

    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    migration = importlib.import_module("ledger.migrations.0024_self_service")
    old = Permission.objects.create(content_type=ContentType.objects.get_for_model(Organization),
                                    codename="manage_credits", name="Can add and remove credits")
    group = Group.objects.create(name="Legacy managers")
    group.permissions.add(old)
    user = django_user_model.objects.create_user("legacy")
    user.user_permissions.add(old)
    migration.move_grants(apps)
    assert set(group.permissions.values_list("codename", flat=True)) == {"add_credits", "remove_credits"}
    assert set(user.user_permissions.values_list("codename", flat=True)) == {"add_credits", "remove_credits"}
    assert not Permission.objects.filter(codename="manage_credits").exists()


def test_org_admin_changes_only_the_self_service_settings(client, org, other_org, org_admin_user):
    client.force_login(org_admin_user)
    url = reverse("admin:ledger_organization_change", args=[org.pk])
    page = client.get(url)
    form = page.context["adminform"].form  # credit_limit is the add form's (unused on change)
    assert set(form.fields) - {"credit_limit"} == {"individual_user_credits", "user_to_user_transfers", "transfer_conditions", "reason"}
    response = client.post(url, {"individual_user_credits": "on", "user_to_user_transfers": "on",
                                 "transfer_conditions": "Be fair.", "name": "Renamed", "payment_scheme": "postpaid",
                                 "_save": "Save"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.individual_user_credits, org.user_to_user_transfers, org.transfer_conditions) == (True, True,
                                                                                                   "Be fair.")
    assert (org.name, org.payment_scheme) == ("Acme Messaging", "prepaid")
    other = reverse("admin:ledger_organization_change", args=[other_org.pk])
    client.post(other, {"transfer_conditions": "Hijacked", "_save": "Save"})
    other_org.refresh_from_db()
    assert other_org.transfer_conditions == ""
