"""Alert emails: HTML and text bodies rendered from templates/alerts/email/, sent with django.core.mail."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import Notification


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
