"""Admin for alert settings (org admins edit their own org's), notifications, webhook endpoints and deliveries."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from ledger.admin.scoping import ScopedChoicesAdmin
from ledger.selectors import organizations_for, sees_all_organizations

from . import bounces, services, webhooks
from .models import (
    SUBSCRIBABLE_EVENTS,
    AlertSettings,
    EmailEvent,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    default_threshold,
)


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


class OrgScopedAdmin(ScopedChoicesAdmin):
    """Lists limited to the orgs a user may see (ledger.selectors); choices follow (ScopedChoicesAdmin)."""

    org_lookup = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_all_organizations(request.user):
            return queryset
        return queryset.filter(**{f"{self.org_lookup}__in": organizations_for(request.user)})


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
        services.organization_alerts_recheck(organization=obj.organization)


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
    events = forms.MultipleChoiceField(choices=[(event.value, event.label) for event in SUBSCRIBABLE_EVENTS],
                                       widget=forms.CheckboxSelectMultiple)

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
    actions = ["send_test_event"]

    @admin.display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.action(description="Send a test event (webhook.test) to the selected endpoints", permissions=["change"])
    def send_test_event(self, request, queryset):
        deliveries = [webhooks.endpoint_test_send(endpoint=endpoint) for endpoint in queryset]
        self.message_user(request, f"{len(deliveries)} test event(s) queued: see Webhook deliveries for the "
                                   "outcome.", messages.SUCCESS)


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

    @admin.action(description="Redeliver the selected deliveries (same webhook-id, fresh attempts)",
                  permissions=["change"])
    def redeliver(self, request, queryset):
        count = webhooks.deliveries_redeliver(deliveries=queryset)
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    """Bounces and complaints reported by the email provider; alert emails skip addresses with an open one."""

    list_display = ["occurred_at", "recipient", "event", "provider", "reason_short", "is_open"]
    list_filter = ["event", "provider", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient", "message_id"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["recipient", "event", "provider", "occurred_at", "received_at", "message_id",
                       "provider_event_id", "reason", "cleared_at"]
    actions = ["clear"]

    @admin.display(description="Reason")
    def reason_short(self, obj):
        return (obj.reason[:80] + "…") if len(obj.reason) > 80 else obj.reason

    @admin.display(boolean=True, description="Blocks alert emails")
    def is_open(self, obj):
        return obj.cleared_at is None and bounces.email_event_suppresses(obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Allow alert emails to these addresses again", permissions=["change"])
    def clear(self, request, queryset):
        count = bounces.email_events_clear(events=queryset)
        self.message_user(request, f"{count} event(s) cleared.", messages.SUCCESS)
