"""Payment providers: one interface (base.PaymentProvider), Stripe, Razorpay, bank transfer and the sandbox.

Which providers serve a currency and country is configuration (PAYMENT_ROUTES); a provider takes part
only when its keys are set. With no real provider configured the sandbox serves (PAYMENTS_SANDBOX).
"""

from django.conf import settings

from ..conf import routed_providers
from ..models import Provider
from .bank_transfer import BankTransferProvider
from .base import PaymentProvider
from .razorpay_provider import RazorpayProvider
from .sandbox import SandboxProvider
from .stripe_provider import StripeProvider

PROVIDERS: dict[str, PaymentProvider] = {provider.name: provider for provider in (
    SandboxProvider(), StripeProvider(), RazorpayProvider(), BankTransferProvider())}


def get(name: str) -> PaymentProvider | None:
    return PROVIDERS.get(name)


def available(currency: str, country: str, *, include_offline: bool = True) -> list[PaymentProvider]:
    """Providers that serve a currency for a buyer in a country, in the configured order (sandbox last)."""
    names = [name for name in routed_providers(currency, country) if name != Provider.SANDBOX]
    if not include_offline:
        names = [name for name in names if name != Provider.BANK_TRANSFER]
    providers = [PROVIDERS[name] for name in names if PROVIDERS[name].is_configured()]
    if settings.PAYMENTS_SANDBOX:
        providers.append(PROVIDERS[Provider.SANDBOX])
    return providers
