"""Where each role lands after logging in, and what a subaccount user's page says about its closing balance."""

import re

import pytest
from django.urls import reverse

from ledger import services
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount

pytestmark = pytest.mark.django_db


def log_in(client, username, next_url=None):
    url = reverse("admin:login") + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"username": username, "password": "pw"}, follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0]


@pytest.fixture
def org(db):
    org = make_org(name="Acme")
    return org


def test_each_role_lands_on_its_first_page(client, org):
    user_with_role("Platform staff", "pat")
    user_with_role("Finance", "fin")
    admin = user_with_role("Org admin", "oa")
    org.admins.add(admin)
    owner = user_with_role("Subaccount user", "sub")
    account = make_subaccount(org, name="Field team", owner=owner)
    assert log_in(client, "pat") == reverse("admin:index")
    assert log_in(client, "fin") == reverse("finance:index")
    assert log_in(client, "oa") == reverse("admin:ledger_organization_change", args=[org.pk])
    assert log_in(client, "sub") == reverse("finance:my_account_ledger", args=[account.pk])


def test_a_page_asked_for_is_kept_and_the_bare_admin_index_counts_as_none(client, org):
    user_with_role("Finance", "fin")
    target = reverse("finance:reports", args=[org.pk])
    assert log_in(client, "fin", target) == target
    client.logout()
    assert log_in(client, "fin", reverse("admin:index")) == reverse("finance:index")


def test_a_subaccount_user_reads_closing_balance_as_their_balance_now(client, org):
    owner = user_with_role("Subaccount user", "sub")
    account = make_subaccount(org, name="Field team", owner=owner)
    services.credits_grant(actor=services.SYSTEM, account=account, amount="75.5")
    log_in(client, "sub")
    page = client.get(reverse("finance:my_account_ledger", args=[account.pk])).content.decode()
    assert re.search(r"<dt>Closing balance = your balance now</dt><dd id=\"closing\">₹75.50</dd>", page)
    assert "what Field team has now, in INR" in page
