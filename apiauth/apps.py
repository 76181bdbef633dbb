"""App config of the service-token app."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiauthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apiauth"
    verbose_name = "API service tokens"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from .models import ServiceToken  # models are loaded only once ready() runs (also below)
        from .token_cache import on_token_saved  # models: see above

        post_save.connect(on_token_saved, sender=ServiceToken, dispatch_uid="apiauth.token_saved")
        post_delete.connect(on_token_saved, sender=ServiceToken, dispatch_uid="apiauth.token_deleted")
