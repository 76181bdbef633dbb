"""App config: puts approval requests and their decisions on the org activity timeline."""

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.activity import activity_sources  # imports models: once apps are ready

        from .activity import (  # imports models: once apps are ready
            ApprovalDecisionSource,
            ApprovalRequestSource,
        )

        activity_sources.register(ApprovalRequestSource())
        activity_sources.register(ApprovalDecisionSource())
