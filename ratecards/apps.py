"""App config: the rate card app is the ledger's price source, and its changes are on the org activity timeline."""

from django.apps import AppConfig

from ledger.pricing import price_lookup_register


class RatecardsConfig(AppConfig):
    name = "ratecards"
    verbose_name = "Rate cards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.activity import activity_sources  # models are loaded only once ready() runs (also below)

        from .activity import RateCardSource  # models: see above
        from .pricing import price_for  # models: see above

        price_lookup_register(price_for)
        activity_sources.register(RateCardSource())  # rate card changes on the org activity timeline
