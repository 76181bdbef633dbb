"""The ledger's events: balances_changed and money_moved after the commit, money_refused at once."""

from decimal import Decimal

import pytest

from ledger import services
from ledger.errors import InsufficientCredits
from ledger.events import balances_changed, money_moved, money_refused
from tests.factories import SYSTEM, funded_account, make_subaccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


@pytest.fixture
def received():
    """Every event sent while the test runs, as (signal name, kwargs)."""
    events = []
    receivers = {name: (lambda name: lambda sender, **kwargs: events.append((name, kwargs)))(name)
                 for name in ("balances_changed", "money_moved", "money_refused")}
    for signal, name in ((balances_changed, "balances_changed"), (money_moved, "money_moved"),
                         (money_refused, "money_refused")):
        signal.connect(receivers[name], dispatch_uid=f"test-{name}")
    yield events
    services.forget_system_accounts()  # executing on-commit callbacks cached ids of rows the test rolls back
    for signal, name in ((balances_changed, "balances_changed"), (money_moved, "money_moved"),
                         (money_refused, "money_refused")):
        signal.disconnect(dispatch_uid=f"test-{name}")


def test_a_charge_publishes_its_funding_account_and_what_moved_after_the_commit(
        received, django_capture_on_commit_callbacks):
    master = funded_account("10")
    shared = make_subaccount(master.organization, "Campaigns", balance_mode="shared")
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        txn = services.charge_create(actor=SYSTEM, account=shared, channel="sms", quantity=3, unit_price="1",
                                     traffic="transactional")
        assert received == []  # nothing before the commit
    names = [name for name, _ in received]
    assert names == ["balances_changed", "money_moved"]
    assert received[0][1]["account_ids"] == [master.pk]
    [movement] = received[1][1]["movements"]
    assert received[1][1]["operation"] == "charge_create"
    assert (movement.kind, movement.amount, movement.channel, movement.traffic, movement.currency,
            movement.transaction_id) == ("charge", Decimal("3"), "sms", "transactional", "INR", txn.pk)


def test_a_refused_charge_publishes_money_refused_and_nothing_else(received, django_capture_on_commit_callbacks):
    master = funded_account("1")
    received.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InsufficientCredits):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", quantity=3, unit_price="1")
    assert [name for name, _ in received] == ["money_refused"]
    assert received[0][1]["error"].code == "insufficient_credits" and received[0][1]["account_id"] == master.pk


def test_expiry_reports_what_expired(received, django_capture_on_commit_callbacks, postgres_only):
    master = funded_account("10", expires_in="1M")
    lot_expiry = master.lots.get().expires_at
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.lots_expire(at=lot_expiry, account_ids=[master.pk]) == 1
    moved = [kwargs for name, kwargs in received if name == "money_moved"]
    assert [(m.kind, m.amount, m.count) for kwargs in moved for m in kwargs["movements"]] == [
        ("expiry", Decimal("10"), 1)]
