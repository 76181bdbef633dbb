"""App config."""

from django.apps import AppConfig


class RatecardsConfig(AppConfig):
    name = "ratecards"
    verbose_name = "Rate cards"
    default_auto_field = "django.db.models.BigAutoField"
