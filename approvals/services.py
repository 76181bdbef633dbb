"""Approvals (maker-checker): the one rule of what needs approval, and the request's state machine.

`approval_needed` is the rule: a grant, removal or credit limit in a currency whose threshold is set
needs approval when its amount is above the threshold. The staff console asks it before it moves
money; the API does not (service tokens are trusted machines, docs/policies.md).

`approval_request_create` records the request and moves nothing. `approval_approve` locks the
request row, checks it is still pending, not expired and not the approver's own, and in the same
transaction calls the ledger service that makes the action (credits_grant, credits_remove,
credit_limit_set) under the requester's name with the idempotency key `approval:<id>`: two
approvers racing wait on the row lock, the first moves the money and the second is refused, and
even a replay of the key could not move it twice. `approval_reject` needs a reason;
`approval_requests_expire` (the beat job) expires what nobody decided within seven days.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledger import services as ledger_services
from ledger.errors import LedgerError
from ledger.models import Account, ExpiresIn, Organization
from ledger.money import money, to_amount
from ledger.selectors import organizations_openable_by

from .models import (
    ACTION_PERMISSIONS,
    REQUEST_LIFETIME,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalThreshold,
)


class ApprovalRefused(LedgerError):
    """An approval or rejection that may not happen: not pending any more, expired, one's own, not permitted."""

    code = "approval_refused"
    status = 409
    default_detail = "This request cannot be decided."


def approval_threshold(currency: str) -> Decimal | None:
    """The approval threshold of a currency, or None when approvals are off for it (the default)."""
    return ApprovalThreshold.objects.filter(currency=currency).values_list("amount", flat=True).first()


def approval_needed(*, organization: Organization, action: str, amount: Decimal) -> bool:
    """Whether this action needs a second person's approval: the one rule (above the currency's threshold)."""
    if action not in ApprovalAction.values:
        return False
    threshold = approval_threshold(organization.currency)
    return threshold is not None and to_amount(amount, allow_zero=True) > threshold


def approval_requests_for(user) -> QuerySet[ApprovalRequest]:
    """Requests a user may see: those of the orgs whose pages they may open (ledger.selectors)."""
    return ApprovalRequest.objects.filter(organization__in=organizations_openable_by(user))


def describe(req: ApprovalRequest) -> str:
    """What a request asks for, in one line: "Add ₹50,000.00 to Acme master (expires: 6 months)"."""
    amount = money(req.amount, req.organization.currency)
    account = req.account.name
    if req.action == ApprovalAction.GRANT:
        expires_in = req.params.get("expires_in", "")
        text = f"Add {amount} to {account} (expires: {dict(ExpiresIn.choices).get(expires_in, expires_in).lower()}"
        if req.params.get("purchase_order"):
            text += f", PO {req.params['purchase_order']}"
        return text + ")"
    if req.action == ApprovalAction.REMOVE:
        return f"Remove {amount} from {account}"
    days = req.params.get("temporary_days")
    return f"Set the credit limit of {account} to {amount} ({f'temporary for {days} days' if days else 'permanent'})"


def approval_request_create(*, user, account: Account, action: str, amount: Decimal | str, reason: str = "",
                            params: dict | None = None, form_key: str | None = None,
                            at: datetime | None = None) -> ApprovalRequest:
    """Record a pending request for an action (nothing moves); one per console form (`form_key`)."""
    if action not in ApprovalAction.values:
        raise ApprovalRefused(errors={"action": ["Only grants, removals and credit limits wait for approval."]})
    if not user.has_perm(ACTION_PERMISSIONS[action]):
        raise ApprovalRefused("You may not ask for this action.")
    amount = to_amount(amount, allow_zero=action == ApprovalAction.CREDIT_LIMIT)
    at = at or timezone.now()
    if form_key:
        existing = ApprovalRequest.objects.filter(form_key=form_key).first()
        if existing is not None:
            return existing
    return ApprovalRequest.objects.create(
        organization_id=account.organization_id, account=account, action=action, amount=amount,
        params=params or {}, reason=reason, requested_by=user, requested_at=at, expires_at=at + REQUEST_LIFETIME,
        form_key=form_key)


def _refusal(req: ApprovalRequest, user, at: datetime) -> str:
    """Why `user` may not decide `req` now ("" when they may)."""
    if req.status != ApprovalStatus.PENDING:
        who = f" by {req.decided_by}" if req.decided_by_id else ""
        return f"This request was already {req.get_status_display().lower()}{who}: nothing was changed."
    if req.expires_at <= at:
        return "This request has expired: nothing was changed. Ask again if it is still needed."
    if req.requested_by_id == user.pk:
        return "You asked for this action: another person must approve or reject it."
    if not user.has_perm(req.permission) or not organizations_openable_by(user).filter(
            pk=req.organization_id).exists():
        return "You may not decide requests of this kind for this organization."
    return ""


@dataclass
class _Outcome:
    request: ApprovalRequest | None = None
    refusal: str = ""


def _decide(approval_id, user, at: datetime | None, decide) -> ApprovalRequest:
    """Lock the request, refuse what may not be decided (expiring it when its time is up), else `decide(req)`."""
    at = at or timezone.now()
    with transaction.atomic(durable=True):
        req = (ApprovalRequest.objects.select_for_update(of=("self",))
               .select_related("account__organization", "organization", "requested_by", "decided_by")
               .get(pk=approval_id))
        refusal = _refusal(req, user, at)
        if refusal and req.status == ApprovalStatus.PENDING and req.expires_at <= at:
            req.status, req.decided_at = ApprovalStatus.EXPIRED, req.expires_at
            req.save(update_fields=["status", "decided_at"])
        outcome = _Outcome(refusal=refusal) if refusal else _Outcome(request=decide(req, at))
    if outcome.refusal:
        raise ApprovalRefused(outcome.refusal)
    return outcome.request


def _execute(req: ApprovalRequest, approver):
    """Make the approved action through its ledger service, in the caller's transaction, once per request."""
    actor = ledger_services.Actor(user=req.requested_by)
    comment = f"{req.reason} (approved by {approver})" if req.reason else f"Approved by {approver}"
    key = f"approval:{req.pk}"
    if req.action == ApprovalAction.GRANT:
        return ledger_services.credits_grant(
            actor=actor, account=req.account, amount=req.amount, expires_in=req.params.get("expires_in", "6M"),
            purchase_order=req.params.get("purchase_order", ""), comment=comment, idempotency_key=key,
            joins_caller=True)
    if req.action == ApprovalAction.REMOVE:
        return ledger_services.credits_remove(actor=actor, account=req.account, amount=req.amount, comment=comment,
                                              idempotency_key=key, joins_caller=True)
    ledger_services.credit_limit_set(actor=actor, account=req.account, amount=req.amount,
                                     temporary_days=req.params.get("temporary_days"), comment=comment,
                                     joins_caller=True)
    return None


def approval_approve(*, approval_id, user, reason: str = "", at: datetime | None = None) -> ApprovalRequest:
    """Approve a pending request and make its action now, exactly once; ApprovalRefused otherwise.

    A refusal of the ledger service (the balance no longer covers a removal) is raised as it is and
    leaves the request pending.
    """

    def approve(req, moment):
        txn = _execute(req, user)
        req.status, req.decided_by, req.decided_at = ApprovalStatus.APPROVED, user, moment
        req.decision_reason, req.transaction = reason.strip(), txn
        updated = ApprovalRequest.objects.filter(pk=req.pk, status=ApprovalStatus.PENDING).update(
            status=req.status, decided_by=user, decided_at=moment, decision_reason=req.decision_reason,
            transaction=txn)
        if updated != 1:  # cannot happen under the row lock; never let money move without the decision
            raise ApprovalRefused("This request was decided meanwhile: nothing was changed.")
        return req

    return _decide(approval_id, user, at, approve)


def approval_reject(*, approval_id, user, reason: str, at: datetime | None = None) -> ApprovalRequest:
    """Reject a pending request with a reason; nothing moves."""
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalRefused("Say why the request is rejected.", errors={"reason": ["Give a reason."]})

    def reject(req, moment):
        req.status, req.decided_by, req.decided_at, req.decision_reason = (
            ApprovalStatus.REJECTED, user, moment, reason)
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        return req

    return _decide(approval_id, user, at, reject)


def approval_requests_expire(*, at: datetime | None = None) -> int:
    """Expire the pending requests older than their lifetime (seven days); returns how many."""
    at = at or timezone.now()
    return ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=at).update(
        status=ApprovalStatus.EXPIRED, decided_at=at)
