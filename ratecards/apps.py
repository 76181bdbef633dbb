"""App config."""

from django.apps import AppConfig


class RatecardsConfig(AppConfig):
    name = "ratecards"
    verbose_name = "Rate cards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.activity import activity_sources

        from .activity import RateCardSource

        activity_sources.register(RateCardSource())  # rate card changes on the org activity timeline
