"""The two implementations of the money rules write the same rows.

Hypothesis drives random sequences of grants, charges (both traffics, with and without holds, on the
master and on a shared subaccount), batches of charges (mixed traffics, some refused, some with holds or a
hold that is none, atomic or not), hold captures, holds, releases, credit limits, spending policies
(docs/policies.md), lot expiry and clock moves. Each operation runs twice at the same instant: on one org's
accounts through the database path (ledger_charge(), ledger_charge_batch(), the set-based expiry statement)
and on an identical org's accounts through the Python path. After every step the two ledgers must hold the same rows (lots drawn,
amounts, balance_after, holds, expiry transactions) and each operation must end the same way (the
same result, or the same error with the same message).

CI runs the slow test: 60 sequences of up to 25 steps (derandomized, so every run tries the same).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
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
from ledger.errors import LedgerError
from ledger.invariants import check_invariants
from ledger.models import Account, Hold, Organization, SpendingPolicy
from ledger.services.results import BatchResult
from tests.factories import SYSTEM, make_org, make_subaccount

from .rows import account_rows, without_ids

PATHS = ("database", "python")
# Round amounts most of the time (charges then draw lots partly), any 6-place amount otherwise.
amounts = st.sampled_from([Decimal(n) for n in ("1", "5", "10", "25", "100")]) | st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("300"), places=6)
prices = st.sampled_from(["0", "0.25", "1", "1", "3.333333", "12.5"])
expiries = st.sampled_from(["1M", "1M", "2M", "3M", "6M", "1Y", "never", "never"])
days_ago = st.sampled_from([0, 0, 0, 1, 31, 45])  # repeated instants: lots that tie on their expiry and grant


def _outcome(result, hold_ids: list) -> tuple | None:
    """What an operation returned, without ids."""
    if result is None:
        return None
    if isinstance(result, BatchResult):
        return ("batch", result.total, [
            _outcome(item.transaction, hold_ids) if item.transaction is not None else
            ("refused", item.status, item.error.code, without_ids(item.error.detail, hold_ids), item.error.errors)
            for item in result.items])
    if isinstance(result, Hold):
        return ("hold", result.amount, result.remaining, result.status, result.expires_at)
    if isinstance(result, Organization):
        return ("organization", result.spending_policy, result.spending_floor)
    if isinstance(result, Account):
        return ("account", result.balance, result.held, result.credit_limit, result.temporary_credit_limit)
    funding = getattr(result, "funding_account", None)
    return ("transaction", result.kind, result.amount, result.unit_price, result.quantity, result.traffic,
            result.created_at, result.metadata, funding.balance if funding else None,
            funding.held if funding else None)


class Differential(RuleBasedStateMachine):
    """Two identical orgs; every operation on both, one per path; their ledgers never differ."""

    @initialize(timezone_name=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]))
    def create_orgs(self, timezone_name):
        self.now = datetime(2026, 1, 31, 12, tzinfo=UTC)
        self.masters, self.shared, self.holds = {}, {}, {path: [] for path in PATHS}
        for path in PATHS:
            org = make_org(name="Differential", currency="USD", timezone_name=timezone_name)
            self.masters[path] = org.master_account
            self.shared[path] = make_subaccount(org, "Campaigns", balance_mode="shared")

    def on_both(self, operation, *, creates_hold: bool = False) -> None:
        """Run `operation(path, master, shared)` once per path; both must end the same way.

        With `creates_hold`, the hold each side created is remembered at the same position on both.
        """
        outcomes, results = {}, {}
        for path in PATHS:
            with override_settings(LEDGER_MONEY_PATH=path):
                master = Account.objects.select_related("organization").get(pk=self.masters[path].pk)
                shared = Account.objects.select_related("organization").get(pk=self.shared[path].pk)
                try:
                    results[path] = operation(path, master, shared)
                    outcomes[path] = _outcome(results[path], self.holds[path])
                except LedgerError as error:
                    outcomes[path] = ("refused", error.code, without_ids(error.detail, self.holds[path]),
                                      error.errors)
        assert outcomes["database"] == outcomes["python"]
        if creates_hold and all(isinstance(results.get(path), Hold) for path in PATHS):
            for path in PATHS:
                self.holds[path].append(results[path].pk)

    @rule(amount=amounts, expires_in=expiries, days_ago=days_ago)
    def grant(self, amount, expires_in, days_ago):
        self.on_both(lambda path, master, shared: services.credits_grant(
            actor=SYSTEM, account=master, amount=amount, expires_in=expires_in,
            at=self.now - timedelta(days=days_ago)))

    @rule(first=amounts, second=amounts, expires_in=expiries)
    def grant_twice_at_once(self, first, second, expires_in):
        """Two lots that tie on expiry and grant instant: only the tie-break (older id first) orders them."""
        for amount in (first, second):
            self.grant(amount, expires_in, 0)

    @rule(quantity=st.integers(1, 12), price=prices, traffic=st.sampled_from(["promotional", "transactional"]),
          on_shared=st.booleans(), data=st.data())
    def charge(self, quantity, price, traffic, on_shared, data):
        held = data.draw(st.none() | st.integers(0, len(self.holds["database"]) - 1)) if self.holds["database"] \
            else None
        self.on_both(lambda path, master, shared: services.charge_create(
            actor=SYSTEM, account=shared if on_shared else master, channel="sms", quantity=quantity,
            unit_price=price, traffic=traffic, reference="send", at=self.now,
            hold=None if held is None else self.holds[path][held]))

    @rule(data=st.data(), size=st.integers(1, 8), atomic=st.booleans(), on_shared=st.booleans())
    def batch(self, data, size, atomic, on_shared):
        """A batch: each item sees what the items before it left (a refused promotional item leaves available
        to the next); an item may name a hold (or an id that is no hold) or fail pricing (an unknown traffic)."""
        holds = len(self.holds["database"])
        self.run_batch([data.draw(st.tuples(
            st.integers(1, 12), prices,
            st.sampled_from(["promotional", "promotional", "transactional", "transactional", "unknown"]),
            st.none() | st.integers(-1, holds - 1) if holds else st.none() | st.just(-1)))
            for _ in range(size)], atomic, on_shared)

    def run_batch(self, specs: list[tuple], atomic: bool, on_shared: bool) -> None:
        """Items as (quantity, unit price, traffic, hold: None, -1 for an id that is no hold, else its position)."""
        def run(path, master, shared):
            items = [services.ChargeRequest(
                channel="sms", quantity=quantity, unit_price=price, traffic=traffic, reference=f"item {index}",
                hold=None if held is None else "not-a-hold" if held < 0 else self.holds[path][held])
                for index, (quantity, price, traffic, held) in enumerate(specs)]
            return services.charge_batch(actor=SYSTEM, account=shared if on_shared else master, items=items,
                                         atomic=atomic, at=self.now)

        self.on_both(run)

    @rule(over=st.sampled_from([Decimal(0), Decimal("0.000001")]), hold_it=st.booleans())
    def spend_exactly_available(self, over, hold_it):
        """The boundary: a promotional charge (or a hold) of exactly what is available, or a millionth more."""
        def spend(path, master, shared):
            amount = master.available(self.now) + over
            if amount <= 0:
                return None
            if hold_it:
                return services.hold_create(actor=SYSTEM, account=master, amount=amount, at=self.now)
            return services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price=amount,
                                          at=self.now)

        self.on_both(spend, creates_hold=hold_it)

    @rule(amount=amounts, seconds=st.integers(60, 86400 * 4), on_shared=st.booleans())
    def hold(self, amount, seconds, on_shared):
        self.on_both(lambda path, master, shared: services.hold_create(
            actor=SYSTEM, account=shared if on_shared else master, amount=amount, expires_in_seconds=seconds,
            at=self.now), creates_hold=True)

    @precondition(lambda self: self.holds["database"])
    @rule(data=st.data(), amount=st.none() | amounts)
    def capture(self, data, amount):
        index = data.draw(st.integers(0, len(self.holds["database"]) - 1))
        self.on_both(lambda path, master, shared: services.hold_capture(
            actor=SYSTEM, hold=Hold.objects.select_related("account__organization", "subaccount__organization")
            .get(pk=self.holds[path][index]), amount=amount, channel="sms", at=self.now))

    @precondition(lambda self: self.holds["database"])
    @rule(data=st.data())
    def release(self, data):
        index = data.draw(st.integers(0, len(self.holds["database"]) - 1))
        self.on_both(lambda path, master, shared: services.hold_release(
            actor=SYSTEM, hold=Hold.objects.get(pk=self.holds[path][index]), at=self.now))

    @rule(amount=st.sampled_from(["0", "5", "50", "400"]), days=st.sampled_from([None, 1, 3]))
    def set_limit(self, amount, days):
        self.on_both(lambda path, master, shared: services.credit_limit_set(
            actor=SYSTEM, account=master, amount=amount, temporary_days=days, at=self.now))

    @rule(policy=st.sampled_from(SpendingPolicy.values), floor=st.sampled_from(["0", "0", "5", "30"]))
    def set_policy(self, policy, floor):
        self.on_both(lambda path, master, shared: services.organization_update(
            actor=SYSTEM, organization=master.organization, spending_policy=policy, spending_floor=floor))

    @rule()
    def expire_lots(self):
        counts = {}
        for path in PATHS:
            with override_settings(LEDGER_MONEY_PATH=path):
                counts[path] = services.lots_expire(at=self.now, account_ids=[self.masters[path].pk])
        assert counts["database"] == counts["python"]

    @rule(days=st.sampled_from([0, 1, 10, 32]), hours=st.integers(0, 23))
    def time_passes(self, days, hours):
        self.now += timedelta(days=days, hours=hours)

    @invariant()
    def same_rows(self):
        if not hasattr(self, "masters"):
            return
        rows = {path: account_rows(self.masters[path], self.holds[path]) for path in PATHS}
        assert rows["database"] == rows["python"]


def _run(max_examples: int, steps: int) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the database path is PostgreSQL's")
    run_state_machine_as_test(Differential, settings=settings(
        max_examples=max_examples, stateful_step_count=steps, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    ))
    assert check_invariants() == []


@pytest.mark.django_db
def test_both_paths_write_the_same_rows_in_a_few_sequences():
    _run(max_examples=6, steps=15)


@pytest.mark.slow
@pytest.mark.django_db
def test_both_paths_write_the_same_rows_in_many_random_sequences():
    _run(max_examples=60, steps=25)


@pytest.mark.django_db
def test_both_paths_write_the_same_rows_for_these_batches(postgres_only):
    """Batches in a fixed sequence (the random ones above meet a few only locally): items that draw lots in
    turn, refusals that leave available to the next item, holds drawn and captured, atomic batches refused
    and charged, a shared subaccount, a lot that expires before the batch, and the stop-when-depleted policy."""
    machine = Differential()
    machine.create_orgs("Asia/Kolkata")
    machine.grant(Decimal("10"), "1M", 45)  # due when the batches run
    machine.grant(Decimal("7"), "never", 0)
    machine.grant(Decimal("5"), "2M", 1)
    machine.hold(Decimal("4"), 3600, False)
    machine.hold(Decimal("2.5"), 3600, True)
    promotional, transactional = "promotional", "transactional"
    batches = [
        ([(2, "1", promotional, None), (1, "12.5", promotional, None), (3, "0.25", promotional, 0),
          (1, "3.333333", transactional, 1), (1, "1", "unknown", None), (4, "1", promotional, -1),
          (1, "1", promotional, 0), (2, "0", promotional, None)], False, False),
        ([(1, "1", promotional, None), (5, "1", promotional, None)], True, False),
        ([(1, "1", promotional, None), (1, "1", transactional, 1)], True, True),
        ([(12, "3.333333", transactional, None), (1, "0.25", promotional, None), (1, "1", transactional, 0)],
         False, True),
    ]
    for specs, atomic, on_shared in batches:
        machine.run_batch(specs, atomic, on_shared)
        machine.same_rows()
    machine.set_policy(SpendingPolicy.STOP_WHEN_DEPLETED, "0")
    machine.run_batch([(1, "1", transactional, None), (1, "0", promotional, None)], False, False)
    machine.same_rows()
    machine.teardown()
    assert check_invariants() == []


def _org_with_lots(name: str, at: datetime) -> list[Account]:
    """An org whose three accounts hold due, partly drawn, not yet due and never-expiring lots."""
    org = make_org(name=name, currency="USD", timezone_name="Asia/Kolkata")
    accounts = [org.master_account, make_subaccount(org, "Own A"), make_subaccount(org, "Own B")]
    for index, account in enumerate(accounts):
        for amount, expires_in in (("10", "1M"), ("4.5", "1M"), ("7", "3M"), ("3", "never"), ("2", "1M")):
            services.credits_grant(actor=SYSTEM, account=account, amount=amount, expires_in=expires_in,
                                   at=at - timedelta(days=40 + index))
        services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=6 + index, unit_price="1",
                               at=at - timedelta(days=20))
    return accounts


@pytest.mark.django_db
def test_the_set_based_expiry_and_the_per_account_expiry_write_the_same_rows(settings, postgres_only):
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    orgs = {path: _org_with_lots(f"Expiry {path}", at) for path in PATHS}
    counts = {}
    for path, accounts in orgs.items():
        settings.LEDGER_MONEY_PATH = path
        counts[path] = services.lots_expire(at=at, account_ids=[account.pk for account in accounts])
    assert counts["database"] == counts["python"] == 9
    for database, python in zip(orgs["database"], orgs["python"], strict=True):
        assert account_rows(database, []) == account_rows(python, [])
    assert check_invariants() == []
