"""Random sequences of every money operation over several accounts; every invariant checked after each step."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import services
from ledger.errors import HoldNotActive, InsufficientCredits, OrgBlocked, TransferNotAllowed
from ledger.invariants import check_invariants
from ledger.models import Account, Hold, HoldStatus, Organization
from tests.factories import SYSTEM, make_org, make_subaccount

amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("500"), places=6)
small_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("80"), places=2)
expiries = st.sampled_from(["1M", "2M", "3M", "6M", "1Y", "never"])


class LedgerMachine(RuleBasedStateMachine):
    """Model: balances only change by what each successful operation says; invariants 1-4 always hold."""

    @initialize()
    def create_org(self):
        self.now = datetime(2026, 1, 31, 12, tzinfo=UTC)
        org = make_org(name="Fuzz", currency="USD", timezone_name="America/New_York")
        self.master = org.master_account
        self.own = make_subaccount(org, "Own", balance_mode="own")
        self.shared = make_subaccount(org, "Shared", balance_mode="shared")
        self.funding = [self.master, self.own]
        self.accounts = [self.master, self.own, self.shared]
        self.expected = {a.pk: Decimal("0") for a in self.funding}
        for account, amount in ((self.master, Decimal("200")), (self.own, Decimal("50"))):
            services.credits_grant(actor=SYSTEM, account=account, amount=amount, expires_in="1M", at=self.now)
            self.expected[account.pk] += amount

    def fresh(self, account) -> Account:
        return Account.objects.select_related("organization").get(pk=account.pk)

    def funding_of(self, account) -> Account:
        return self.master if account.pk == self.shared.pk else account

    @rule(index=st.integers(0, 1), amount=amounts, expires_in=expiries)
    def grant(self, index, amount, expires_in):
        account = self.funding[index]
        services.credits_grant(actor=SYSTEM, account=account, amount=amount, expires_in=expires_in, at=self.now)
        self.expected[account.pk] += amount

    @rule(index=st.integers(0, 1), amount=small_amounts)
    def remove(self, index, amount):
        account = self.fresh(self.funding[index])
        services.lots_expire(at=self.now)  # the balance after expiry decides what can be removed
        self.resync()
        account = self.fresh(account)
        try:
            services.credits_remove(actor=SYSTEM, account=account, amount=amount, at=self.now)
        except InsufficientCredits:
            assert amount > max(Decimal(0), account.balance)
        else:
            assert amount <= account.balance
            self.expected[account.pk] -= amount

    @rule(index=st.integers(0, 2), quantity=st.integers(1, 50), price=st.sampled_from(["0.25", "1", "3.333333"]),
          traffic=st.sampled_from(["promotional", "transactional"]))
    def charge(self, index, quantity, price, traffic):
        account = self.fresh(self.accounts[index])
        funding = self.funding_of(account)
        amount = services.charge_amount(Decimal(price), quantity)
        services.lots_expire(at=self.now)
        self.resync()
        available = self.fresh(funding).available(self.now)
        policy, blocked = self.policy(available)
        must_fit = traffic == "promotional" or policy == "all_must_fit"
        try:
            services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=quantity, unit_price=price,
                                   traffic=traffic, at=self.now)
        except OrgBlocked:
            assert blocked and amount > 0
        except InsufficientCredits:
            assert not blocked and must_fit and amount > available
        else:
            assert not blocked and (not must_fit or amount <= available)
            self.expected[funding.pk] -= amount

    @rule(index=st.integers(0, 2), amount=small_amounts, seconds=st.integers(60, 86400 * 3))
    def hold(self, index, amount, seconds):
        account = self.fresh(self.accounts[index])
        funding = self.funding_of(account)
        services.lots_expire(at=self.now)
        available = self.fresh(funding).available(self.now)
        _, blocked = self.policy(available)
        try:
            services.hold_create(actor=SYSTEM, account=account, amount=amount, expires_in_seconds=seconds, at=self.now)
        except OrgBlocked:
            assert blocked
        except InsufficientCredits:
            assert not blocked and amount > available
        else:
            assert not blocked and amount <= available

    @rule(policy=st.sampled_from(["promotional_must_fit", "all_must_fit", "stop_when_depleted"]),
          floor=st.sampled_from(["0", "10"]))
    def set_policy(self, policy, floor):
        services.organization_update(actor=SYSTEM, organization=self.master.organization, spending_policy=policy,
                                     spending_floor=floor)

    def policy(self, available) -> tuple[str, bool]:
        """The org's spending policy, and whether it blocks spending at this available amount."""
        org = Organization.objects.get(pk=self.master.organization_id)
        return org.spending_policy, org.spending_policy == "stop_when_depleted" and available <= org.spending_floor

    @precondition(lambda self: Hold.objects.filter(account__in=self.funding).exists())
    @rule(data=st.data(), use=st.sampled_from(["release", "charge"]), quantity=st.integers(1, 40))
    def use_hold(self, data, use, quantity):
        holds = list(Hold.objects.filter(account__in=self.funding).order_by("created_at", "pk"))
        hold = data.draw(st.sampled_from(holds))
        was_active = hold.status == HoldStatus.ACTIVE and hold.expires_at > self.now
        try:
            if use == "release":
                services.hold_release(actor=SYSTEM, hold=hold, at=self.now)
            else:
                account = self.fresh(hold.account)
                services.lots_expire(at=self.now)
                self.resync()
                services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=quantity,
                                       unit_price="1", hold=hold.pk, at=self.now)
                self.expected[hold.account_id] -= Decimal(quantity)
        except HoldNotActive:
            assert not was_active
        except (InsufficientCredits, OrgBlocked):
            assert use == "charge"
        else:
            assert was_active

    @rule(source=st.integers(0, 1), destination=st.integers(0, 2), amount=small_amounts)
    def transfer(self, source, destination, amount):
        if source == destination:
            return
        sender, receiver = self.fresh(self.accounts[source]), self.fresh(self.accounts[destination])
        services.lots_expire(at=self.now)
        self.resync()
        try:
            services.transfer_create(actor=SYSTEM, from_account=sender, to_account=receiver, amount=amount,
                                     at=self.now)
        except TransferNotAllowed:
            assert self.shared.pk in (sender.pk, receiver.pk)
        except InsufficientCredits:
            sender = self.fresh(sender)
            assert amount > min(sender.balance, sender.available(self.now))
        else:
            self.expected[sender.pk] -= amount
            self.expected[receiver.pk] += amount

    @rule(index=st.integers(0, 1), amount=st.sampled_from(["0", "10", "100"]), days=st.sampled_from([None, 1, 5]))
    def set_limit(self, index, amount, days):
        services.credit_limit_set(actor=SYSTEM, account=self.funding[index], amount=amount, temporary_days=days,
                                  at=self.now)

    @rule(days=st.integers(0, 45), hours=st.integers(0, 23))
    def time_passes(self, days, hours):
        self.now += timedelta(days=days, hours=hours)
        services.lots_expire(at=self.now)
        services.holds_expire(at=self.now)
        services.credit_limits_expire(at=self.now)
        self.resync()

    def resync(self):
        """Expiry moves balances by itself: take what it did into the model from the expiry transactions."""
        from ledger.models import Transaction

        for account in self.funding:
            expired = sum((t.amount for t in Transaction.objects.filter(account=account, kind="expiry")), Decimal(0))
            previously = getattr(self, "_expired", {}).get(account.pk, Decimal(0))
            self.expected[account.pk] -= expired - previously
            self.__dict__.setdefault("_expired", {})[account.pk] = expired

    @invariant()
    def ledger_is_sound(self):
        if not hasattr(self, "master"):
            return
        self.resync()
        problems = check_invariants(accounts=Account.objects.filter(organization_id=self.master.organization_id))
        assert problems == []
        for account in self.funding:
            assert self.fresh(account).balance == self.expected[account.pk]
        shared = self.fresh(self.shared)
        assert (shared.balance, shared.held) == (0, 0)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("money_path")
def test_random_operation_sequences_keep_every_invariant():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
