"""The approval flow through the services: request, approve once, a second approve refused, reject, expire,
self-approval refused; the threshold rule per currency; the database refuses inconsistent states."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.tasks import expire_approval_requests
from ledger.errors import InsufficientCredits
from ledger.models import CreditLimitChange, IdempotencyRecord, Transaction

from .conftest import staff, threshold

pytestmark = pytest.mark.django_db


def master(org):
    return org.accounts.get(is_master=True)


def ask(org, user, action="grant", amount="5000", **kwargs):
    params = {"expires_in": "6M", "purchase_order": "PO-7"} if action == "grant" else {}
    return services.approval_request_create(user=user, account=master(org), action=action, amount=amount,
                                            reason=kwargs.pop("reason", "Festival top-up"), params=params, **kwargs)


# --- the rule --------------------------------------------------------------------------------------


def test_no_threshold_means_no_approval_and_a_threshold_applies_above_it_in_its_currency_only(org, other_org):
    assert not services.approval_needed(organization=org, action="grant", amount=Decimal("1000000"))
    threshold("INR", "10000")
    threshold("USD", None)  # a row without an amount: off
    for action in ("grant", "remove", "credit_limit"):
        assert not services.approval_needed(organization=org, action=action, amount=Decimal("10000"))
        assert services.approval_needed(organization=org, action=action, amount=Decimal("10000.000001"))
        assert not services.approval_needed(organization=other_org, action=action, amount=Decimal("1000000"))
    assert not services.approval_needed(organization=org, action="transfer", amount=Decimal("1000000"))
    threshold("USD", "100")
    assert services.approval_needed(organization=other_org, action="grant", amount=Decimal("100.01"))
    assert not services.approval_needed(organization=org, action="grant", amount=Decimal("100.01"))


# --- the flow --------------------------------------------------------------------------------------


def test_a_request_moves_nothing_and_its_approval_moves_the_money_once(org, maker, checker):
    req = ask(org, maker)
    assert req.status == ApprovalStatus.PENDING and req.expires_at == req.requested_at + timedelta(days=7)
    assert master(org).balance == Decimal("1000")
    assert not Transaction.objects.filter(kind="grant", actor_user=maker).exists()

    approved = services.approval_approve(approval_id=req.pk, user=checker, reason="Checked the invoice")
    assert approved.status == ApprovalStatus.APPROVED and approved.decided_by == checker
    assert master(org).balance == Decimal("6000")
    txn = Transaction.objects.get(kind="grant", actor_user=maker)
    assert txn.amount == Decimal("5000") and txn.lot.purchase_order == "PO-7"
    assert "Festival top-up" in txn.memo and "approved by checker" in txn.memo
    req.refresh_from_db()
    assert req.transaction == txn and req.decided_at is not None and req.decision_reason == "Checked the invoice"
    assert IdempotencyRecord.objects.filter(key=f"approval:{req.pk}", caller=f"user:{maker.pk}").count() == 1

    with pytest.raises(services.ApprovalRefused, match="already approved by checker"):
        services.approval_approve(approval_id=req.pk, user=staff("third"))
    with pytest.raises(services.ApprovalRefused, match="already approved"):
        services.approval_reject(approval_id=req.pk, user=checker, reason="changed my mind")
    assert master(org).balance == Decimal("6000")
    assert Transaction.objects.filter(kind="grant", actor_user=maker).count() == 1


def test_the_requester_cannot_approve_or_reject_their_own_request(org, maker):
    req = ask(org, maker)
    with pytest.raises(services.ApprovalRefused, match="another person must approve"):
        services.approval_approve(approval_id=req.pk, user=maker)
    with pytest.raises(services.ApprovalRefused, match="another person must approve"):
        services.approval_reject(approval_id=req.pk, user=maker, reason="oops")
    req.refresh_from_db()
    assert req.status == ApprovalStatus.PENDING and master(org).balance == Decimal("1000")


def test_the_database_refuses_a_self_decided_or_inconsistent_request(org, maker, checker):
    req = ask(org, maker)
    bad_updates = [
        {"status": ApprovalStatus.APPROVED, "decided_by": maker, "decided_at": timezone.now()},  # own
        {"status": ApprovalStatus.APPROVED},  # nobody, no time
        {"status": "done", "decided_by": checker, "decided_at": timezone.now()},  # not a state
        {"status": ApprovalStatus.REJECTED, "decided_by": checker, "decided_at": timezone.now()},  # no reason
        {"status": ApprovalStatus.EXPIRED, "decided_by": checker, "decided_at": timezone.now()},  # expiry by a person
        {"decided_at": timezone.now()},  # pending with a decision time
    ]
    for values in bad_updates:
        with pytest.raises(IntegrityError), transaction.atomic():
            ApprovalRequest.objects.filter(pk=req.pk).update(**values)


def test_someone_without_the_permission_or_outside_the_org_cannot_decide(org, other_org, maker):
    from tests.admin.conftest import user_with_role

    req = ask(org, maker)
    finance = user_with_role("Finance", "fin")
    outsider = user_with_role("Org admin", "globex-admin")
    other_org.admins.add(outsider)
    for user in (finance, outsider):
        with pytest.raises(services.ApprovalRefused, match="may not decide"):
            services.approval_approve(approval_id=req.pk, user=user)
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING


def test_a_rejection_needs_a_reason_and_moves_nothing(org, maker, checker):
    req = ask(org, maker, action="remove", amount="600")
    with pytest.raises(services.ApprovalRefused, match="Say why"):
        services.approval_reject(approval_id=req.pk, user=checker, reason="   ")
    rejected = services.approval_reject(approval_id=req.pk, user=checker, reason="No ticket for this")
    assert rejected.status == ApprovalStatus.REJECTED and rejected.decision_reason == "No ticket for this"
    assert master(org).balance == Decimal("1000")
    with pytest.raises(services.ApprovalRefused, match="already rejected by checker"):
        services.approval_approve(approval_id=req.pk, user=staff("third"))
    assert master(org).balance == Decimal("1000") and not Transaction.objects.filter(kind="removal").exists()


def test_an_approved_removal_and_credit_limit_go_through_their_services(org, maker, checker):
    removal = ask(org, maker, action="remove", amount="600", reason="Duplicate grant")
    services.approval_approve(approval_id=removal.pk, user=checker)
    assert master(org).balance == Decimal("400")
    assert Transaction.objects.get(kind="removal").memo == "Duplicate grant (approved by checker)"
    limit = services.approval_request_create(user=maker, account=master(org), action="credit_limit", amount="20000",
                                             reason="Diwali volume", params={"temporary_days": 14})
    services.approval_approve(approval_id=limit.pk, user=checker)
    account = master(org)
    assert account.effective_credit_limit() == Decimal("20000") and account.credit_limit == 0
    change = CreditLimitChange.objects.get(account=account)
    assert change.temporary_days == 14 and change.actor_user == maker and "Diwali volume" in change.comment


def test_an_approval_the_ledger_refuses_leaves_the_request_pending(org, maker, checker):
    req = ask(org, maker, action="remove", amount="1500")
    with pytest.raises(InsufficientCredits):
        services.approval_approve(approval_id=req.pk, user=checker)
    req.refresh_from_db()
    assert req.status == ApprovalStatus.PENDING and req.decided_by is None
    assert master(org).balance == Decimal("1000")


def test_requests_expire_after_seven_days_by_the_beat_job_and_cannot_be_approved_then(org, maker, checker):
    old = ask(org, maker, at=timezone.now() - timedelta(days=7, minutes=1))
    fresh = ask(org, maker, at=timezone.now() - timedelta(days=6))
    assert expire_approval_requests.delay().get() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == ApprovalStatus.EXPIRED and old.decided_at is not None and old.decided_by is None
    assert fresh.status == ApprovalStatus.PENDING
    with pytest.raises(services.ApprovalRefused, match="already expired"):
        services.approval_approve(approval_id=old.pk, user=checker)
    assert master(org).balance == Decimal("1000")
    assert expire_approval_requests.delay().get() == 0  # run again: nothing more


def test_a_request_past_its_time_that_the_job_has_not_seen_yet_is_refused_and_expired(org, maker, checker):
    req = ask(org, maker, at=timezone.now() - timedelta(days=8))
    with pytest.raises(services.ApprovalRefused, match="has expired"):
        services.approval_approve(approval_id=req.pk, user=checker)
    req.refresh_from_db()
    assert req.status == ApprovalStatus.EXPIRED and master(org).balance == Decimal("1000")


def test_one_form_makes_one_request(org, maker):
    first = ask(org, maker, form_key="token-1")
    assert ask(org, maker, form_key="token-1") == first
    assert ApprovalRequest.objects.count() == 1


def test_the_beat_schedule_runs_the_expiry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["expire-approval-requests"]
    assert entry["task"] == expire_approval_requests.name
