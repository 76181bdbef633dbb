"""Bank transfer / purchase order: the buyer pays offline quoting the top-up's reference; finance records
the payment against the pending top-up (or a postpaid invoice). No webhooks."""

from django.conf import settings
from django.urls import reverse

from ..errors import InvalidSignature
from ..models import Provider
from .base import Checkout, PaymentProvider
from .sandbox import checkout_token


def transfer_reference(top_up) -> str:
    """The reference a payer quotes on the transfer: short, unambiguous, unique per top-up."""
    return f"TU-{top_up.pk.hex[:10].upper()}"


class BankTransferProvider(PaymentProvider):
    name = Provider.BANK_TRANSFER
    label = "Bank transfer / purchase order"
    supports_webhooks = False

    def is_configured(self) -> bool:
        return bool(settings.BANK_TRANSFER_DETAILS)

    def start_checkout(self, top_up, *, base_url, return_url, cancel_url) -> Checkout:
        path = reverse("payments:bank_transfer_instructions", args=[checkout_token(top_up.pk)])
        return Checkout(reference=transfer_reference(top_up), url=base_url.rstrip("/") + path)

    def parse_webhook(self, body, headers):
        raise InvalidSignature("Bank transfers send no webhooks: finance records them in the console.")
