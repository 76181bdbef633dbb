"""ISO 3166-1 alpha-2 country codes and English names (from Babel's CLDR data), for validation and pickers."""

from functools import cache

import phonenumbers
from babel import Locale

# CLDR territory codes that are not ISO 3166-1 alpha-2 countries: groupings, pseudo-locales, reserved codes
# without a country of their own. Kosovo (XK) stays: phone numbering and every carrier treat it as one.
_NOT_COUNTRIES = frozenset({"CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "UN", "XA", "XB", "ZZ"})


@cache
def countries() -> dict[str, str]:
    """Country code -> English name, sorted by name."""
    names = Locale("en").territories
    codes = {code for code in names if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES}
    codes |= set(phonenumbers.SUPPORTED_REGIONS)  # e.g. AC (Ascension), TA (Tristan da Cunha)
    return dict(sorted(((code, names.get(code, code)) for code in codes), key=lambda item: item[1]))


def country_choices() -> list[tuple[str, str]]:
    """(code, "Name (CODE)") pairs for a country picker."""
    return [(code, f"{name} ({code})") for code, name in countries().items()]


def is_country(code: str) -> bool:
    """True for a known ISO 3166-1 alpha-2 code (upper case)."""
    return code in countries()
