"""Admin of service tokens: list, edit scopes, orgs and rate, revoke (tokens are created by the command)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from ledger.admin.scoping import ScopedChoicesAdmin
from ledger.selectors import sees_all_organizations

from .models import ServiceToken
from .services import service_token_revoke, validate_organization_choice


class ServiceTokenForm(forms.ModelForm):
    class Meta:
        model = ServiceToken
        fields = ["name", "scopes", "all_organizations", "organizations", "throttle_rate"]

    def clean(self):
        data = super().clean()
        try:
            validate_organization_choice(list(data.get("organizations") or []), data.get("all_organizations", False))
        except ValidationError as exc:
            for message in exc.message_dict["organizations"]:
                self.add_error("organizations", message)
        return data


@admin.register(ServiceToken)
class ServiceTokenAdmin(ScopedChoicesAdmin):
    form = ServiceTokenForm
    list_display = ["name", "prefix", "scopes", "organizations_col", "throttle_rate", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "all_organizations"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "scopes", "all_organizations", "organizations", "throttle_rate", "created_at",
              "last_used_at", "revoked_at"]
    autocomplete_fields = ["organizations"]
    actions = ["revoke"]

    def get_queryset(self, request):
        """Tokens are platform-wide things: only users who see every org see them."""
        queryset = super().get_queryset(request).prefetch_related("organizations")
        return queryset if sees_all_organizations(request.user) else queryset.none()

    @admin.display(description="Organizations")
    def organizations_col(self, obj):
        if obj.all_organizations:
            return "All organizations"
        return ", ".join(org.name for org in obj.organizations.all()) or "None"

    def has_add_permission(self, request) -> bool:
        # The plain token must be shown once to whoever creates it: `manage.py create_service_token`.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the token name stays on the ledger rows it wrote

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(service_token_revoke(token=token) for token in queryset)
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
