"""Alert emails: HTML and text bodies rendered from templates/alerts/email/, sent with django.core.mail by a task."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from creditsite.resilience import DATABASE_ERRORS

from .bounces import deliverable
from .models import Notification
from .selectors import recipients_for
from .webhooks import backoff_seconds


def alert_email_send(*, notification: Notification, recipients: list[str]) -> int:
    """Send one alert to its recipients as a multipart (text + HTML) email; returns the number sent."""
    if not recipients:
        return 0
    organization = notification.organization
    context = {"notification": notification, "organization": organization, "account": notification.account,
               "data": notification.data, "site_name": getattr(settings, "SITE_NAME", "Credits")}
    subject = f"[{organization.name}] {notification.title}"
    text = render_to_string("alerts/email/alert.txt", context)
    html = render_to_string("alerts/email/alert.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=recipients)
    message.attach_alternative(html, "text/html")
    return message.send()


def notification_email(*, notification_id: int) -> list[str]:
    """Email a notification once to the org's recipients (less the addresses that bounced); returns who received it."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update(of=("self",))
                        .select_related("organization", "account").get(pk=notification_id))
        if notification.emailed_to:
            return []
        recipients = deliverable(recipients_for(notification.organization))
        if recipients:
            alert_email_send(notification=notification, recipients=recipients)
        notification.emailed_to, notification.email_pending = recipients, False
        notification.save(update_fields=["emailed_to", "email_pending"])
        return recipients


@shared_task(name="alerts.tasks.send_alert_email", bind=True, max_retries=5, autoretry_for=DATABASE_ERRORS,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def send_alert_email(self, notification_id: int) -> list[str]:
    """Email a notification to its org's recipients, retried with backoff on mail server and database errors."""
    try:
        return notification_email(notification_id=notification_id)
    except OSError as exc:  # SMTP and network errors
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries + 1))
