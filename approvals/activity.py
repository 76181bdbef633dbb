"""Approval requests on the org activity timeline (ledger.activity): who asked and why, who decided, when and why."""

from django.urls import reverse

from ledger.activity import ActivityEvent, ActivitySource, actor_of

from .models import ApprovalRequest, ApprovalStatus
from .services import describe


def _url(req: ApprovalRequest) -> str:
    return reverse("admin:approvals_approvalrequest_change", args=[req.pk])


class ApprovalRequestSource(ActivitySource):
    """Each request at the time it was asked for, with where it stands now."""

    name = "approval_requests"
    label = "Approval requests"
    time_field = "requested_at"
    actor_fields = ("requested_by__username",)

    def queryset(self, organization):
        return (ApprovalRequest.objects.filter(organization=organization)
                .select_related("account", "organization", "requested_by"))

    def event(self, req: ApprovalRequest, organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(req.requested_by, "")
        return ActivityEvent(
            at=req.requested_at, source=self.name, pk=req.pk, kind="Approval requested",
            summary=f"{describe(req)}; now {req.get_status_display().lower()}", actor=actor, actor_type=actor_type,
            reason=req.reason, amount=req.amount, currency=organization.currency, account=req.account.name,
            url=_url(req))


class ApprovalDecisionSource(ActivitySource):
    """Each decision: approved (the money moved), rejected (with why) or expired (nobody decided in time)."""

    name = "approval_decisions"
    label = "Approval decisions"
    time_field = "decided_at"
    actor_fields = ("decided_by__username",)

    def queryset(self, organization):
        return (ApprovalRequest.objects.filter(organization=organization, decided_at__isnull=False)
                .select_related("account", "organization", "requested_by", "decided_by"))

    def event(self, req: ApprovalRequest, organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(req.decided_by, "")
        kind = {ApprovalStatus.APPROVED: "Approved", ApprovalStatus.REJECTED: "Rejected",
                ApprovalStatus.EXPIRED: "Approval expired"}.get(req.status, req.status)
        return ActivityEvent(
            at=req.decided_at, source=self.name, pk=req.pk, kind=kind,
            summary=f"{describe(req)}, requested by {req.requested_by}", actor=actor, actor_type=actor_type,
            reason=req.decision_reason, amount=req.amount, currency=organization.currency,
            account=req.account.name, url=_url(req))
