"""Alert settings (per org, thresholds also per account), notifications, alert state, webhook endpoints and deliveries."""

import base64
import secrets
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ledger.history import ActorHistory, history_user
from ledger.models import Account, MoneyField, Organization

# Low-credit threshold by currency (1 credit = 1 unit of the org's currency).
DEFAULT_THRESHOLDS = {"INR": Decimal("100"), "USD": Decimal("5"), "EUR": Decimal("5"), "GBP": Decimal("5"),
                      "AED": Decimal("20"), "SAR": Decimal("20"), "EGP": Decimal("250"), "JPY": Decimal("750")}
FALLBACK_THRESHOLD = Decimal("10")


def default_threshold(currency: str) -> Decimal:
    """The low-credit threshold an org starts with: INR 100, USD 5, else a per-currency default."""
    return DEFAULT_THRESHOLDS.get(currency, FALLBACK_THRESHOLD)


def validate_recipients(value) -> None:
    """A list of valid email addresses."""
    if not isinstance(value, list):
        raise ValidationError("Enter a list of email addresses.")
    errors = []
    for address in value:
        try:
            if not isinstance(address, str):
                raise ValidationError("not text")
            validate_email(address)
        except ValidationError:
            errors.append(f"{address!r} is not a valid email address.")
    if errors:
        raise ValidationError(errors)


class AlertSettings(models.Model):
    """Per-org alert settings; every edit is kept in history."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="alert_settings")
    low_credit_threshold = MoneyField(
        help_text="Alert when available credits reach this, at or below it (INR 100, USD 5 by default).")
    recipients = models.JSONField(default=list, blank=True, validators=[validate_recipients],
                                  help_text="Email addresses that receive alerts.")
    expiry_warning_days = models.PositiveIntegerField(
        default=7, help_text="Warn about credits expiring within this many days.")
    runway_alert_days = models.PositiveIntegerField(
        default=7, help_text="Alert when, at the last 7 days' burn rate, credits last fewer days than this "
                             "(0 turns the runway alert off).")
    email_enabled = models.BooleanField(default=True, help_text="Send alerts by email as well as in-app notices.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[ActorHistory], get_user=history_user)

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(condition=Q(low_credit_threshold__gte=0), name="alert_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Alert settings of {self.organization.name}"


class AccountThreshold(models.Model):
    """A low-credit threshold of one funding account; accounts without one use their org's threshold."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="alert_threshold")
    low_credit_threshold = MoneyField(help_text="Alert when this account's available credits drop below this.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[ActorHistory], get_user=history_user)

    class Meta:
        verbose_name = "account threshold"
        constraints = [
            models.CheckConstraint(condition=Q(low_credit_threshold__gte=0),
                                   name="account_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Low-credit threshold of {self.account}"


class NotificationKind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Low balance"
    BALANCE_RECOVERED = "balance_recovered", "Balance recovered"
    NEGATIVE_BALANCE = "negative_balance", "Negative balance"
    CREDITS_EXPIRING = "credits_expiring", "Credits expiring"
    RATECARD_ACTIVATED = "ratecard_activated", "Rate card change in effect"
    RUNWAY = "runway", "Credits running out"
    TOP_UP_PAID = "top_up_paid", "Credits bought"
    AUTO_RECHARGE_FAILED = "auto_recharge_failed", "Auto-recharge failed"
    PAYMENT_REFUND_DUE = "payment_refund_due", "Payment to refund"


class NotificationLevel(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    DANGER = "danger", "Danger"


class Notification(models.Model):
    """An in-app notice for an org, shown as a banner on the org page until dismissed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    level = models.CharField(max_length=8, choices=NotificationLevel.choices, default=NotificationLevel.WARNING)
    title = models.CharField(max_length=200)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True,
                                  help_text="One notification per org and key (e.g. one per lot expiry).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.JSONField(default=list, blank=True)
    email_pending = models.BooleanField(default=False, help_text="Its email is due and not sent yet (a lost "
                                                                 "send is queued again by the catch-up job).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], condition=Q(dismissed_at__isnull=True),
                                name="notification_org_open")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "dedupe_key"], condition=~Q(dedupe_key=""),
                                    name="one_notification_per_dedupe_key"),
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="notification_kind_valid"),
            models.CheckConstraint(condition=Q(level__in=NotificationLevel.values), name="notification_level_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class AccountAlertState(models.Model):
    """Which alerts are raised on a funding account, so each fires once per crossing."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="alert_state")
    low_balance = models.BooleanField(default=False)
    negative_balance = models.BooleanField(default=False)
    runway_low = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check saw: an account whose balance or held differs has a check due (catch-up job).
    checked_balance = MoneyField(null=True, blank=True)
    checked_held = MoneyField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Alert state of {self.account}"


class LotExpiryWarning(models.Model):
    """One expiry warning per lot: the warning job never repeats itself."""

    lot = models.OneToOneField("ledger.CreditLot", on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="lot_warnings")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Expiry warning for lot {self.lot_id}"


class WebhookEvent(models.TextChoices):
    BALANCE_LOW = "balance.low", "balance.low"
    BALANCE_RECOVERED = "balance.recovered", "balance.recovered"
    BALANCE_DEPLETED = "balance.depleted", "balance.depleted"
    CREDITS_EXPIRING = "credits.expiring", "credits.expiring"
    RATECARD_ACTIVATED = "ratecard.activated", "ratecard.activated"
    TEST = "webhook.test", "webhook.test"


# Events an endpoint subscribes to; `webhook.test` is sent on demand from the admin, to any endpoint.
SUBSCRIBABLE_EVENTS = [event for event in WebhookEvent if event != WebhookEvent.TEST]


def validate_events(value) -> None:
    """A list of known webhook event names."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event.")
    unknown = [event for event in value if event not in SUBSCRIBABLE_EVENTS]
    if unknown:
        raise ValidationError(f"Unknown events: {', '.join(map(str, unknown))}.")


def validate_webhook_url(value: str) -> None:
    URLValidator(schemes=["http", "https"])(value)


SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_secret(value: str) -> None:
    """`whsec_` followed by base64 of 24 to 64 bytes, the form Standard Webhooks libraries accept."""
    encoded = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        key = b""
    if not value.startswith(SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ValidationError("Use whsec_ followed by 24 to 64 random bytes in base64 (leave the generated one).")


class WebhookEndpoint(models.Model):
    """An internal service's URL that receives signed event notifications for one org."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    secret = models.CharField(max_length=100, default=generate_secret, validators=[validate_secret],
                              help_text="Signing secret (Standard Webhooks, whsec_...): give it to the receiver, "
                                        "which verifies the webhook-signature header with it.")
    events = models.JSONField(default=list, validators=[validate_events],
                              help_text="Events this endpoint receives.")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(excluded_fields=["secret"], bases=[ActorHistory], get_user=history_user)

    class Meta:
        ordering = ["organization", "url"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint, with its attempts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values),
                                              name="webhook_delivery_status_valid")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint.url} ({self.status})"


class EmailEventKind(models.TextChoices):
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained (marked as spam)"
    REJECTED = "rejected", "Rejected by the provider"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    FAILED = "failed", "Failed"


# Events after which alert emails to the address stop (ALERT_EMAIL_SKIP_BOUNCED) until cleared.
SUPPRESSING_EMAIL_EVENTS = [EmailEventKind.BOUNCED, EmailEventKind.COMPLAINED, EmailEventKind.REJECTED,
                            EmailEventKind.UNSUBSCRIBED]


class EmailEvent(models.Model):
    """A delivery problem an email provider reported for a recipient (anymail tracking webhooks)."""

    recipient = models.EmailField(db_index=True)
    event = models.CharField(max_length=16, choices=EmailEventKind.choices)
    provider = models.CharField(max_length=40, help_text="The email provider that reported it (anymail's ESP name).")
    occurred_at = models.DateTimeField(help_text="When the provider says it happened.")
    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=255, blank=True, help_text="The provider's id of the message.")
    provider_event_id = models.CharField(max_length=255, blank=True,
                                         help_text="The provider's id of this event (repeated webhooks are ignored).")
    reason = models.TextField(blank=True, help_text="The provider's reason or the receiving server's answer.")
    cleared_at = models.DateTimeField(null=True, blank=True,
                                      help_text="Set when staff allow alert emails to this address again.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(event__in=EmailEventKind.values), name="email_event_kind_valid"),
            models.UniqueConstraint(fields=["provider", "provider_event_id"], condition=~Q(provider_event_id=""),
                                    name="one_email_event_per_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.recipient}"
