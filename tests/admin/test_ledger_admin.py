"""Accounts, holds and ledger rows in the admin: read-only rows, hold release, scoping, the roles migration."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from ledger import selectors, services
from ledger.models import Account, CreditLot, Hold, Posting, Transaction

pytestmark = pytest.mark.django_db


def test_roles_migration_creates_the_four_groups_with_their_permissions():
    perms = {group.name: {p.codename for p in group.permissions.all()} for group in Group.objects.all()}
    assert set(selectors.ROLES) <= set(perms)
    staff, finance = perms["Platform staff"], perms["Finance"]
    assert {"add_credits", "remove_credits", "set_credit_limit", "transfer_credits", "toggle_credit_management",
            "view_organization", "change_organization"} <= staff
    assert {"view_ledger", "export_ledger", "view_transaction", "view_organization"} <= finance
    assert not finance & {"add_credits", "remove_credits", "set_credit_limit", "transfer_credits", "toggle_credit_management",
                          "change_organization", "add_account"}
    assert {"transfer_credits", "buy_credits", "view_organization"} <= perms["Org admin"]
    assert not {"add_credits", "remove_credits"} & perms["Org admin"]  # through the Credit managers group only
    assert perms["Credit managers"] == {"add_credits", "remove_credits"}
    assert perms["Subaccount user"] >= {"view_account", "view_transaction"}
    assert "view_organization" not in perms["Subaccount user"]
    # no role may add, change or delete ledger rows
    for codenames in perms.values():
        for model in ("creditlot", "transaction", "posting", "hold"):
            assert not {f"add_{model}", f"change_{model}", f"delete_{model}"} & codenames


@pytest.mark.parametrize("model", ["creditlot", "transaction", "posting", "hold", "creditlimitchange"])
def test_ledger_rows_are_read_only_even_for_superusers(admin_client, org, model):
    obj = {"creditlot": CreditLot, "transaction": Transaction, "posting": Posting}.get(model)
    if model == "hold":
        obj = services.hold_create(actor=services.SYSTEM, account=org.master_account, amount="1")
    elif model == "creditlimitchange":
        services.credit_limit_set(actor=services.SYSTEM, account=org.master_account, amount="5")
        obj = org.master_account.credit_limit_changes.get()
    else:
        obj = obj.objects.filter(**({"account__organization": org} if model != "transaction" else
                                    {"organization": org})).first()
    assert admin_client.get(reverse(f"admin:ledger_{model}_add")).status_code == 403
    change = reverse(f"admin:ledger_{model}_change", args=[obj.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert admin_client.post(change, {}).status_code == 403
    assert admin_client.post(reverse(f"admin:ledger_{model}_delete", args=[obj.pk])).status_code == 403


def test_staff_releases_a_hold_with_the_admin_action(staff_client, staff_user, org):
    hold = services.hold_create(actor=services.SYSTEM, account=org.master_account, amount="300")
    assert org.master_account.held == Decimal("300")
    response = staff_client.post(reverse("admin:ledger_hold_changelist"),
                                 {"action": "release_holds", "_selected_action": [hold.pk]})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.status == "released"
    assert org.master_account.held == Decimal("0")
    assert LogEntry.objects.get(object_id=str(hold.pk)).user == staff_user
    # releasing again changes nothing and says so
    response = staff_client.post(reverse("admin:ledger_hold_changelist"),
                                 {"action": "release_holds", "_selected_action": [hold.pk]}, follow=True)
    assert "were not active" in response.content.decode()


def test_finance_cannot_release_holds(finance_client, org):
    hold = services.hold_create(actor=services.SYSTEM, account=org.master_account, amount="300")
    page = finance_client.get(reverse("admin:ledger_hold_changelist"))
    assert page.status_code == 200 and b"release_holds" not in page.content
    finance_client.post(reverse("admin:ledger_hold_changelist"),
                        {"action": "release_holds", "_selected_action": [hold.pk]})
    hold.refresh_from_db()
    assert hold.status == "active" and org.master_account.held == Decimal("300")


def test_org_admin_sees_only_their_orgs_rows(org_admin_client, org, other_org):
    accounts = org_admin_client.get(reverse("admin:ledger_account_changelist")).context["cl"].result_list
    assert {account.organization_id for account in accounts} == {org.pk}
    txns = org_admin_client.get(reverse("admin:ledger_transaction_changelist")).context["cl"].result_list
    assert {txn.organization_id for txn in txns} == {org.pk}
    foreign = Transaction.objects.get(organization=other_org)
    assert org_admin_client.get(reverse("admin:ledger_transaction_change", args=[foreign.pk])).status_code == 302
    foreign_account = other_org.master_account
    response = org_admin_client.get(reverse("admin:ledger_account_change", args=[foreign_account.pk]))
    assert response.status_code == 302 and b"Globex" not in response.content


def test_subaccount_user_sees_own_subaccount_and_last_30_days(sub_client, sub_user, org):
    marketing = org.accounts.get(name="Marketing")
    services.transfer_create(actor=services.SYSTEM, from_account=org.master_account, to_account=marketing,
                             amount="40")
    old = services.credits_grant(actor=services.SYSTEM, account=marketing, amount="7",
                                 at=timezone.now() - timedelta(days=45))
    accounts = sub_client.get(reverse("admin:ledger_account_changelist")).context["cl"].result_list
    assert [account.name for account in accounts] == ["Marketing"]
    page = sub_client.get(reverse("admin:ledger_account_change", args=[marketing.pk]))
    assert page.status_code == 200
    assert page.context["account_summary"]["balance"] == "₹47.00"
    rows = page.context["recent_rows"]
    assert [row["kind"] for row in rows] == ["Transfer"] and rows[0]["amount"] == "₹40.00"
    txns = sub_client.get(reverse("admin:ledger_transaction_changelist")).context["cl"].result_list
    assert [txn.kind for txn in txns] == ["transfer"]
    assert sub_client.get(reverse("admin:ledger_transaction_change", args=[old.pk])).status_code == 302
    master_page = sub_client.get(reverse("admin:ledger_account_change", args=[org.master_account.pk]))
    assert master_page.status_code == 302
    assert sub_client.get(reverse("admin:ledger_hold_changelist")).status_code == 403


def test_staff_adds_a_subaccount_through_the_service(staff_client, org):
    response = staff_client.post(reverse("admin:ledger_account_add"), {
        "organization": org.pk, "name": "Ops", "balance_mode": "shared", "owner": ""})
    assert response.status_code == 302
    ops = Account.objects.get(organization=org, name="Ops")
    assert ops.balance_mode == "shared" and not ops.is_master


def test_renaming_an_account_never_writes_its_balance(staff_client, org):
    marketing = org.accounts.get(name="Marketing")
    url = reverse("admin:ledger_account_change", args=[marketing.pk])
    form_page = staff_client.get(url)
    assert form_page.status_code == 200
    # the balance changes after the form was rendered; saving the form must not write the old value back
    services.credits_grant(actor=services.SYSTEM, account=marketing, amount="12")
    response = staff_client.post(url, {"name": "Growth", "owner": ""})
    assert response.status_code == 302
    marketing.refresh_from_db()
    assert marketing.name == "Growth" and marketing.balance == Decimal("12")


def test_hold_list_is_scoped_for_org_admins(org_admin_client, org, other_org):
    services.hold_create(actor=services.SYSTEM, account=org.master_account, amount="1")
    services.hold_create(actor=services.SYSTEM, account=other_org.master_account, amount="1")
    holds = org_admin_client.get(reverse("admin:ledger_hold_changelist")).context["cl"].result_list
    assert [hold.account.organization_id for hold in holds] == [org.pk]
    assert Hold.objects.count() == 2
