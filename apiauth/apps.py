"""App config of the service-token app."""

from django.apps import AppConfig


class ApiauthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apiauth"
    verbose_name = "API service tokens"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI security scheme)
