"""Idempotency keys, on both money paths: one key, one effect; another request with the key is refused."""

import pytest

from ledger import services
from ledger.errors import IdempotencyConflict, InsufficientCredits
from ledger.models import Transaction
from tests.factories import SYSTEM, funded_account

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def test_idempotent_retry_returns_first_result_without_second_effect():
    master = funded_account("100")
    first = charge(master, quantity=10, idempotency_key="send-1")
    again = charge(master, quantity=10, idempotency_key="send-1")
    assert again.pk == first.pk and getattr(again, "replayed", False)
    assert refreshed(master).balance == D("90")
    assert Transaction.objects.filter(kind="charge").count() == 1


def test_same_key_with_different_request_is_refused():
    master = funded_account("100")
    charge(master, quantity=10, idempotency_key="send-1")
    with pytest.raises(IdempotencyConflict):
        charge(master, quantity=11, idempotency_key="send-1")
    with pytest.raises(IdempotencyConflict):
        services.hold_create(actor=SYSTEM, account=master, amount="1", idempotency_key="send-1")


def test_keys_are_scoped_per_caller():
    master = funded_account("100")
    charge(master, quantity=10, idempotency_key="k")
    services.charge_create(actor=services.Actor(service="otp-sender"), account=master, channel="sms", quantity=10,
                           unit_price="1", idempotency_key="k")
    assert refreshed(master).balance == D("80")


def test_failed_request_leaves_no_key_behind():
    master = funded_account("5")
    with pytest.raises(InsufficientCredits):
        charge(master, quantity=10, idempotency_key="k")
    services.credits_grant(actor=SYSTEM, account=master, amount="10")
    charge(master, quantity=10, idempotency_key="k")
    assert refreshed(master).balance == D("5")
