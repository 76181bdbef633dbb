"""The one time format of every screen, email and export: each org's times in its timezone, the zone named.

Screens show `2026-12-02 00:00 IST` (a date alone as `2026-12-02`, a month as `2026-12`); CSV files carry
ISO 8601 with the offset. Every template reaches these through the `times` filters (`local_time`,
`local_date`, `local_month`); Django's own date rendering (admin lists, history pages) is set to the same
pattern by `creditsite/formats/en/formats.py`.
"""

import zoneinfo
from datetime import date, datetime, tzinfo

from django.utils import timezone

TIME_PATTERN = "%Y-%m-%d %H:%M"
DATE_PATTERN = "%Y-%m-%d"
MONTH_PATTERN = "%Y-%m"
# Django's format characters for the same patterns (used by creditsite/formats/en/formats.py).
DJANGO_DATETIME_FORMAT = "Y-m-d H:i T"
DJANGO_DATE_FORMAT = "Y-m-d"
EMPTY = "—"


def zone_of(where=None) -> tzinfo:
    """The timezone of an org (anything with `.timezone`), an IANA name or a tzinfo; UTC when unknown."""
    if isinstance(where, tzinfo):
        return where
    name = getattr(where, "timezone", where)
    if isinstance(name, str) and name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return timezone.UTC  # an unsaved, invalid value (the form reports it); never a 500
    return timezone.UTC


def zone_label(moment: datetime) -> str:
    """The zone of a local time as people name it: IST, EST, UTC; the IANA name where only an offset exists."""
    abbreviation = moment.tzname() or ""
    if not abbreviation or abbreviation[0] in "+-":
        return getattr(moment.tzinfo, "key", abbreviation) or "UTC"
    return abbreviation


def localize(moment: datetime, where=None) -> datetime:
    """`moment` in the timezone of `where` (an org, a zone name or a tzinfo)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.UTC)
    return moment.astimezone(zone_of(where))


def local_time(moment: datetime | None, where=None) -> str:
    """`2026-12-02 00:00 IST`: an instant in the org's timezone with the zone named (— for None)."""
    if moment is None or moment == "":
        return EMPTY
    local = localize(moment, where)
    return f"{local.strftime(TIME_PATTERN)} {zone_label(local)}"


def local_date(moment: datetime | date | None, where=None) -> str:
    """`2026-12-02`: the org's local calendar day of an instant (a date is shown as it is)."""
    if moment is None or moment == "":
        return EMPTY
    if not isinstance(moment, datetime):
        return moment.strftime(DATE_PATTERN)
    return localize(moment, where).strftime(DATE_PATTERN)


def local_month(moment: datetime | date | None, where=None) -> str:
    """`2026-12`: the org's local calendar month of an instant (a date is shown as it is)."""
    if moment is None or moment == "":
        return EMPTY
    if not isinstance(moment, datetime):
        return moment.strftime(MONTH_PATTERN)
    return localize(moment, where).strftime(MONTH_PATTERN)


def iso_time(moment: datetime | None, where=None) -> str:
    """ISO 8601 with the org's offset, for CSV cells (empty for None)."""
    if moment is None:
        return ""
    return localize(moment, where).isoformat()
