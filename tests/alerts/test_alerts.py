"""Alerts with a controlled clock: low balance once per crossing, negative balance, runway, expiring credits,
rate card changes, emails, settings defaults and the debounced hook."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import timezone

from alerts import alert_checks, jobs
from alerts.alert_checks import check_account_alerts, pending_key
from alerts.models import (
    AccountAlertState,
    AlertSettings,
    LotExpiryWarning,
    Notification,
    NotificationKind,
    WebhookDelivery,
    WebhookEndpoint,
    default_threshold,
    validate_recipients,
)
from alerts.selectors import alert_settings_for
from alerts.services import account_alerts_check, alert_settings_get_or_create
from ledger import services
from ledger.models import CreditLot
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount


def _settings(org, **fields):
    settings = alert_settings_get_or_create(organization=org)
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _charge(account, amount, **kwargs):
    kwargs.setdefault("traffic", "transactional")
    return services.charge_create(actor=SYSTEM, account=account, channel="sms", quantity=1, unit_price=amount,
                                  **kwargs)


def _kinds(org):
    return list(Notification.objects.filter(organization=org).order_by("created_at", "id")
                .values_list("kind", flat=True))


def test_threshold_defaults_by_currency(db):
    assert default_threshold("INR") == Decimal("100")
    assert default_threshold("USD") == Decimal("5")
    assert default_threshold("XOF") == Decimal("10")
    org = make_org(currency="INR")
    unsaved = alert_settings_for(org)
    assert unsaved.pk is None and unsaved.low_credit_threshold == Decimal("100")
    assert unsaved.expiry_warning_days == 7
    saved = alert_settings_get_or_create(organization=make_org(name="US", currency="USD", timezone_name="UTC"))
    assert saved.pk is not None and saved.low_credit_threshold == Decimal("5")


def test_recipients_must_be_valid_emails(db):
    validate_recipients(["ops@example.com", "cfo@example.org"])
    with pytest.raises(ValidationError) as excinfo:
        validate_recipients(["ops@example.com", "not-an-email", 42])
    assert excinfo.value.messages == ["'not-an-email' is not a valid email address.",
                                      "42 is not a valid email address."]
    org = make_org()
    settings = AlertSettings(organization=org, low_credit_threshold="100", recipients=["nope"])
    with pytest.raises(ValidationError) as excinfo:
        settings.full_clean()
    assert "recipients" in excinfo.value.message_dict


def test_settings_edits_are_kept_in_history(db):
    org = make_org()
    settings = _settings(org, recipients=["a@example.com"])
    settings.low_credit_threshold = Decimal("250")
    settings.save()
    history = list(settings.history.order_by("history_date").values_list("low_credit_threshold", flat=True))
    assert history == [Decimal("100"), Decimal("100"), Decimal("250")]


def test_low_balance_fires_when_available_reaches_the_threshold_exactly(transactional_db):
    """"When it reaches INR 100": at the threshold is low, a millionth above it is not (issue 16)."""
    account = funded_account("150", currency="INR", timezone_name="Asia/Kolkata")
    org = account.organization
    _settings(org, recipients=["ops@example.com"], runway_alert_days=0)
    _charge(account, "49.999999")  # available 100.000001: above
    assert _kinds(org) == []
    _charge(account, "0.000001")  # available 100: reached
    assert _kinds(org) == ["low_balance"]
    services.credits_grant(actor=SYSTEM, account=account, amount="0.000001")  # 100.000001: recovered
    assert _kinds(org) == ["low_balance", "balance_recovered"]


def test_low_balance_fires_once_per_crossing_and_again_after_recovery(transactional_db):
    """Through the real path: charge commits -> hook -> (eager) check task -> notice + one email."""
    account = funded_account("150", currency="INR", timezone_name="Asia/Kolkata")
    org = account.organization
    _settings(org, recipients=["ops@example.com"], runway_alert_days=0)
    mail.outbox.clear()

    _charge(account, "30")  # available 120: above the threshold of 100
    assert _kinds(org) == []
    _charge(account, "30")  # 90: crosses
    assert _kinds(org) == ["low_balance"]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ops@example.com"]
    assert email.subject == f"[{org.name}] Low credits on Master account"
    assert "₹90.00" in email.body and "₹100.00" in email.body
    html = email.alternatives[0]
    assert html[1] == "text/html" and "Low credits on Master account" in html[0]

    for _ in range(3):  # keeps falling: 60, 30, 0
        _charge(account, "30")
    assert _kinds(org) == ["low_balance"]
    assert len(mail.outbox) == 1
    assert AccountAlertState.objects.get(account=account).low_balance is True

    services.credits_grant(actor=SYSTEM, account=account, amount="200")  # 200: recovered
    assert _kinds(org) == ["low_balance", "balance_recovered"]
    low = Notification.objects.get(organization=org, kind="low_balance")
    assert low.dismissed_at is not None  # the banner goes away on recovery
    assert len(mail.outbox) == 1  # recovery is an in-app notice only

    _charge(account, "150")  # 50: a new fall fires again
    assert _kinds(org) == ["low_balance", "balance_recovered", "low_balance"]
    assert len(mail.outbox) == 2


def test_a_burst_of_charges_queues_one_check(transactional_db):
    account = funded_account("1000", currency="USD", timezone_name="UTC")
    with mock.patch("alerts.tasks.check_account_alerts.apply_async") as apply_async:
        for _ in range(50):
            _charge(account, "1")
    assert apply_async.call_count == 1
    args, kwargs = apply_async.call_args
    assert args == ((str(account.pk),),)
    assert kwargs == {"countdown": alert_checks.DEBOUNCE_SECONDS}


def test_the_check_clears_the_pending_mark_so_later_changes_queue_again(db):
    account = funded_account("10", currency="USD", timezone_name="UTC")
    with mock.patch("alerts.tasks.check_account_alerts.apply_async") as apply_async:
        alert_checks.alert_checks_queue([account.pk, account.pk])
        alert_checks.alert_checks_queue([account.pk])
        assert apply_async.call_count == 1
        check_account_alerts.run(str(account.pk))
        assert cache.get(pending_key(account.pk)) is None
        alert_checks.alert_checks_queue([account.pk])
        assert apply_async.call_count == 2


def test_a_check_queued_elsewhere_is_known_by_its_eta_and_a_started_check_lets_changes_queue_again(db):
    """Another process's queued check (its ETA in the mark) covers changes until its ETA; once it has started
    (the ETA passed and the worker cleared the mark), the next change queues a new check."""
    account = funded_account("10", currency="USD", timezone_name="UTC")
    alert_checks.forget_queued(account.pk)
    eta = int(time.time()) + alert_checks.DEBOUNCE_SECONDS
    cache.set(pending_key(account.pk), eta, timeout=300)  # queued by another web process
    with (mock.patch.object(alert_checks, "_checks_run_at_once", return_value=False),  # a worker, at the ETA
          mock.patch("alerts.tasks.check_account_alerts.apply_async") as apply_async):
        alert_checks.alert_checks_queue([account.pk])
        with mock.patch.object(alert_checks, "_claim_pending") as claim:  # known queued: no round trip to Redis
            alert_checks.alert_checks_queue([account.pk])
        assert claim.call_count == 0
        assert apply_async.call_count == 0
        cache.delete(pending_key(account.pk))  # the worker ran the check at its ETA and cleared the mark
        with mock.patch("alerts.alert_checks.time.time", return_value=eta + 0.5):
            alert_checks.alert_checks_queue([account.pk])
        assert apply_async.call_count == 1
        assert cache.get(pending_key(account.pk)) == int(eta + 0.5) + alert_checks.DEBOUNCE_SECONDS


def test_a_broken_broker_never_breaks_the_charge(transactional_db):
    account = funded_account("100", currency="USD", timezone_name="UTC")
    with mock.patch("alerts.tasks.check_account_alerts.apply_async", side_effect=ConnectionError("redis down")):
        txn = _charge(account, "1")
    assert txn.pk is not None
    account.refresh_from_db()
    assert account.balance == Decimal("99")


def test_negative_balance_alert_and_depleted_webhook(db, django_capture_on_commit_callbacks):
    account = funded_account("10", currency="USD", timezone_name="UTC")
    org = account.organization
    _settings(org, recipients=["ops@example.com"], low_credit_threshold=Decimal("0"), runway_alert_days=0)
    endpoint = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/hook",
                                              events=["balance.depleted"])
    _charge(account, "25")  # transactional: may go below zero
    with mock.patch("alerts.tasks.deliver_webhook.apply_async") as apply_async, \
            django_capture_on_commit_callbacks(execute=True):
        fired = account_alerts_check(account_id=account.pk)
    assert [n.kind for n in fired] == ["low_balance", "negative_balance"]
    negative = fired[1]
    assert negative.level == "danger"
    assert "-$15.00" in negative.message
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event == "balance.depleted"
    assert delivery.payload["data"]["balance"] == "-15.000000"
    apply_async.assert_called_once_with((str(delivery.pk),))
    assert sorted(len(m.to) for m in mail.outbox) == [1, 1]

    assert account_alerts_check(account_id=account.pk) == []  # still negative: nothing new
    services.credits_grant(actor=SYSTEM, account=account, amount="20")
    account_alerts_check(account_id=account.pk)
    state = AccountAlertState.objects.get(account=account)
    assert state.negative_balance is False
    assert Notification.objects.get(kind="negative_balance").dismissed_at is not None


def test_runway_alert_at_the_last_seven_days_burn_rate(db):
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    with time_machine.travel(now - timedelta(days=8), tick=False):
        account = funded_account("1000", expires_in="1Y", currency="USD", timezone_name="UTC")
    org = account.organization
    _settings(org, low_credit_threshold=Decimal("1"), runway_alert_days=5)
    for day in range(7):  # 100 a day for the last 7 days: 700 used, 300 left
        _charge(account, "100", at=now - timedelta(days=day, hours=1))
    # An old charge outside the window does not count.
    assert account_alerts_check(account_id=account.pk, at=now - timedelta(days=5, hours=2)) == []

    fired = account_alerts_check(account_id=account.pk, at=now)
    assert [n.kind for n in fired] == ["runway"]
    assert fired[0].data["runway_days"] == "3.0"
    assert fired[0].data["burn_per_day"] == "100.000000"
    assert "fewer than 5" in fired[0].message
    assert account_alerts_check(account_id=account.pk, at=now + timedelta(minutes=1)) == []

    services.credits_grant(actor=SYSTEM, account=account, amount="1000", at=now + timedelta(minutes=2))
    assert account_alerts_check(account_id=account.pk, at=now + timedelta(minutes=3)) == []
    assert AccountAlertState.objects.get(account=account).runway_low is False  # 13 days left


def test_shared_subaccounts_are_checked_through_the_master(db):
    org = make_org(currency="USD", timezone_name="UTC")
    shared = make_subaccount(org, name="Shared", balance_mode="shared")
    assert account_alerts_check(account_id=shared.pk) == []


def test_expiry_warning_once_per_lot_within_the_window(db, django_capture_on_commit_callbacks):
    account = funded_account("40", expires_in="1M", currency="USD", timezone_name="America/New_York")
    org = account.organization
    _settings(org, recipients=["ops@example.com"], expiry_warning_days=5)
    lot = CreditLot.objects.get(account=account)
    mail.outbox.clear()

    assert jobs.run_job("expiry_warnings", lot.expires_at - timedelta(days=6)).count == 0
    at = lot.expires_at - timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run_job("expiry_warnings", at).count == 1
    notice = Notification.objects.get(organization=org, kind="credits_expiring")
    assert notice.title == "$40.00 of credits expire soon"
    assert notice.data["lots"][0]["id"] == lot.pk
    assert LotExpiryWarning.objects.get(lot=lot).notification == notice
    assert len(mail.outbox) == 1 and "Master account" in mail.outbox[0].body

    assert jobs.run_job("expiry_warnings", at + timedelta(hours=1)).count == 0
    assert Notification.objects.filter(kind="credits_expiring").count() == 1


def test_expiry_warning_disabled_with_a_zero_window(db):
    account = funded_account("40", expires_in="1M", currency="USD", timezone_name="UTC")
    _settings(account.organization, expiry_warning_days=0)
    lot = CreditLot.objects.get(account=account)
    assert jobs.run_job("expiry_warnings", lot.expires_at - timedelta(hours=1)).count == 0


def test_rate_card_change_taking_effect_is_announced_once(db, django_capture_on_commit_callbacks):
    from ratecards.models import RateCardVersion

    org = make_org(currency="INR")
    _settings(org, recipients=["ops@example.com"])
    start = timezone.now() - timedelta(days=30)
    RateCardVersion.objects.create(organization=org, number=1, effective_from=start, status="current")
    effective = timezone.now() + timedelta(days=1)
    version = RateCardVersion.objects.create(organization=org, number=2, effective_from=effective)
    mail.outbox.clear()

    assert jobs.run_job("ratecards_activate", effective - timedelta(minutes=1)).count == 0
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.run_job("ratecards_activate", effective + timedelta(minutes=3))
    assert (result.count, result.error) == (1, "")
    version.refresh_from_db()
    assert version.status == "current"  # ratecards.services.rate_card_versions_activate ran first
    notice = Notification.objects.get(kind=NotificationKind.RATECARD_ACTIVATED)
    assert notice.dedupe_key == f"ratecard:{version.pk}"
    assert notice.title == "Rate card version 2 is in effect"
    assert len(mail.outbox) == 1
    assert jobs.run_job("ratecards_activate", effective + timedelta(minutes=18)).count == 0


def test_org_banners_show_open_notices(db):
    org = make_org()
    Notification.objects.create(organization=org, kind="low_balance", level="warning", title="Low credits",
                                message="Top up <now>")
    Notification.objects.create(organization=org, kind="runway", level="warning", title="Old",
                                message="gone", dismissed_at=timezone.now())
    html = Template('{% include "alerts/_org_banners.html" %}').render(Context({"organization": org}))
    assert "Low credits" in html
    assert "Top up &lt;now&gt;" in html
    assert "Old" not in html
    assert "alert-banner--warning" in html
    empty = Template('{% include "alerts/_org_banners.html" %}').render(Context({"organization": make_org(name="B")}))
    assert "alert-banner" not in empty
