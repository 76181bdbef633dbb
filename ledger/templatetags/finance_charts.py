"""Template tags for the finance pages: the org page's SVG charts, and the `money` and `rate` filters."""

from django import template

from ledger.finance.charts import organization_charts
from ledger.finance.selectors import ENTRY_KIND_LABELS, can_view_organization_ledger
from ledger.money import money as format_money
from ledger.money import rate as format_rate

register = template.Library()


@register.inclusion_tag("finance/_charts.html", takes_context=True)
def org_charts(context, organization):
    """The balance-over-time and usage-by-channel charts of an org, with links to its finance pages."""
    request = context.get("request")
    user = getattr(request, "user", None)
    links = bool(user is not None and user.is_authenticated and can_view_organization_ledger(user, organization))
    return {"organization": organization, "links": links, **organization_charts(organization)}


@register.filter
def money(amount, currency=""):
    """An amount with its currency's symbol and minor units (ledger.money.money); empty for None."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency)


@register.filter
def rate(amount, currency=""):
    """A unit price with its currency's symbol and the precision it needs (ledger.money.rate)."""
    if amount is None or amount == "":
        return ""
    return format_rate(amount, currency)


@register.filter
def entry_kind_label(kind):
    """The label of an entry kind (transfer_in, charge, ...)."""
    return ENTRY_KIND_LABELS.get(kind, kind)
