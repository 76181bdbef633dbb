"""Display helpers of the staff console: amounts in the org's currency, low-credit thresholds."""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django.db.models import Case, DecimalField, F, Value, When
from django.db.models.functions import Coalesce

from ledger.currencies import minor_unit

LOCALE = "en"
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=6)

try:  # the alerts app owns per-org thresholds and the currency defaults
    from alerts.models import DEFAULT_THRESHOLDS, FALLBACK_THRESHOLD
    from alerts.selectors import alert_settings_for
except ImportError:  # pragma: no cover - the console still works without the alerts app
    DEFAULT_THRESHOLDS, FALLBACK_THRESHOLD = {"INR": Decimal("100"), "USD": Decimal("5")}, Decimal("0")
    alert_settings_for = None


def money(amount, currency: str) -> str:
    """An amount with its currency symbol, in the currency's minor units unless it has finer digits."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount == amount.quantize(minor_unit(currency)):
        return format_currency(amount, currency, locale=LOCALE)
    digits = get_currency_precision(currency)
    pattern = "¤#,##0." + "0" * digits + "#" * max(0, 6 - digits)
    return format_currency(amount, currency, locale=LOCALE, format=pattern, currency_digits=False)


def low_credit_threshold(organization) -> Decimal:
    """The org's low-credit threshold: its alert setting, else the currency default."""
    if alert_settings_for is not None:
        return Decimal(alert_settings_for(organization).low_credit_threshold)
    return DEFAULT_THRESHOLDS.get(organization.currency, FALLBACK_THRESHOLD)


def threshold_expression():
    """SQL for each org's low-credit threshold (its alert setting, else the currency default)."""
    default = Case(*[When(currency=code, then=Value(value)) for code, value in DEFAULT_THRESHOLDS.items()],
                   default=Value(FALLBACK_THRESHOLD), output_field=MONEY_FIELD)
    if alert_settings_for is None:
        return default
    return Coalesce(F("alert_settings__low_credit_threshold"), default, output_field=MONEY_FIELD)


def is_low(available: Decimal, threshold: Decimal) -> bool:
    """Low when available is below the threshold (or nothing is left when there is no threshold)."""
    return available < threshold if threshold > 0 else available <= 0
