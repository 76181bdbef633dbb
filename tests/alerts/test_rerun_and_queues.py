"""Every job is safe to run again (after a redelivery or a crash midway), and each kind of task has its own queue."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

import ops.tasks  # noqa: F401 - registers the ledger check task with the app
from alerts import jobs
from alerts.models import LotExpiryWarning, Notification
from creditsite.celery import app
from ledger import services
from ledger.models import Account, CreditLot, Hold, Posting, Transaction
from ledger.services import expiry
from tests.api.helpers import with_rate_card
from tests.factories import SYSTEM, funded_account, make_org

pytestmark = pytest.mark.django_db


def ledger_counts() -> tuple:
    return (Transaction.objects.count(), Posting.objects.count(), Notification.objects.count(),
            LotExpiryWarning.objects.count())


def test_every_due_job_run_twice_acts_once():
    """A redelivered run_due_jobs (its worker was killed after it had worked) finds nothing left to do."""
    expiring = funded_account("100", expires_in="1M", currency="USD", timezone_name="UTC", name="Expiring")
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        warned = funded_account("100", expires_in="1M", currency="USD", timezone_name="UTC", name="Warned")
    held = funded_account("100", currency="USD", timezone_name="UTC", name="Held")
    services.hold_create(actor=SYSTEM, account=held, amount="40", expires_in_seconds=60)
    services.credit_limit_set(actor=SYSTEM, account=held, amount="50", temporary_days=1)
    postpaid = with_rate_card(make_org(name="Postpaid", currency="USD", timezone_name="UTC",
                                       payment_scheme="postpaid", credit_limit="100"))
    services.charge_create(actor=SYSTEM, account=postpaid.master_account, channel="sms", quantity=10,
                           traffic="transactional")
    at = CreditLot.objects.get(account=expiring).expires_at + timedelta(minutes=1)
    accounts = [expiring, warned, held, postpaid.master_account]

    first = jobs.run_due_jobs(at=at)
    assert all(not result.error for result in first.values()), first
    assert first["lots_expire"].count == 1 and first["holds_expire"].count == 1
    assert first["credit_limits_expire"].count == 1 and first["postpaid_months_close"].count == 1
    assert first["expiry_warnings"].count == 1
    counts = ledger_counts()
    balances = [Account.objects.get(pk=account.pk).balance for account in accounts]

    second = jobs.run_due_jobs(at=at)
    assert {name: result.count for name, result in second.items()} == dict.fromkeys(second, 0)
    assert ledger_counts() == counts
    assert [Account.objects.get(pk=account.pk).balance for account in accounts] == balances
    assert Hold.objects.get(account=held).status == "expired"


def test_lot_expiry_killed_midway_and_run_again_expires_each_lot_once():
    accounts = []
    for index in range(5):
        account = funded_account("10", expires_in="1M", currency="USD", timezone_name="UTC", name=f"Org {index}")
        services.credits_grant(actor=SYSTEM, account=account, amount="5", expires_in="1M")
        accounts.append(account)
    at = CreditLot.objects.order_by("-expires_at").first().expires_at + timedelta(minutes=1)
    real_chunk = expiry._expire_chunk
    calls = []

    def dies_after_the_first_chunk(ids, at, actor):
        calls.append(ids)
        if len(calls) > 1:
            raise SystemExit("worker killed")  # what a SIGKILL leaves: the first chunk committed, the rest not
        return real_chunk(ids, at, actor)

    with mock.patch("ledger.services.expiry._expire_chunk", side_effect=dies_after_the_first_chunk), \
            pytest.raises(SystemExit):
        services.lots_expire(at=at, chunk=2, workers=1)
    done = Transaction.objects.filter(kind="expiry").count()
    assert done == 4  # two accounts of two lots each
    assert jobs.run_job("lots_expire", at).count == 6  # the rerun does the rest, and only the rest
    assert jobs.run_job("lots_expire", at).count == 0
    for lot in CreditLot.objects.all():
        assert Transaction.objects.filter(kind="expiry", lot=lot).count() == 1
        assert lot.remaining == 0
    for account in accounts:
        account.refresh_from_db()
        assert account.balance == Decimal("0")


@pytest.mark.parametrize(("task", "queue"), [
    ("alerts.tasks.run_due_jobs", "jobs"),
    ("alerts.tasks.purge_idempotency_keys", "jobs"),
    ("alerts.tasks.roll_up_month_totals", "jobs"),
    ("ops.tasks.check_ledger", "jobs"),
    ("approvals.tasks.expire_approval_requests", "jobs"),
    ("alerts.tasks.check_account_alerts", "alerts"),
    ("alerts.tasks.send_alert_email", "alerts"),
    ("alerts.tasks.deliver_webhook", "webhooks"),
])
def test_each_kind_of_task_has_its_own_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_every_task_is_routed_and_retries_wait_less_than_the_visibility_timeout():
    from django.conf import settings

    from alerts import webhooks

    app.loader.import_default_modules()  # what a worker does at start: the apps' task modules (autodiscovery)
    ours = {name for name in app.tasks if name.startswith(("alerts.", "ledger.", "payments.", "ops.", "approvals."))}
    assert ours == set(settings.CELERY_TASK_ROUTES)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert webhooks.backoff_seconds(webhooks.MAX_ATTEMPTS) < visibility
    from alerts.tasks import check_account_alerts, deliver_webhook, send_alert_email

    for task in (check_account_alerts, send_alert_email, deliver_webhook):
        assert task.retry_backoff_max < visibility
