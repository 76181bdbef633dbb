"""Template tags for the finance pages: the org page's SVG charts and money formatting."""

from decimal import Decimal

from django import template

from ledger.currencies import minor_unit
from ledger.finance.charts import organization_charts
from ledger.finance.selectors import ENTRY_KIND_LABELS, can_view_organization_ledger
from ledger.models import QUANTUM

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
    """An amount in its currency's minor units (6 places kept when finer), thousands separated."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    unit = minor_unit(currency) if currency else QUANTUM
    if amount == amount.quantize(unit):
        return f"{amount.quantize(unit):,f}"
    return f"{amount.quantize(QUANTUM):,f}".rstrip("0")


@register.filter
def entry_kind_label(kind):
    """The label of an entry kind (transfer_in, charge, ...)."""
    return ENTRY_KIND_LABELS.get(kind, kind)
