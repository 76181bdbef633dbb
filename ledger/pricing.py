"""Where charges get their unit prices: the app that owns rate cards registers its lookup here.

The ledger does not import the rate card app (which builds on the ledger's models): `ratecards`
calls `price_lookup_register(price_for)` in its AppConfig.ready(). A lookup takes the keyword
arguments organization, channel, country, recipient, category and at, and returns an object with
`unit_price`, `version` (with `pk`) and `country`, or raises a LedgerError (NoRate, InvalidOperation).
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_lookup: Callable | None = None


def price_lookup_register(lookup: Callable) -> None:
    """Make `lookup` the price source of charges (called once, from an AppConfig.ready())."""
    global _lookup
    _lookup = lookup


def price_lookup() -> Callable:
    """The registered price lookup."""
    if _lookup is None:
        raise ImproperlyConfigured("No price lookup is registered: is the `ratecards` app installed?")
    return _lookup
