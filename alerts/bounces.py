"""Email delivery problems reported by the provider (anymail tracking webhooks): recorded against the
recipient, and, with ALERT_EMAIL_SKIP_BOUNCED, addresses that alert emails skip until staff clear them."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .models import SUPPRESSING_EMAIL_EVENTS, EmailEvent, EmailEventKind

logger = logging.getLogger(__name__)

# anymail's normalized event types that we record, and what we call them.
RECORDED_EVENTS = {
    "bounced": EmailEventKind.BOUNCED,
    "complained": EmailEventKind.COMPLAINED,
    "rejected": EmailEventKind.REJECTED,
    "unsubscribed": EmailEventKind.UNSUBSCRIBED,
    "failed": EmailEventKind.FAILED,
}


def email_event_record(*, recipient: str, event: str, provider: str, occurred_at=None, message_id: str = "",
                       provider_event_id: str = "", reason: str = "") -> EmailEvent | None:
    """Record one provider event for a recipient; a repeated webhook (same provider event id) records nothing."""
    try:
        with transaction.atomic():
            record = EmailEvent.objects.create(
                recipient=recipient.strip().lower(), event=event, provider=provider[:40],
                occurred_at=occurred_at or timezone.now(), message_id=(message_id or "")[:255],
                provider_event_id=(provider_event_id or "")[:255], reason=reason or "")
    except IntegrityError:
        return None
    logger.warning("email %s reported by %s", event, provider,
                   extra={"recipient": record.recipient, "email_event": event, "message_id": record.message_id})
    return record


def email_event_suppresses(event: EmailEvent) -> bool:
    return event.event in SUPPRESSING_EMAIL_EVENTS


def email_events_clear(*, events) -> int:
    """Let alert emails go to these events' addresses again (the events stay, marked cleared)."""
    return events.filter(cleared_at__isnull=True).update(cleared_at=timezone.now())


def suppressed_addresses(addresses: list[str]) -> set[str]:
    """The addresses among `addresses` (any case) with an uncleared bounce, complaint, rejection or unsubscribe."""
    if not addresses:
        return set()
    lowered = {address.lower(): address for address in addresses}
    blocked = (EmailEvent.objects.annotate(address=Lower("recipient"))
               .filter(address__in=list(lowered), event__in=SUPPRESSING_EMAIL_EVENTS, cleared_at__isnull=True)
               .values_list("address", flat=True))
    return {lowered[address] for address in blocked}


def deliverable(addresses: list[str]) -> list[str]:
    """Alert recipients less the suppressed ones (when ALERT_EMAIL_SKIP_BOUNCED is on)."""
    if not getattr(settings, "ALERT_EMAIL_SKIP_BOUNCED", True):
        return addresses
    skipped = suppressed_addresses(addresses)
    if skipped:
        logger.info("alert email skips suppressed addresses", extra={"skipped": sorted(skipped)})
    return [address for address in addresses if address not in skipped]


def tracking_received(sender, event, esp_name, **kwargs) -> None:
    """anymail `tracking` signal receiver: record bounces, complaints, rejections, unsubscribes, failures."""
    kind = RECORDED_EVENTS.get(str(event.event_type))
    if kind is None or not event.recipient:
        return
    reason = " ".join(part for part in (event.reject_reason or "", event.description or "", event.mta_response or "")
                      if part)
    email_event_record(recipient=event.recipient, event=kind, provider=esp_name or "unknown",
                       occurred_at=event.timestamp, message_id=event.message_id or "",
                       provider_event_id=event.event_id or "", reason=reason)
