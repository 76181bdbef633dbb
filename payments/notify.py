"""Telling people about payments: the in-app notice and the receipt email (PDF attached) of a paid top-up,
and the notice of a payment to refund. Run from tasks after the settling transaction committed."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from alerts.models import Notification, NotificationKind, NotificationLevel
from alerts.selectors import recipients_for
from alerts.services import notification_create
from ledger.money import money

from .invoices import invoice_pdf, receipt_filename
from .models import Payment, TopUp, TopUpStatus


def receipt_recipients(top_up: TopUp) -> list[str]:
    """The buyer (the user who started it, the billing email) and the org's alert recipients."""
    buyer = [top_up.created_by.email] if top_up.created_by_id and top_up.created_by.email else []
    billing = [top_up.billing_email] if top_up.billing_email else []
    return list(dict.fromkeys([*buyer, *billing, *recipients_for(top_up.organization)]))


def top_up_paid_notify(*, top_up_id) -> list[str]:
    """Record the "credits bought" notice once and email the receipt with the PDF; returns who got it."""
    top_up = TopUp.objects.select_related("organization", "account", "created_by").get(pk=top_up_id)
    if top_up.status != TopUpStatus.PAID:
        return []
    organization = top_up.organization
    notification_create(
        organization=organization, account=top_up.account, kind=NotificationKind.TOP_UP_PAID,
        level=NotificationLevel.INFO, email=False, dedupe_key=f"top-up:{top_up.pk}",
        title=f"{money(top_up.amount, top_up.currency)} of credits added to {top_up.account.name}",
        message=f"Payment of {money(top_up.total, top_up.currency)} received; tax invoice {top_up.invoice_number}.",
        data={"top_up": str(top_up.pk), "invoice_number": top_up.invoice_number, "amount": str(top_up.amount),
              "total": str(top_up.total), "currency": top_up.currency})
    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .get(organization=organization, dedupe_key=f"top-up:{top_up.pk}"))
        if notification.emailed_to:
            return []
        recipients = receipt_recipients(top_up)
        if recipients:
            context = {"top_up": top_up, "organization": organization, "amount": money(top_up.amount, top_up.currency),
                       "tax": money(top_up.tax, top_up.currency), "total": money(top_up.total, top_up.currency),
                       "tax_rows": top_up.tax_rows()}
            message = EmailMultiAlternatives(
                subject=f"[{organization.name}] Credits added: tax invoice {top_up.invoice_number}",
                body=render_to_string("payments/email/top_up_paid.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
            message.attach_alternative(render_to_string("payments/email/top_up_paid.html", context), "text/html")
            message.attach(receipt_filename(top_up), invoice_pdf(top_up), "application/pdf")
            message.send()
            notification.emailed_to = recipients
            notification.save(update_fields=["emailed_to"])
        return recipients


def refund_due_notify(*, payment_id) -> None:
    """A notice on the org page that a payment arrived for a top-up that cannot take it and will be refunded."""
    payment = Payment.objects.select_related("top_up__account", "organization").get(pk=payment_id)
    top_up = payment.top_up
    notification_create(
        organization=payment.organization, account=top_up.account if top_up else None,
        kind=NotificationKind.PAYMENT_REFUND_DUE, level=NotificationLevel.WARNING, email=False,
        dedupe_key=f"refund-due:{payment.pk}",
        title=f"A payment of {money(payment.amount, payment.currency)} will be refunded",
        message=f"{payment.note} No credits were added for it; it is refunded to the payer.",
        data={"payment": payment.pk, "top_up": str(top_up.pk) if top_up else None})


@shared_task(name="payments.tasks.top_up_paid_notify", bind=True, max_retries=5)
def top_up_paid_notify_task(self, top_up_id: str) -> list[str]:
    """The in-app notice and the receipt email with the PDF of a paid top-up (once); retried on mail errors."""
    try:
        return top_up_paid_notify(top_up_id=top_up_id)
    except OSError as exc:  # SMTP and network errors
        raise self.retry(exc=exc, countdown=30 * 2 ** self.request.retries)


@shared_task(name="payments.tasks.refund_due_notify")
def refund_due_notify_task(payment_id: int) -> None:
    """The notice of a payment to refund."""
    refund_due_notify(payment_id=payment_id)
