"""Management commands of the two-command start: demo data and the first admin user."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apiauth.models import ServiceToken
from approvals.models import ApprovalRequest
from approvals.services import approval_threshold
from ledger.invariants import check_invariants
from ledger.models import Account, Organization, Transaction
from ratecards.models import RateCardVersion

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_two_orgs_with_a_month_of_usage_and_a_sound_ledger(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Demo data loaded" in out and "acme-otp-sender" in out
    orgs = {org.name: org for org in Organization.objects.all()}
    assert set(orgs) == {"Acme Retail India", "Globex Messaging"}
    assert (orgs["Acme Retail India"].currency, orgs["Globex Messaging"].currency) == ("INR", "USD")
    assert orgs["Globex Messaging"].payment_scheme == "postpaid"
    assert orgs["Globex Messaging"].spending_policy == "all_must_fit"
    assert set(Account.objects.values_list("balance_mode", flat=True)) == {"own", "shared"}
    assert RateCardVersion.objects.count() == 3
    assert RateCardVersion.objects.filter(status="pending").count() == 1  # the dashboard announces it
    charges = Transaction.objects.filter(kind="charge")
    assert charges.count() > 150
    assert charges.dates("created_at", "day").count() >= 28
    assert check_invariants() == []
    limited = ServiceToken.objects.get(name="acme-otp-sender")
    assert list(limited.visible_organizations()) == [orgs["Acme Retail India"]]
    assert ServiceToken.objects.get(name="provisioning").all_organizations
    acme = orgs["Acme Retail India"]  # individual user credits: Sunita moves her own Sales budget
    assert acme.individual_user_credits and acme.user_to_user_transfers and "cannot be undone" in \
        acme.transfer_conditions
    sales = Account.objects.get(owner__username="sunita.sales")
    assert sales.organization == acme and sales.balance == 2500
    assert "sunita.sales" in out
    pending = ApprovalRequest.objects.get(status="pending")  # the approval queue is not empty
    assert pending.organization == orgs["Acme Retail India"] and pending.amount > approval_threshold("INR")
    call_command("seed_demo", if_empty=True)
    assert Organization.objects.count() == 2
    assert "not loaded" in capsys.readouterr().out


def test_ensure_admin_user_prints_a_password_once(capsys):
    call_command("ensure_admin_user")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    call_command("ensure_admin_user")
    assert "already exists" in capsys.readouterr().out
    assert get_user_model().objects.count() == 1
