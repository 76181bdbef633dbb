"""Template filters of the console and finance pages: channel and category labels, counts and unit prices."""

from decimal import Decimal, InvalidOperation

from django import template
from django.urls import reverse

from ledger.finance.selectors import owned_accounts
from ratecards.models import Channel, WhatsAppCategory

register = template.Library()

CHANNEL_LABELS = dict(Channel.choices)
CATEGORY_LABELS = dict(WhatsAppCategory.choices)


@register.filter
def channel_label(code):
    """`whatsapp` -> `WhatsApp`; an unknown or empty code is shown as it is."""
    return CHANNEL_LABELS.get(code, code) if code else ""


@register.filter
def category_label(code):
    """`marketing` -> `Marketing`; an unknown or empty code is shown as it is."""
    return CATEGORY_LABELS.get(code, code) if code else ""


@register.filter
def count(value):
    """A whole number with thousands separators (171983 -> 171,983); None stays empty."""
    if value is None or value == "":
        return ""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value


@register.filter
def unit_price(value):
    """A unit price without trailing zeros but with at least two decimals (0.250000 -> 0.25, 0.0079 stays)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"{amount:,.{places}f}"


@register.simple_tag(takes_context=True)
def finance_nav(context) -> list[dict]:
    """Header links to the finance pages: Finance for ledger readers, My ledger for subaccount owners."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return []
    if user.has_perm("ledger.view_ledger"):
        return [{"title": "Finance", "url": reverse("finance:index"), "slug": "finance"}]
    if owned_accounts(user).exists():
        return [{"title": "My ledger", "url": reverse("finance:my_ledger"), "slug": "my-ledger"}]
    return []
