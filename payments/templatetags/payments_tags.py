"""Template tags of payments: the pending-payment banners on every admin page, the org page's purchases."""

from django import template
from django.urls import reverse

from ledger.models import Account, Organization
from ledger.money import money
from ledger.selectors import sees_all_organizations

from ..models import TopUp, TopUpStatus
from ..selectors import may_buy_in, organizations_to_buy_for, pending_top_ups, top_ups_for

register = template.Library()


def _page_organization(context) -> Organization | None:
    """The org a page is about: its `organization`, or the object it edits (an org or an account)."""
    for name in ("organization", "original"):
        value = context.get(name)
        if isinstance(value, Organization):
            return value
        if isinstance(value, Account):
            return value.organization
        if isinstance(value, TopUp):
            return value.organization
    return None


@register.inclusion_tag("payments/_pending_banners.html", takes_context=True)
def pending_top_up_banners(context) -> dict:
    """A banner per pending top-up the user may complete or cancel: on every page of the org they are on,
    and on every admin page for users of a single org's scope (org admins, subaccount users)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {"top_ups": []}
    rows = [{"top_up": top_up, "total": money(top_up.total, top_up.currency),
             "amount": money(top_up.amount, top_up.currency),
             "cancel_url": reverse("admin:payments_topup_cancel", args=[top_up.pk])}
            for top_up in pending_top_ups(user, _page_organization(context))]
    return {"top_ups": rows, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("payments/_org_purchases.html", takes_context=True)
def org_purchases(context, organization: Organization) -> dict:
    """The org page's purchases: "Buy credits" for those who may, and the latest top-ups with receipts."""
    request = context["request"]
    user = request.user
    buy_url = reverse("admin:payments_topup_buy", args=[organization.pk]) if may_buy_in(user, organization) else None
    top_ups = top_ups_for(user).filter(organization=organization).select_related("account").order_by(
        "-created_at")[:10]
    rows = [{"top_up": top_up, "amount": money(top_up.amount, top_up.currency),
             "total": money(top_up.total, top_up.currency),
             "confirmation_url": reverse("admin:payments_topup_confirmation", args=[top_up.pk]),
             "receipt_url": reverse("admin:payments_topup_receipt", args=[top_up.pk])
             if top_up.status == TopUpStatus.PAID else None} for top_up in top_ups]
    list_url = (reverse("admin:payments_topup_changelist") + f"?organization__id__exact={organization.pk}"
                if user.has_perm("payments.view_topup") else None)
    return {"purchases": {"buy_url": buy_url, "rows": rows, "list_url": list_url}}


@register.simple_tag(takes_context=True)
def buy_credits_nav(context) -> list[dict]:
    """Header links "Buy credits" (001: from the user's menu) for users of their own orgs; staff use the org page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff or sees_all_organizations(user):
        return []
    organizations = list(organizations_to_buy_for(user).order_by("name")[:3])  # each with an account to buy for
    return [{"title": "Buy credits" if len(organizations) == 1 else f"Buy credits ({organization.name})",
             "url": reverse("admin:payments_topup_buy", args=[organization.pk])} for organization in organizations]
