"""App config: the ledger forgets its cached system account ids when a flush empties the tables."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
        from .services import forget_system_accounts  # models are loaded only once ready() runs

        # `flush` (tests, operators) empties the tables and then sends post_migrate.
        post_migrate.connect(forget_system_accounts, dispatch_uid="ledger.forget_system_accounts")
