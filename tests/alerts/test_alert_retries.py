"""Alert checks survive a database blip: retried with backoff, pending mark kept until success, stale ones caught up."""

from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from alerts import jobs, services
from alerts.alert_checks import check_account_alerts, pending_key
from alerts.models import AccountAlertState, AlertSettings, Notification
from alerts.selectors import alert_check_due, stale_alert_accounts
from ledger import services as ledger
from ledger.services import SYSTEM
from tests.factories import funded_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def retries_run_eagerly():
    """Eager tasks retry in place only when their errors are not propagated at once (as a worker runs them)."""
    conf = check_account_alerts.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    yield
    conf.task_eager_propagates = propagates


def _low(account):
    """Charge the account below its org's USD 5 threshold without any check running (as if none was queued)."""
    with mock.patch("alerts.hooks.alert_checks_queue"):
        ledger.credits_remove(actor=SYSTEM, account=account, amount="97")
    account.refresh_from_db()
    return account


def test_a_check_that_hits_a_database_error_is_retried_and_fires_once(retries_run_eagerly):
    account = _low(funded_account("100", currency="USD", timezone_name="UTC"))
    cache.add(pending_key(account.pk), 1, timeout=300)
    real = services.account_alerts_check
    failures = iter([OperationalError("server closed the connection unexpectedly"),
                     InterfaceError("connection already closed")])
    seen_pending = []

    def flaky(**kwargs):
        seen_pending.append(cache.get(pending_key(account.pk)))
        error = next(failures, None)
        if error is not None:
            raise error
        return real(**kwargs)

    with mock.patch("alerts.services.account_alerts_check", side_effect=flaky):
        result = check_account_alerts.apply(args=(str(account.pk),))
    assert result.successful(), result.traceback
    assert len(seen_pending) == 3
    assert seen_pending == [1, 1, 1]  # the mark stays while the check has not succeeded
    assert cache.get(pending_key(account.pk)) is None
    assert Notification.objects.filter(account=account, kind="low_balance").count() == 1


def test_a_check_that_keeps_failing_keeps_its_pending_mark(retries_run_eagerly):
    account = _low(funded_account("100", currency="USD", timezone_name="UTC"))
    cache.add(pending_key(account.pk), 1, timeout=300)
    with mock.patch("alerts.services.account_alerts_check", side_effect=OperationalError("down")) as check:
        result = check_account_alerts.apply(args=(str(account.pk),))
    assert result.failed() and isinstance(result.result, OperationalError)
    assert check.call_count == check_account_alerts.max_retries + 1
    assert cache.get(pending_key(account.pk)) == 1
    assert not Notification.objects.filter(account=account).exists()


def test_a_change_during_the_check_queues_the_next_one():
    account = funded_account("100", currency="USD", timezone_name="UTC")
    real = services.account_alerts_check

    def check_then_spend(**kwargs):
        fired = real(**kwargs)
        _low(account)  # committed while the check ran: its hook saw the pending mark and queued nothing
        return fired

    cache.add(pending_key(account.pk), 1, timeout=300)
    with mock.patch("alerts.services.account_alerts_check", side_effect=check_then_spend), \
            mock.patch("alerts.alert_checks.alert_checks_queue") as queue_next:
        check_account_alerts.apply(args=(str(account.pk),))
    queue_next.assert_called_once_with([str(account.pk)])


def test_stale_accounts_are_those_whose_balance_or_held_moved_since_their_check():
    checked = funded_account("100", currency="USD", timezone_name="UTC", name="Checked")
    services.account_alerts_check(account_id=checked.pk)
    never = funded_account("100", currency="USD", timezone_name="UTC", name="Never checked")
    empty = funded_account("0", currency="USD", timezone_name="UTC", name="Empty")
    assert set(stale_alert_accounts()) == {never}
    assert not alert_check_due(checked.pk) and not alert_check_due(empty.pk)
    with mock.patch("alerts.hooks.alert_checks_queue"):
        ledger.hold_create(actor=SYSTEM, account=checked, amount="10")
    assert alert_check_due(checked.pk)
    AccountAlertState.objects.filter(account=checked).update(checked_balance=None)  # rows from before the snapshot
    assert alert_check_due(checked.pk)


def test_the_catch_up_job_checks_stale_accounts_once_and_leaves_queued_ones():
    lost = _low(funded_account("100", currency="USD", timezone_name="UTC", name="Lost check"))
    queued = _low(funded_account("100", currency="USD", timezone_name="UTC", name="Queued check"))
    cache.add(pending_key(queued.pk), 1, timeout=300)
    assert jobs.run_job("alert_checks_catch_up").count == 1
    assert Notification.objects.filter(account=lost, kind="low_balance").count() == 1
    assert not Notification.objects.filter(account=queued).exists()
    assert jobs.run_job("alert_checks_catch_up").count == 0  # nothing moved since
    cache.delete(pending_key(queued.pk))  # its check was lost after all (the mark expired)
    assert jobs.run_job("alert_checks_catch_up").count == 1
    assert Notification.objects.filter(account=queued, kind="low_balance").count() == 1


def test_the_catch_up_job_runs_with_the_scheduled_ones():
    assert "alert_checks_catch_up" in jobs.DUE_JOBS
    lost = _low(funded_account("100", currency="USD", timezone_name="UTC"))
    AlertSettings.objects.create(organization=lost.organization, low_credit_threshold=Decimal("5"))
    results = jobs.run_due_jobs()
    assert results["alert_checks_catch_up"].count == 1
    assert Notification.objects.filter(account=lost, kind="low_balance").count() == 1


def test_the_catch_up_job_queues_again_emails_and_webhooks_never_sent():
    from datetime import timedelta

    from django.utils import timezone

    from alerts.models import WebhookDelivery, WebhookEndpoint

    account = funded_account("100", currency="USD", timezone_name="UTC")
    org = account.organization
    AlertSettings.objects.create(organization=org, low_credit_threshold=Decimal("5"), recipients=["ops@example.com"])
    WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/hook", events=["balance.low"])
    _low(account)
    with mock.patch("alerts.services.enqueue"), mock.patch("alerts.webhooks.enqueue"):  # the broker was down
        services.account_alerts_check(account_id=account.pk)
    notification = Notification.objects.get(account=account, kind="low_balance")
    assert notification.email_pending and notification.emailed_to == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 0

    assert jobs.run_job("alert_checks_catch_up").count == 0  # too recent: a queued send may still run
    later = timezone.now() + jobs.LOST_SEND_GRACE + timedelta(seconds=1)
    with mock.patch("alerts.tasks.deliver_webhook.apply_async") as deliver:
        assert jobs.run_job("alert_checks_catch_up", later).count == 2
    notification.refresh_from_db()
    assert notification.emailed_to == ["ops@example.com"] and not notification.email_pending
    deliver.assert_called_once_with((str(delivery.pk),))
    with mock.patch("alerts.tasks.deliver_webhook.apply_async"):
        assert jobs.run_job("alert_checks_catch_up", later).count == 1  # the delivery is still pending (mocked)
