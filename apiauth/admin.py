"""Admin of service tokens: list, edit scopes and rate, revoke (tokens are created by the command)."""

from django.contrib import admin, messages

from .models import ServiceToken
from .services import service_token_revoke


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes", "throttle_rate", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "scopes", "throttle_rate", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # The plain token must be shown once to whoever creates it: `manage.py create_service_token`.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the token name stays on the ledger rows it wrote

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(service_token_revoke(token=token) for token in queryset)
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
