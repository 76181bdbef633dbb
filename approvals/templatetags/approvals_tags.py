"""The org page's pending approval requests (an inclusion tag, so the ledger's template only names it)."""

from django import template
from django.urls import reverse

from ledger.money import money
from ledger.times import local_time

from ..admin import pending_for_organization

register = template.Library()


@register.inclusion_tag("approvals/_org_approvals.html", takes_context=True)
def org_approvals(context, organization) -> dict:
    """The org's requests waiting for a second person, with a link to each and to the queue."""
    user = context["request"].user
    rows = [{"req": req, "amount": money(req.amount, organization.currency),
             "requested_at": local_time(req.requested_at, organization),
             "expires_at": local_time(req.expires_at, organization),
             "url": reverse("admin:approvals_approvalrequest_change", args=[req.pk]),
             "own": req.requested_by_id == user.pk}
            for req in pending_for_organization(user, organization)]
    queue_url = (reverse("admin:approvals_approvalrequest_changelist") + f"?organization__id__exact={organization.pk}"
                 if user.has_perm("approvals.view_approvalrequest") else None)
    return {"approvals": {"rows": rows, "queue_url": queue_url}}
