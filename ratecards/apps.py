"""App config: the rate card app is the ledger's price source."""

from django.apps import AppConfig

from ledger.pricing import price_lookup_register


class RatecardsConfig(AppConfig):
    name = "ratecards"
    verbose_name = "Rate cards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .pricing import price_for  # models are loaded only once ready() runs

        price_lookup_register(price_for)
