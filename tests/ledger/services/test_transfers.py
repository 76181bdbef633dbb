"""Transfers: moved credit keeps its expiry, repays the receiver's debt, at most the positive balance and available."""

import pytest

from ledger import services
from ledger.errors import InsufficientCredits, TransferNotAllowed
from ledger.models import CreditLot
from tests.factories import SYSTEM, make_org, make_subaccount

from .helpers import D, charge, refreshed

pytestmark = pytest.mark.django_db


def test_transfer_moves_credit_and_keeps_expiry():
    org = make_org()
    master = org.master_account
    lot = services.credits_grant(actor=SYSTEM, account=master, amount="50", expires_in="3M").lot
    team = make_subaccount(org, "Team")
    txn = services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="20", comment="Q4")
    assert (refreshed(master).balance, refreshed(team).balance) == (D("30"), D("20"))
    moved = CreditLot.objects.get(account=team)
    assert moved.expires_at == lot.expires_at and moved.source == "transfer" and moved.transferred_from_id == lot.pk
    postings = {p.account_id: p for p in txn.postings.all()}
    assert postings[master.pk].amount == D("-20") and postings[team.pk].amount == D("20")
    assert postings[team.pk].balance_after == D("20")


def test_transfer_repays_receiver_debt_first():
    org = make_org()
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    team = make_subaccount(org, "Team")
    charge(team, quantity=5, traffic="transactional")
    services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=team, amount="20")
    assert refreshed(team).balance == D("15")
    assert CreditLot.objects.get(account=team).remaining == D("15")


def test_transfer_limited_to_positive_balance_and_available():
    org = make_org()
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="50")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="100")
    team = make_subaccount(org, "Team")
    with pytest.raises(InsufficientCredits):
        services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="51")
    services.hold_create(actor=SYSTEM, account=master, amount="130")  # available 20
    with pytest.raises(InsufficientCredits):
        services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="21")
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=team, amount="20")


def test_transfer_not_allowed_across_orgs_or_with_shared_accounts():
    org = make_org("A")
    other = make_org("B")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="50")
    shared = make_subaccount(org, "Shared", balance_mode="shared")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=other.master_account,
                                 amount="1")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=org.master_account, to_account=shared, amount="1")
    with pytest.raises(TransferNotAllowed):
        services.transfer_create(actor=SYSTEM, from_account=shared, to_account=org.master_account, amount="1")
    assert refreshed(org.master_account).balance == D("50")
