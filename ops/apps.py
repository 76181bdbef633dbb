"""App configs: `ops` itself, and the admin with the project's own site (second factor when required)."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"
    default = True

    def ready(self):
        from . import signals  # receivers import models: only once the app registry is ready

        signals.connect()


class CreditsAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with `ops.security.CreditsAdminSite` as `admin.site`."""

    default = False
    default_site = "ops.security.CreditsAdminSite"
