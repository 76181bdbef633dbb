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
    """Providers that serve a currency for a buyer in a country: the configured online ones in their order,
    then the sandbox (when on), then bank transfer (offline, when routed and configured)."""
    names = routed_providers(currency, country)
    online = [PROVIDERS[name] for name in names if name not in (Provider.SANDBOX, Provider.BANK_TRANSFER)]
    providers = [provider for provider in online if provider.is_configured()]
    if settings.PAYMENTS_SANDBOX:
        providers.append(PROVIDERS[Provider.SANDBOX])
    bank = PROVIDERS[Provider.BANK_TRANSFER]
    if include_offline and Provider.BANK_TRANSFER in names and bank.is_configured():
        providers.append(bank)
    return providers
