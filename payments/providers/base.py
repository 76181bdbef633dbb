"""The provider interface: start a checkout, verify and read webhook events, charge a saved method."""

from dataclasses import dataclass, field
from decimal import Decimal

from babel.numbers import get_currency_precision

from ..models import TopUp


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor unit (INR 1180.00 -> 118000 paise), as providers take it."""
    return int((amount * 10 ** get_currency_precision(currency)).to_integral_value())


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(int(value)).scaleb(-get_currency_precision(currency))


@dataclass
class Checkout:
    """Where the buyer pays: the provider's session or order id and the page to send them to."""

    reference: str
    url: str


@dataclass
class Event:
    """A verified provider event, reduced to what settles a top-up.

    `outcome` is `succeeded`, `failed` or `ignored` (an event type that settles nothing).
    """

    event_id: str
    type: str
    outcome: str
    payload: dict
    top_up_id: str = ""
    reference: str = ""
    payment_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    reason: str = ""
    # (customer, payment method) the buyer let the provider keep for off-session charges (auto-recharge)
    saved_method: tuple[str, str] | None = None


@dataclass
class ChargeResult:
    """The answer to an off-session charge of a saved method: `succeeded`, `pending` or `failed`."""

    status: str
    payment_id: str = ""
    reference: str = ""
    reason: str = ""
    extra: dict = field(default_factory=dict)


class PaymentProvider:
    """One payment provider. Subclasses implement what they support; SDKs do the signatures and calls."""

    name = ""
    label = ""
    supports_webhooks = True
    supports_saved_methods = False

    def is_configured(self) -> bool:
        raise NotImplementedError

    def start_checkout(self, top_up: TopUp, *, base_url: str, return_url: str, cancel_url: str) -> Checkout:
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers) -> Event:
        """Verify the signature of a raw webhook body and read it; InvalidSignature when it does not verify."""
        raise NotImplementedError

    def charge_saved(self, top_up: TopUp, *, customer: str, payment_method: str) -> ChargeResult:
        raise NotImplementedError(f"{self.label} cannot charge a saved payment method.")

    def cancel(self, top_up: TopUp) -> None:
        """Close the checkout at the provider when a top-up is cancelled or expires (best effort)."""
