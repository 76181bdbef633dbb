"""System checks of payments: the sandbox provider must not serve a production deployment."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs) -> list[Error]:
    """`check --deploy` fails while the sandbox takes payments: its checkout page marks top-ups paid."""
    if settings.PAYMENTS_SANDBOX:
        return [Error("The sandbox payment provider is on: anyone can mark top-ups paid from its checkout page.",
                      hint="Set STRIPE_* or RAZORPAY_* keys (the sandbox then turns off), or PAYMENTS_SANDBOX=false.",
                      id="payments.E001")]
    return []
