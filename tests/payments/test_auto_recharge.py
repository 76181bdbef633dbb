"""Auto-recharge: fired from the ledger's balances_changed event after commit, once per crossing, at most N a day,
idempotent per account and trigger; a failed payment turns it off and alerts the org's recipients."""

from decimal import Decimal

import pytest
from django.core import mail

from alerts.models import Notification, NotificationKind
from ledger import services as ledger
from ledger.events import balances_changed
from ledger.invariants import check_invariants
from payments import auto_recharge
from payments.models import AutoRecharge, TopUp, TopUpOrigin, TopUpStatus
from payments.providers import sandbox

from .conftest import BILLING_KA


@pytest.fixture
def funded(org, django_capture_on_commit_callbacks):
    ledger.credits_grant(actor=ledger.SYSTEM, account=org.master_account, amount="1000", expires_in="never")
    spend.capture = django_capture_on_commit_callbacks
    return org.master_account


def rule(account, method=sandbox.METHOD_OK, **overrides):
    fields = {"threshold": Decimal("200"), "mode": "fixed_amount", "amount": Decimal("500"), "max_per_day": 3,
              "provider": "sandbox", "payment_method": method, "billing": BILLING_KA}
    return auto_recharge.auto_recharge_save(account=account, **{**fields, **overrides})


def spend(account, amount):
    """A charge, then what runs after its commit (the balances_changed event and the tasks it queues)."""
    with spend.capture(execute=True):
        ledger.charge_create(actor=ledger.SYSTEM, account=account, channel="sms", unit_price=str(amount), quantity=1,
                             traffic="transactional")


def balance(account) -> Decimal:
    account.refresh_from_db()
    return account.balance


def test_fires_once_per_crossing_and_again_after_recovery(funded):
    rule(funded)
    spend(funded, 700)  # 300: above the threshold
    assert not TopUp.objects.exists()
    spend(funded, 150)  # 150: crossed below 200 -> one recharge of 500 (paid by the sandbox's saved method)
    assert balance(funded) == Decimal("650")
    [top_up] = TopUp.objects.all()
    assert (top_up.origin, top_up.status, top_up.amount) == (TopUpOrigin.AUTO_RECHARGE, TopUpStatus.PAID, 500)
    assert top_up.auto_recharge_trigger == f"{funded.pk}:1" and top_up.invoice_number
    spend(funded, 500)  # 150 again: this is a new crossing (it recovered to 650 in between)
    assert TopUp.objects.count() == 2 and balance(funded) == Decimal("650")
    assert check_invariants() == []


def test_falling_further_without_recovering_does_not_fire_twice(funded):
    rule(funded, threshold=Decimal("800"), amount=Decimal("100"), max_per_day=5)
    spend(funded, 400)  # 600: fires, +100 -> 700, still below 800
    assert balance(funded) == Decimal("700") and TopUp.objects.count() == 1
    spend(funded, 50)  # 650: still the same crossing
    assert auto_recharge.auto_recharge_check(account_id=funded.pk) is None
    assert TopUp.objects.count() == 1 and balance(funded) == Decimal("650")


def test_top_up_to_target_buys_the_difference(funded):
    rule(funded, mode="top_up_to_target", amount=None, target=Decimal("2000"))
    spend(funded, 900)  # 100 -> buy 1900 to reach 2000
    assert TopUp.objects.get().amount == Decimal("1900")
    assert balance(funded) == Decimal("2000")


def test_at_most_n_per_day(funded):
    rule(funded, max_per_day=1)
    spend(funded, 900)  # 100 -> +500 = 600
    spend(funded, 500)  # 100 again, a new crossing, but today's one recharge is used
    assert TopUp.objects.count() == 1 and balance(funded) == Decimal("100")


def test_idempotent_per_account_and_trigger(funded):
    rule(funded)
    spend(funded, 900)
    top_up = TopUp.objects.get()
    # the charge task delivered twice (a retry after a lost ack) charges nothing more
    assert auto_recharge.auto_recharge_charge(top_up_id=top_up.pk).startswith("nothing to do")
    # and the check task run again for the same crossing creates nothing
    assert auto_recharge.auto_recharge_check(account_id=funded.pk) is None
    assert TopUp.objects.count() == 1


def test_a_failed_payment_turns_it_off_and_alerts_the_recipients(funded, org_admin):
    rule(funded, method=sandbox.METHOD_DECLINED)
    mail.outbox.clear()
    spend(funded, 900)
    top_up = TopUp.objects.get()
    assert top_up.status == TopUpStatus.FAILED and "declined" in top_up.failure_reason
    current = AutoRecharge.objects.get(account=funded)
    assert not current.enabled and "declined" in current.disabled_reason
    notice = Notification.objects.get(kind=NotificationKind.AUTO_RECHARGE_FAILED)
    assert "switched off" in notice.message
    assert any(org_admin.email in message.to and "Auto-recharge" in message.subject for message in mail.outbox)
    spend(funded, 50)  # still below and falling: it stays off
    assert TopUp.objects.count() == 1 and balance(funded) == Decimal("50")


def test_the_receiver_is_connected_to_the_ledger_event(funded):
    assert any("auto_recharge" in str(receiver) for receiver in balances_changed.receivers)
