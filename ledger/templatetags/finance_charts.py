"""Template tags for the finance pages: the org page's SVG charts and money formatting."""

from django import template

from ledger.finance.charts import organization_charts
from ledger.finance.selectors import ENTRY_KIND_LABELS, can_view_organization_ledger
from ledger.money import money as format_money

register = template.Library()


@register.inclusion_tag("finance/_charts.html", takes_context=True)
def org_charts(context, organization):
    """The balance-over-time and usage-by-channel charts of an org, with links to its finance pages."""
    request = context.get("request")
    user = getattr(request, "user", None)
    links = bool(user is not None and user.is_authenticated and can_view_organization_ledger(user, organization))
    return {"organization": organization, "links": links, **organization_charts(organization)}


@register.filter
def money(amount, currency):
    """An amount without its symbol (the page shows the currency): ledger.money.money; empty for none."""
    return "" if amount is None or amount == "" else format_money(amount, currency, symbol=False)


@register.filter
def entry_kind_label(kind):
    """The label of an entry kind (transfer_in, charge, ...)."""
    return ENTRY_KIND_LABELS.get(kind, kind)
