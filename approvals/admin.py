"""Admin of approvals: the thresholds per currency (platform staff), the queue of requests and the decision page.

The queue (Approvals > Approval requests, pending first) is scoped like the org pages
(approvals.services.approval_requests_for): a request of an org the user may not open is neither
listed nor openable (404). A request's page shows what it asks for and, to someone who may decide
it, Approve and Reject (a reason is required to reject); the service refuses the rest (one's own
request, already decided, expired). `request_if_needed` is how the org page's money forms send an
action above the threshold for approval instead of making it.
"""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from ledger.admin.base import is_uuid
from ledger.admin.scoping import ScopedChoicesAdmin
from ledger.errors import LedgerError
from ledger.money import money
from ledger.times import local_time, zone_of

from . import services
from .models import REQUEST_LIFETIME, ApprovalAction, ApprovalRequest, ApprovalStatus, ApprovalThreshold

# The org page's money forms (ledger.admin.organization ACTIONS slugs) that may need approval.
CONSOLE_ACTIONS = {"add-credits": ApprovalAction.GRANT, "remove-credits": ApprovalAction.REMOVE,
                   "credit-limit": ApprovalAction.CREDIT_LIMIT}


def request_if_needed(request, org, slug: str, data: dict, key: str):
    """(request, message) when this console action is above its currency's threshold (it is then only requested), else None."""
    action = CONSOLE_ACTIONS.get(slug)
    if action is None or not services.approval_needed(organization=org, action=action, amount=data["amount"]):
        return None
    params = {}
    if action == ApprovalAction.GRANT:
        params = {"expires_in": data["expires_in"], "purchase_order": data.get("purchase_order", "")}
    elif action == ApprovalAction.CREDIT_LIMIT:
        params = {"temporary_days": data.get("temporary_days")}
    req = services.approval_request_create(user=request.user, account=data["account"], action=action,
                                           amount=data["amount"], reason=data.get("comment", ""), params=params,
                                           form_key=key)
    threshold = money(services.approval_threshold(org.currency), org.currency)
    days = REQUEST_LIFETIME.days
    return req, (f"Sent for approval: {services.describe(req)}. It is above {threshold}, so another person with "
                 f"the same permission must approve it within {days} days; nothing has changed yet.")


def threshold_note(org, slug: str) -> str:
    """What an action form says about approvals in the org's currency ("" when approvals are off or do not apply)."""
    if slug not in CONSOLE_ACTIONS:
        return ""
    threshold = services.approval_threshold(org.currency)
    if threshold is None:
        return ""
    return f"Above {money(threshold, org.currency)} this action is sent for approval by a second person."


def pending_for_organization(user, org) -> list[ApprovalRequest]:
    """The org's pending requests the user may see, oldest first (for the org page)."""
    return list(services.approval_requests_for(user)
                .filter(organization=org, status=ApprovalStatus.PENDING, expires_at__gt=timezone.now())
                .select_related("account", "organization", "requested_by").order_by("requested_at")[:50])


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "amount_col", "updated_at"]

    @admin.display(description="Approval above", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.currency) if obj.amount is not None else "off"


class StatusFilter(admin.SimpleListFilter):
    """Pending first: the queue opens on what waits for a decision."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*ApprovalStatus.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or ApprovalStatus.PENDING
        for lookup, title in self.lookup_choices:
            yield {"selected": value == lookup, "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request, queryset):
        value = self.value() or ApprovalStatus.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


class DecisionForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required to reject; recorded with the decision in the org's activity timeline.")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ScopedChoicesAdmin):
    list_display = ["requested_col", "org_col", "action", "amount_col", "account", "requested_by", "status",
                    "expires_col", "decided_by"]
    list_filter = [StatusFilter, "action", "organization__currency"]
    search_fields = ["organization__name", "=organization__wallet_id", "requested_by__username", "reason"]
    list_select_related = ["organization", "account", "requested_by", "decided_by"]
    list_per_page = 50

    def get_queryset(self, request):
        return services.approval_requests_for(request.user).select_related(
            "organization", "account", "requested_by", "decided_by", "transaction")

    def lookup_allowed(self, lookup, value, request=None):
        if lookup == "organization__id__exact":  # the org page's link to its part of the queue
            return True
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Requested", ordering="requested_at")
    def requested_col(self, obj):
        return local_time(obj.requested_at, obj.organization)

    @admin.display(description="Expires", ordering="expires_at")
    def expires_col(self, obj):
        return local_time(obj.expires_at, obj.organization) if obj.status == ApprovalStatus.PENDING else "—"

    @admin.display(description="Organization", ordering="organization__name")
    def org_col(self, obj):
        return format_html('<a href="{}">{}</a> <span class="quiet">{}</span>',
                           reverse("admin:ledger_organization_change", args=[obj.organization_id]),
                           obj.organization.name, obj.organization.wallet_id)

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.organization.currency)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The request's page: what it asks, who asked and why, where it stands, and the decision form."""
        req = self.get_queryset(request).filter(pk=object_id).first() if is_uuid(object_id) else None
        if req is None or not self.has_view_permission(request, req):
            raise Http404("No such approval request.")
        form = DecisionForm(request.POST or None)
        if request.method == "POST":
            if not request.user.has_perm(req.permission):
                raise PermissionDenied
            decision = request.POST.get("decision")
            if form.is_valid() and decision in ("approve", "reject"):
                try:
                    if decision == "approve":
                        services.approval_approve(approval_id=req.pk, user=request.user,
                                                  reason=form.cleaned_data["reason"])
                        self.log_change(request, req, "Approved")
                        self.message_user(request, f"Approved: {services.describe(req)}.", messages.SUCCESS)
                    else:
                        services.approval_reject(approval_id=req.pk, user=request.user,
                                                 reason=form.cleaned_data["reason"])
                        self.log_change(request, req, f"Rejected: {form.cleaned_data['reason']}")
                        self.message_user(request, f"Rejected: {services.describe(req)}.", messages.SUCCESS)
                    return redirect(reverse("admin:approvals_approvalrequest_change", args=[req.pk]))
                except LedgerError as exc:
                    for field, errors in (exc.errors or {}).items():
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                    if not exc.errors or not form.errors:
                        form.add_error(None, exc.detail)
                req.refresh_from_db()
        may_decide = (req.status == ApprovalStatus.PENDING and req.requested_by_id != request.user.pk
                      and request.user.has_perm(req.permission))
        with timezone.override(zone_of(req.organization)):
            context = {
                **self.admin_site.each_context(request), "opts": self.opts, "original": req, "req": req,
                "title": f"Approval request: {req.organization.name}", "summary": services.describe(req),
                "amount": money(req.amount, req.organization.currency),
                "requested_at": local_time(req.requested_at, req.organization),
                "expires_at": local_time(req.expires_at, req.organization),
                "decided_at": local_time(req.decided_at, req.organization) if req.decided_at else "",
                "own": req.requested_by_id == request.user.pk, "may_decide": may_decide, "form": form,
                "org_url": reverse("admin:ledger_organization_change", args=[req.organization_id]),
                "transaction_url": reverse("admin:ledger_transaction_change", args=[req.transaction_id])
                if req.transaction_id else "",
                "has_view_permission": True,
            }
            request.current_app = self.admin_site.name
            status = 400 if form.errors else 200
            return TemplateResponse(request, "admin/approvals/approvalrequest/decide.html", context,
                                    status=status).render()
