"""Admin for alert settings (org admins edit their own org's), notifications, webhook endpoints and deliveries."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from ledger.admin.display import MoneyDisplayMixin, OrgTimezoneMixin, local_time_column
from ledger.admin.scoping import ScopedChoicesAdmin
from ledger.models import BalanceMode
from ledger.money import money
from ledger.selectors import accounts_for, organizations_for, sees_all_organizations

from . import bounces, hooks, services, webhooks
from .models import (
    SUBSCRIBABLE_EVENTS,
    AccountThreshold,
    AlertSettings,
    EmailEvent,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    default_threshold,
)
from .selectors import alert_settings_for


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
        if "low_credit_threshold" in self.fields:  # a read-only viewer's form has no fields
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
class AlertSettingsAdmin(OrgTimezoneMixin, MoneyDisplayMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    currency_path = "organization__currency"
    form = AlertSettingsForm
    list_display = ["organization", "threshold_col", "expiry_warning_days", "runway_alert_days",
                    "recipient_list", "email_enabled"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__wallet_id"]

    @admin.display(description="Low-credit threshold", ordering="low_credit_threshold")
    def threshold_col(self, obj):
        return money(obj.low_credit_threshold, obj.organization.currency)

    @admin.display(description="Recipients")
    def recipient_list(self, obj):
        return ", ".join(obj.recipients) or "(org admins)"

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "account_thresholds"] if obj is not None else []

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [name for name in fields if name != "account_thresholds"]

    @admin.display(description="Per-account thresholds")
    def account_thresholds(self, obj):
        """The accounts with their own threshold (the others use this org's) and where to set one."""
        rows = AccountThreshold.objects.filter(account__organization=obj.organization).select_related("account")
        items = format_html_join("", "<li>{}: {}</li>", ((row.account.name, money(row.low_credit_threshold,
                                                                                  obj.organization.currency))
                                                         for row in rows))
        url = reverse("admin:alerts_accountthreshold_add")
        return format_html('<ul class="account-thresholds">{}</ul><a href="{}">Set an account\'s own threshold</a>'
                           '<div class="help">Accounts without their own threshold use this organization\'s.</div>',
                           items or format_html("<li>{}</li>", "none: every account uses this one"), url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # New thresholds apply at once: every funding account of the org is checked again after commit.
        hooks.organization_alerts_recheck(organization=obj.organization)


class AccountThresholdForm(forms.ModelForm):
    class Meta:
        model = AccountThreshold
        fields = ["account", "low_credit_threshold"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "account" in self.fields:
            self.fields["account"].queryset = (accounts_for(user).filter(balance_mode=BalanceMode.OWN)
                                               .select_related("organization")
                                               .order_by("organization__name", "-is_master", "name"))
            self.fields["account"].help_text = ("Accounts holding their own funds (master or own-balance "
                                                "subaccounts). Shared subaccounts use the master's.")


@admin.register(AccountThreshold)
class AccountThresholdAdmin(OrgTimezoneMixin, MoneyDisplayMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    """An account's own low-credit threshold: accounts without one use their org's alert settings."""

    organization_path, currency_path = "account__organization", "account__organization__currency"
    form = AccountThresholdForm
    org_lookup = "account__organization"
    list_display = ["account", "organization", "threshold_col", "org_threshold_col"]
    list_select_related = ["account__organization"]
    search_fields = ["account__name", "account__organization__name", "account__organization__wallet_id"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return ScopedForm

    def get_readonly_fields(self, request, obj=None):
        return ["account"] if obj is not None else []

    @admin.display(description="Organization", ordering="account__organization__name")
    def organization(self, obj):
        return obj.account.organization.name

    @admin.display(description="Threshold", ordering="low_credit_threshold")
    def threshold_col(self, obj):
        return money(obj.low_credit_threshold, obj.account.organization.currency)

    @admin.display(description="Org's threshold (the default)")
    def org_threshold_col(self, obj):
        organization = obj.account.organization
        return money(alert_settings_for(organization).low_credit_threshold, organization.currency)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        hooks.organization_alerts_recheck(organization=obj.account.organization)

    def delete_model(self, request, obj):
        organization = obj.account.organization
        super().delete_model(request, obj)
        hooks.organization_alerts_recheck(organization=organization)


@admin.register(Notification)
class NotificationAdmin(OrgTimezoneMixin, OrgScopedAdmin, admin.ModelAdmin):
    list_display = ["created_col", "organization", "account", "kind", "level", "title", "is_open", "emailed"]
    created_col = local_time_column("created_at", "Raised")
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
class WebhookEndpointAdmin(OrgTimezoneMixin, OrgScopedAdmin, SimpleHistoryAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "event_list", "is_active", "created_col"]
    created_col = local_time_column("created_at", "Created")
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
class WebhookDeliveryAdmin(OrgTimezoneMixin, OrgScopedAdmin, admin.ModelAdmin):
    org_lookup = organization_path = "endpoint__organization"
    list_display = ["created_col", "event", "endpoint", "status", "attempts", "response_status", "last_attempt_col"]
    created_col = local_time_column("created_at", "Created", "endpoint__organization")
    last_attempt_col = local_time_column("last_attempt_at", "Last attempt", "endpoint__organization")
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
