"""Admin for alert settings (org admins edit their own org's), notifications, webhook endpoints and deliveries."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from ledger.selectors import organizations_for, sees_all_organizations

from . import hooks, services
from .models import (
    AlertSettings,
    DeliveryStatus,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    default_threshold,
)
from .webhooks import deliver_webhook


class RecipientsField(forms.CharField):
    """Email addresses, one per line or separated by commas, stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        addresses = [part.strip() for chunk in text.splitlines() for part in chunk.split(",") if part.strip()]
        errors = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                errors.append(f"{address!r} is not a valid email address.")
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(addresses))


class OrgScopedAdmin:
    """Lists and forms limited to the orgs a user may see (ledger.selectors)."""

    org_lookup = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_all_organizations(request.user):
            return queryset
        return queryset.filter(**{f"{self.org_lookup}__in": organizations_for(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = organizations_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AlertSettingsForm(forms.ModelForm):
    recipients = RecipientsField(required=False, help_text="Email addresses that receive alerts, one per line. "
                                                           "Empty: the org admins.")

    class Meta:
        model = AlertSettings
        fields = ["organization", "low_credit_threshold", "recipients", "expiry_warning_days", "runway_alert_days",
                  "email_enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["low_credit_threshold"].required = False
        self.fields["low_credit_threshold"].help_text += " Empty: the currency's default."

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if cleaned.get("low_credit_threshold") is None and organization is not None:
            cleaned["low_credit_threshold"] = default_threshold(organization.currency)
            self.instance.low_credit_threshold = cleaned["low_credit_threshold"]
        return cleaned


@admin.register(AlertSettings)
class AlertSettingsAdmin(OrgScopedAdmin, SimpleHistoryAdmin):
    form = AlertSettingsForm
    list_display = ["organization", "low_credit_threshold", "currency", "expiry_warning_days", "runway_alert_days",
                    "recipient_list", "email_enabled"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__wallet_id"]

    @admin.display(description="Currency")
    def currency(self, obj):
        return obj.organization.currency

    @admin.display(description="Recipients")
    def recipient_list(self, obj):
        return ", ".join(obj.recipients) or "(org admins)"

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # New thresholds apply at once: every funding account of the org is checked again after commit.
        hooks.organization_alerts_recheck(organization=obj.organization)


@admin.register(Notification)
class NotificationAdmin(OrgScopedAdmin, admin.ModelAdmin):
    list_display = ["created_at", "organization", "account", "kind", "level", "title", "is_open", "emailed"]
    list_filter = ["kind", "level", ("dismissed_at", admin.EmptyFieldListFilter), "organization"]
    list_select_related = ["organization", "account"]
    search_fields = ["title", "message", "organization__name", "organization__wallet_id"]
    date_hierarchy = "created_at"
    actions = ["dismiss", "mark_read"]
    readonly_fields = ["organization", "account", "kind", "level", "title", "message", "data", "dedupe_key",
                       "created_at", "read_at", "dismissed_at", "emailed_to"]

    @admin.display(boolean=True, description="Open")
    def is_open(self, obj):
        return obj.dismissed_at is None

    @admin.display(boolean=True, description="Emailed")
    def emailed(self, obj):
        return bool(obj.emailed_to)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Dismiss the selected notices (hide their banners)", permissions=["change"])
    def dismiss(self, request, queryset):
        count = services.notifications_dismiss(notifications=queryset)
        self.message_user(request, f"{count} notice(s) dismissed.", messages.SUCCESS)

    @admin.action(description="Mark the selected notices as read", permissions=["change"])
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(request, f"{count} notice(s) marked as read.", messages.SUCCESS)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "events", "is_active", "description", "secret"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrgScopedAdmin, SimpleHistoryAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "event_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["organization"]
    search_fields = ["url", "organization__name", "organization__wallet_id"]

    @admin.display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrgScopedAdmin, admin.ModelAdmin):
    org_lookup = "endpoint__organization"
    list_display = ["created_at", "event", "endpoint", "status", "attempts", "response_status", "last_attempt_at"]
    list_filter = ["status", "event"]
    list_select_related = ["endpoint__organization"]
    search_fields = ["endpoint__url", "endpoint__organization__name", "id"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "endpoint", "event", "payload", "status", "attempts", "response_status",
                       "response_body", "error", "created_at", "last_attempt_at", "delivered_at"]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the selected deliveries again", permissions=["change"])
    def redeliver(self, request, queryset):
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        queryset.update(status=DeliveryStatus.PENDING, attempts=0)
        for delivery_id in ids:
            transaction.on_commit(lambda pk=delivery_id: deliver_webhook.delay(pk))
        self.message_user(request, f"{len(ids)} delivery(ies) queued again.", messages.SUCCESS)
