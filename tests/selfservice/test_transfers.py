"""Individual user credits: a subaccount user's own transfers (to and from the master, to other users when the
org allows it) with the conditions tick box, each form at most once; the org admin's users' credits screen."""

from decimal import Decimal as D
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from ledger import services
from ledger.models import Posting, Transaction, TransactionKind
from tests.factories import UserFactory, make_subaccount

pytestmark = pytest.mark.django_db


def balances(org):
    return {"master" if account.is_master else account.name: account.balance for account in org.accounts.all()}


def open_form(client, account):
    """GET the transfer form (issues a one-time token); returns (page, token)."""
    url = reverse("selfservice:transfer", args=[account.pk])
    response = client.get(url)
    assert response.status_code == 302
    token = parse_qs(urlparse(response["Location"]).query)["form"][0]
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page, token


def post(client, account, token, **data):
    data.setdefault("comment", "budget moves")
    return client.post(reverse("selfservice:transfer", args=[account.pk]), {"form_token": token, **data})


@pytest.fixture
def marketing(individual_org):
    return individual_org.accounts.get(name="Marketing")


def test_to_the_master_with_the_tick_moves_credits_once(client, individual_org, alice, marketing):
    client.force_login(alice)
    page, token = open_form(client, marketing)
    content = page.content.decode()
    assert "Credits moved are final." in content and "I agree to the transfer conditions" in content
    before = balances(individual_org)
    response = post(client, marketing, token, direction="to_master", amount="30", agree="on", comment="back")
    assert response.status_code == 302 and response["Location"] == reverse("selfservice:my_credits")
    after = balances(individual_org)
    assert after["Marketing"] == before["Marketing"] - 30 and after["master"] == before["master"] + 30
    txn = Transaction.objects.get(kind=TransactionKind.TRANSFER, actor_user=alice)
    assert txn.amount == D("30") and txn.memo == "back"
    assert sorted(Posting.objects.filter(transaction=txn, account__isnull=False).values_list("amount", flat=True)) \
        == [D("-30"), D("30")]
    # the same form again (Back and resubmit, a double click): nothing moves twice
    again = post(client, marketing, token, direction="to_master", amount="30", agree="on")
    assert again.status_code == 302
    assert balances(individual_org) == after
    assert Transaction.objects.filter(kind=TransactionKind.TRANSFER, actor_user=alice).count() == 1
    used = client.get(reverse("selfservice:transfer", args=[marketing.pk]) + f"?form={token}")
    assert used.status_code == 200 and "already submitted" in used.content.decode()


def test_without_the_tick_the_form_refuses_and_nothing_moves(client, individual_org, alice, marketing):
    client.force_login(alice)
    _, token = open_form(client, marketing)
    before = balances(individual_org)
    response = post(client, marketing, token, direction="to_master", amount="30")
    assert response.status_code == 400
    assert "Tick the box to agree to the transfer conditions." in response.content.decode()
    assert "No refunds." in response.content.decode()  # the conditions stay in view
    assert balances(individual_org) == before
    # the token was not used: the corrected form goes through
    assert post(client, marketing, token, direction="to_master", amount="30", agree="on").status_code == 302
    assert balances(individual_org)["Marketing"] == before["Marketing"] - 30


def test_from_the_master_account(client, individual_org, alice, marketing):
    client.force_login(alice)
    _, token = open_form(client, marketing)
    before = balances(individual_org)
    assert post(client, marketing, token, direction="from_master", amount="12.5", agree="on").status_code == 302
    after = balances(individual_org)
    assert after["Marketing"] == before["Marketing"] + D("12.5")
    assert after["master"] == before["master"] - D("12.5")


def test_more_than_available_is_a_form_error(client, individual_org, alice, marketing):
    client.force_login(alice)
    _, token = open_form(client, marketing)
    before = balances(individual_org)
    response = post(client, marketing, token, direction="to_master", amount="1000", agree="on")
    assert response.status_code == 400 and "can be transferred" in response.content.decode()
    assert balances(individual_org) == before


def test_user_to_user_only_when_the_org_allows_it(client, individual_org, alice, marketing, bob_account):
    client.force_login(alice)
    page, token = open_form(client, marketing)
    assert "to_user" not in page.content.decode()
    response = post(client, marketing, token, direction="to_user", recipient=str(bob_account.pk), amount="5",
                    agree="on")
    assert response.status_code == 400
    assert balances(individual_org)["Sales"] == 0
    services.organization_update(actor=services.SYSTEM, organization=individual_org, user_to_user_transfers=True)
    page, token = open_form(client, marketing)
    assert "Sales (bob)" in page.content.decode()
    response = post(client, marketing, token, direction="to_user", recipient=str(bob_account.pk), amount="5",
                    agree="on")
    assert response.status_code == 302
    assert balances(individual_org)["Sales"] == 5 and balances(individual_org)["Marketing"] == 95
    # a recipient must be chosen; the master is not a user recipient
    _, token = open_form(client, marketing)
    response = post(client, marketing, token, direction="to_user", amount="5", agree="on")
    assert response.status_code == 400 and "Choose whom to transfer to." in response.content.decode()
    response = post(client, marketing, token, direction="to_user", amount="5", agree="on",
                    recipient=str(individual_org.master_account.pk))
    assert response.status_code == 400


def test_setting_off_means_org_admins_manage_subaccounts(client, individual_org, alice, marketing):
    services.organization_update(actor=services.SYSTEM, organization=individual_org, individual_user_credits=False)
    client.force_login(alice)
    assert client.get(reverse("selfservice:transfer", args=[marketing.pk])).status_code == 404
    page = client.get(reverse("selfservice:my_credits"))
    assert "your organization's admins manage them" in page.content.decode()


def test_another_users_subaccount_is_404(client, individual_org, alice, bob_account):
    client.force_login(alice)
    assert client.get(reverse("selfservice:transfer", args=[bob_account.pk])).status_code == 404
    assert client.post(reverse("selfservice:transfer", args=[bob_account.pk]),
                       {"direction": "to_master", "amount": "1", "agree": "on"}).status_code == 404


def test_a_forged_token_moves_nothing(client, individual_org, alice, marketing):
    client.force_login(alice)
    before = balances(individual_org)
    response = post(client, marketing, "forged", direction="to_master", amount="1", agree="on")
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert balances(individual_org) == before


def test_my_credits_lists_actions_ledger_csv_and_print(client, individual_org, alice, marketing):
    client.force_login(alice)
    page = client.get(reverse("selfservice:my_credits"))
    content = page.content.decode()
    assert page.status_code == 200 and "100.00" in content
    for name in ("selfservice:transfer", "finance:my_account_ledger", "finance:my_account_ledger_csv",
                 "finance:my_account_ledger_print"):
        assert reverse(name, args=[marketing.pk]) in content
    assert reverse("admin:payments_topup_buy", args=[individual_org.pk]) in content
    csv = client.get(reverse("finance:my_account_ledger_csv", args=[marketing.pk]))
    assert csv.status_code == 200 and b"transfer" in b"".join(csv.streaming_content)
    assert client.get(reverse("finance:my_account_ledger_print", args=[marketing.pk])).status_code == 200
    assert client.get(reverse("console-landing"))["Location"] == reverse("selfservice:my_credits")


def test_api_refuses_a_subaccount_user_outside_the_rule(client, individual_org, alice, marketing, bob_account):
    client.force_login(alice)
    response = client.post("/api/v1/transfers", {"from_account": str(marketing.pk), "to_account": str(bob_account.pk),
                                                 "amount": "1"}, content_type="application/json",
                           headers={"Idempotency-Key": "k1"})
    assert response.status_code in (403, 404)
    assert balances(individual_org)["Sales"] == 0


def test_org_admin_sees_every_users_credits_with_row_actions(client, individual_org, org_admin_user, alice,
                                                             other_org):
    client.force_login(org_admin_user)
    page = client.get(reverse("selfservice:organization_credits", args=[individual_org.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    marketing = individual_org.accounts.get(name="Marketing")
    master = individual_org.master_account
    assert "alice" in content and "(system credits)" in content and "(shared with master)" in content
    assert 'data-action="transfer-to"' in content and 'data-action="buy-for"' in content
    # the row's link opens the console's transfer form with both accounts chosen
    link = reverse("admin:ledger_organization_transfer", args=[individual_org.pk])
    response = client.get(f"{link}?from_account={master.pk}&to_account={marketing.pk}")
    form_page = client.get(response["Location"])
    assert form_page.context["form"].initial == {"from_account": str(master.pk), "to_account": str(marketing.pk)}
    assert client.get(reverse("selfservice:organization_credits", args=[other_org.pk])).status_code == 404
    dashboard = client.get(reverse("admin:ledger_organization_change", args=[individual_org.pk]))
    assert reverse("selfservice:organization_credits", args=[individual_org.pk]) in dashboard.content.decode()


def test_a_user_without_accounts_sees_nothing(client, individual_org):
    client.force_login(UserFactory(username="nobody", is_staff=True))
    assert client.get(reverse("selfservice:organization_credits", args=[individual_org.pk])).status_code == 404
    assert "your organization's admins" in client.get(reverse("selfservice:my_credits")).content.decode()


def test_api_session_of_a_subaccount_user_follows_the_rule(client, individual_org, alice, marketing):
    second = make_subaccount(individual_org, name="Marketing 2", owner=alice)
    client.force_login(alice)
    response = client.post("/api/v1/transfers", {"from_account": str(marketing.pk), "to_account": str(second.pk),
                                                 "amount": "1"}, content_type="application/json",
                           headers={"Idempotency-Key": "k2"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert balances(individual_org)["Marketing 2"] == 0


def test_the_subaccount_user_buys_only_with_the_setting_on(client, individual_org, alice, marketing):
    client.force_login(alice)
    buy = reverse("admin:payments_topup_buy", args=[individual_org.pk])
    page = client.get(buy, {"account": str(marketing.pk)})
    assert page.status_code == 200
    assert [account.pk for account in page.context["form"].fields["account"].queryset] == [marketing.pk]
    services.organization_update(actor=services.SYSTEM, organization=individual_org, individual_user_credits=False)
    assert client.get(buy).status_code == 403


def test_a_reason_is_required(client, individual_org, alice, marketing):
    client.force_login(alice)
    _, token = open_form(client, marketing)
    before = balances(individual_org)
    response = post(client, marketing, token, direction="to_master", amount="3", agree="on", comment="")
    assert response.status_code == 400 and response.context["form"].errors["comment"]
    assert balances(individual_org) == before


def test_without_transfer_credits_the_link_is_gone_and_the_form_refused(client, individual_org, alice, marketing):
    from django.contrib.auth.models import Group, Permission

    Group.objects.get(name="Subaccount user").permissions.remove(
        Permission.objects.get(content_type__app_label="ledger", codename="transfer_credits"))
    client.force_login(alice)
    page = client.get(reverse("selfservice:my_credits")).content.decode()
    assert reverse("selfservice:transfer", args=[marketing.pk]) not in page
    assert client.get(reverse("selfservice:transfer", args=[marketing.pk])).status_code == 403
    before = balances(individual_org)
    response = client.post(reverse("selfservice:transfer", args=[marketing.pk]),
                           {"direction": "to_master", "amount": "1", "agree": "on", "comment": "x"})
    assert response.status_code == 403 and balances(individual_org) == before
