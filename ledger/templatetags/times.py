"""Template filters of the one time format (ledger/times.py): `{{ moment|local_time:organization }}`."""

from django import template

from ledger import times

register = template.Library()


@register.filter
def local_time(moment, where=None):
    """`2026-12-02 00:00 IST`: an instant in the org's timezone (or a zone name) with the zone named."""
    return times.local_time(moment, where)


@register.filter
def local_date(moment, where=None):
    """`2026-12-02`: the org's local day of an instant."""
    return times.local_date(moment, where)


@register.filter
def local_month(moment, where=None):
    """`2026-12`: the org's local month of an instant."""
    return times.local_month(moment, where)
