"""Template filters of the console and finance pages: channel and category labels, counts and unit prices."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.urls import reverse

from ledger.finance.selectors import owned_accounts
from ledger.money import money, rate
from ledger.selfservice.rules import self_service_accounts
from ledger.times import local_time
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
def unit_price(value, currency=""):
    """A unit price: with the currency, its symbol and the precision it needs (₹0.0079); without, a plain
    number without trailing zeros but at least two decimals (0.250000 -> 0.25)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    if currency:
        return rate(amount, currency)
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"{amount:,.{places}f}"


def _organization_of(obj):
    """The org an object belongs to (itself, its organization, or its account's)."""
    for path in ("", "organization", "account.organization"):
        target = obj
        for part in filter(None, path.split(".")):
            target = getattr(target, part, None)
        if target is not None and hasattr(target, "currency") and hasattr(target, "timezone"):
            return target
    return None


@register.filter
def history_value(value, obj):
    """A value of a history diff as the console shows it: amounts in the object's currency, times in its org's zone."""
    organization = _organization_of(obj)
    if isinstance(value, Decimal) and organization is not None:
        return money(value, organization.currency)
    if isinstance(value, datetime):
        return local_time(value, organization)
    return value


@register.simple_tag(takes_context=True)
def finance_nav(context) -> list[dict]:
    """Header links to the finance pages: Finance for ledger readers, My ledger for subaccount owners."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return []
    if user.has_perm("ledger.view_ledger"):
        return [{"title": "Finance", "url": reverse("finance:index"), "slug": "finance"}]
    links = []
    if self_service_accounts(user).exists():
        links.append({"title": "My credits", "url": reverse("selfservice:my_credits"), "slug": "my-credits"})
    if owned_accounts(user).exists():
        links.append({"title": "My ledger", "url": reverse("finance:my_ledger"), "slug": "my-ledger"})
    return links
