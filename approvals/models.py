"""Approval thresholds (one row per currency, set by platform staff) and approval requests.

A request is a grant, removal or credit limit that was above its currency's threshold when someone
asked for it: it moves nothing until a second person approves it (approvals.services). Its status
follows pending -> approved | rejected | expired, and the database refuses any other shape: who
decided and when are set exactly when a person decided (an expiry has a time and nobody), a
rejection has a reason, and nobody decides their own request.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from ledger.currencies import CURRENCIES
from ledger.history import ActorHistory, history_user
from ledger.models import Account, MoneyField, Organization, Transaction

REQUEST_LIFETIME = timedelta(days=7)


class ApprovalAction(models.TextChoices):
    GRANT = "grant", "Add credits"
    REMOVE = "remove", "Remove credits"
    CREDIT_LIMIT = "credit_limit", "Set credit limit"


# The permission an approver needs: the same one the requester needed to ask for the action.
ACTION_PERMISSIONS = {
    ApprovalAction.GRANT: "ledger.add_credits",
    ApprovalAction.REMOVE: "ledger.remove_credits",
    ApprovalAction.CREDIT_LIMIT: "ledger.set_credit_limit",
}


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class ApprovalThreshold(models.Model):
    """Above this amount a grant, removal or credit limit in this currency needs a second person's approval.

    No row for a currency, or a row without an amount, means no approvals in that currency (the default).
    """

    currency = models.CharField(max_length=3, unique=True, choices=sorted((code, code) for code in CURRENCIES))
    amount = MoneyField(null=True, blank=True,
                        help_text="Grants, removals and credit limits above this amount wait for approval. "
                                  "Empty: approvals are off for this currency.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[ActorHistory], get_user=history_user)

    class Meta:
        ordering = ["currency"]
        constraints = [models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                              name="approval_threshold_not_negative")]

    def __str__(self) -> str:
        return f"{self.currency}: {self.amount if self.amount is not None else 'off'}"


class ApprovalRequest(models.Model):
    """A money action waiting for (or decided by) a second person; it moves money only when approved."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="approval_requests")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="approval_requests")
    action = models.CharField(max_length=16, choices=ApprovalAction.choices)
    amount = MoneyField()
    params = models.JSONField(default=dict, blank=True,
                              help_text="The action's other values: expiry and PO of a grant, days of a temporary limit.")
    reason = models.TextField(blank=True, help_text="Why the requester asks for it.")
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    help_text="The grant or removal the approval made.")
    form_key = models.CharField(max_length=64, null=True, blank=True, unique=True,
                                help_text="The console form that asked for it (one form, one request).")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="approval_pending_expiry"),
                   models.Index(fields=["organization", "-requested_at"], name="approval_org_requested"),
                   models.Index(fields=["organization", "-decided_at"], name="approval_org_decided")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ApprovalStatus.values), name="approval_status_valid"),
            models.CheckConstraint(condition=Q(action__in=ApprovalAction.values), name="approval_action_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="approval_amount_not_negative"),
            models.CheckConstraint(
                condition=(Q(status=ApprovalStatus.PENDING, decided_at__isnull=True, decided_by__isnull=True)
                           | Q(status__in=[ApprovalStatus.APPROVED, ApprovalStatus.REJECTED],
                               decided_at__isnull=False, decided_by__isnull=False)
                           | Q(status=ApprovalStatus.EXPIRED, decided_at__isnull=False, decided_by__isnull=True)),
                name="approval_decision_consistent"),
            models.CheckConstraint(condition=~Q(decided_by=models.F("requested_by")) | Q(decided_by__isnull=True),
                                   name="approval_not_self_decided"),
            models.CheckConstraint(condition=~Q(status=ApprovalStatus.REJECTED) | ~Q(decision_reason=""),
                                   name="approval_rejection_has_reason"),
            models.CheckConstraint(condition=Q(transaction__isnull=True) | Q(status=ApprovalStatus.APPROVED),
                                   name="approval_transaction_only_when_approved"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} request {str(self.pk)[:8]}"

    @property
    def permission(self) -> str:
        """The permission needed to approve or reject it (the one needed to make the action)."""
        return ACTION_PERMISSIONS[self.action]
