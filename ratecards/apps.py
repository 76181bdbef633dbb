"""App config."""

from django.apps import AppConfig


class RatecardsConfig(AppConfig):
    name = "ratecards"
    default_auto_field = "django.db.models.BigAutoField"
