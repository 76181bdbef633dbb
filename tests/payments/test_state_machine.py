"""The top-up state machine through the webhook endpoint: settled exactly once whatever the provider does."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Notification, NotificationKind
from ledger import services as ledger
from ledger.errors import InvalidOperation
from ledger.invariants import check_invariants
from ledger.models import CreditLot, Posting, SystemAccount, Transaction
from payments import services
from payments.errors import TopUpNotPending
from payments.models import Payment, PaymentStatus, ProviderEvent, TopUp, TopUpStatus
from payments.providers import sandbox

from .conftest import BILLING_MH, BILLING_US
from .helpers import deliver, sandbox_body, start_top_up


def state(top_up) -> TopUp:
    return TopUp.objects.get(pk=top_up.pk)


def test_a_paid_top_up_grants_the_net_amount_and_books_clearing_and_tax(org, buyer,
                                                                      django_capture_on_commit_callbacks):
    master = org.master_account
    top_up = start_top_up(master, "1000", actor=buyer)
    assert (top_up.status, top_up.amount, top_up.tax, top_up.total) == ("pending", Decimal("1000"),
                                                                       Decimal("180.00"), Decimal("1180.00"))
    assert top_up.checkout_url.startswith("http://testserver/payments/sandbox/")
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(sandbox_body(top_up))
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    top_up = state(top_up)
    assert top_up.status == TopUpStatus.PAID and top_up.invoice_number.startswith("CR/")
    master.refresh_from_db()
    assert master.balance == Decimal("1000")
    lot = CreditLot.objects.get(account=master)
    assert (lot.source, lot.amount, lot.expires_at, lot.purchase_order) == ("purchase", Decimal("1000"), None,
                                                                           top_up.invoice_number)
    txn = top_up.transaction
    assert txn.kind == "purchase" and txn.reference == top_up.invoice_number
    lines = {(p.system_account.code if p.system_account_id else "account", p.amount)
             for p in Posting.objects.filter(transaction=txn).select_related("system_account")}
    assert lines == {("account", Decimal("1000")), (SystemAccount.Code.PAYMENTS_CLEARING, Decimal("-1180.00")),
                     (SystemAccount.Code.TAX_PAYABLE, Decimal("90.00"))}
    assert Posting.objects.filter(transaction=txn).count() == 4  # CGST and SGST each on tax payable
    assert sum(p.amount for p in Posting.objects.filter(transaction=txn)) == 0
    assert Payment.objects.get(top_up=top_up).status == PaymentStatus.APPLIED
    assert check_invariants() == []
    # confirmation: in-app notice and an email with the PDF to the buyer and the org's recipients
    assert Notification.objects.filter(organization=org, kind=NotificationKind.TOP_UP_PAID).count() == 1
    [message] = mail.outbox
    assert "admin@acme.example" in message.to and top_up.invoice_number in message.subject
    html = message.alternatives[0][0]
    for text in (message.body, html):  # tax lines through the one money formatter, like net and total
        assert "CGST 9%: ₹90.00" in text.replace("</td><td align=\"right\">", ": ")
        assert "SGST 9%: ₹90.00" in text.replace("</td><td align=\"right\">", ": ")
        assert " INR" not in text and "₹1,000.00" in text and "₹1,180.00" in text
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")


def test_a_webhook_delivered_twice_settles_once(org, buyer, django_capture_on_commit_callbacks):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    body = sandbox_body(top_up, event_id="evt_same")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(body).json()["outcome"] == "paid"
        again = deliver(body)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate event"
    assert Transaction.objects.filter(kind="purchase").count() == 1
    assert CreditLot.objects.filter(account=org.master_account).count() == 1
    assert len(mail.outbox) == 1


def test_a_second_success_for_a_paid_top_up_is_recorded_for_refund_not_granted(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    deliver(sandbox_body(top_up))
    outcome = deliver(sandbox_body(top_up)).json()["outcome"]  # another payment (another event id)
    assert outcome == "refund due: top-up paid"
    assert Transaction.objects.filter(kind="purchase").count() == 1
    assert Payment.objects.filter(top_up=top_up, status=PaymentStatus.REFUND_DUE).count() == 1
    org.master_account.refresh_from_db()
    assert org.master_account.balance == Decimal("500")


def test_out_of_order_failure_after_success_changes_nothing(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    deliver(sandbox_body(top_up))
    assert deliver(sandbox_body(top_up, "payment.failed")).json()["outcome"] == "ignored: top-up paid"
    assert state(top_up).status == TopUpStatus.PAID


def test_a_success_after_a_failed_attempt_still_pays_once(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    assert deliver(sandbox_body(top_up, "payment.failed")).json()["outcome"] == "failed"
    assert state(top_up).status == TopUpStatus.FAILED
    assert deliver(sandbox_body(top_up)).json()["outcome"] == "paid"
    assert state(top_up).status == TopUpStatus.PAID
    assert Transaction.objects.filter(kind="purchase").count() == 1


@pytest.mark.parametrize("header", ["", "t=1,v1=deadbeef", "garbage", None])
def test_a_bad_signature_is_400_and_changes_nothing(org, buyer, header):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    body = sandbox_body(top_up)
    response = deliver(body, secret="wrong-secret") if header is None else deliver(body, header=header)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert state(top_up).status == TopUpStatus.PENDING
    assert not ProviderEvent.objects.exists() and not Transaction.objects.filter(kind="purchase").exists()


def test_a_tampered_body_does_not_verify(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    body = sandbox_body(top_up)
    signature = sandbox.sign(body)
    response = deliver(body.replace(b"payment.succeeded", b"payment.failed"), header=signature)
    assert response.status_code == 400
    assert state(top_up).status == TopUpStatus.PENDING


def test_a_stale_event_is_refused(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    response = deliver(sandbox_body(top_up), at=int(time.time()) - 301)
    assert response.status_code == 400 and "five minutes" in str(response.json()["errors"])
    assert state(top_up).status == TopUpStatus.PENDING
    assert deliver(sandbox_body(top_up), at=int(time.time()) - 290).status_code == 200


def test_cancel_of_a_paid_top_up_is_refused(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    deliver(sandbox_body(top_up))
    with pytest.raises(TopUpNotPending):
        services.top_up_cancel(actor=buyer, top_up=top_up)
    assert state(top_up).status == TopUpStatus.PAID


def test_a_payment_after_cancel_is_recorded_and_flagged_for_refund(org, buyer, django_capture_on_commit_callbacks):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    services.top_up_cancel(actor=buyer, top_up=top_up)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(sandbox_body(top_up)).json()["outcome"] == "refund due: top-up cancelled"
    assert state(top_up).status == TopUpStatus.CANCELLED
    payment = Payment.objects.get(top_up=top_up)
    assert payment.status == PaymentStatus.REFUND_DUE and payment.amount == top_up.total
    assert not Transaction.objects.filter(kind="purchase").exists()
    assert Notification.objects.filter(kind=NotificationKind.PAYMENT_REFUND_DUE).count() == 1
    # a cancelled top-up can be replaced by one with another amount
    replacement = start_top_up(org.master_account, "750", actor=buyer)
    assert replacement.status == TopUpStatus.PENDING and replacement.amount == Decimal("750")


def test_a_pending_top_up_expires_after_24_hours_by_the_job(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    assert top_up.expires_at - top_up.created_at == timedelta(hours=24)
    assert services.top_ups_expire(at=top_up.created_at + timedelta(hours=23)) == 0
    assert services.top_ups_expire(at=top_up.created_at + timedelta(hours=24)) == 1
    assert state(top_up).status == TopUpStatus.EXPIRED
    assert services.top_ups_expire(at=top_up.created_at + timedelta(hours=25)) == 0
    assert deliver(sandbox_body(top_up)).json()["outcome"] == "refund due: top-up expired"
    assert not Transaction.objects.filter(kind="purchase").exists()


def test_the_expiry_task_is_on_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["expire-top-ups"]["task"] == "payments.tasks.expire_top_ups"


def test_an_amount_that_differs_from_the_total_is_not_granted(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    assert deliver(sandbox_body(top_up, amount="1.00")).json()["outcome"] == "refund due: amount differs"
    assert state(top_up).status == TopUpStatus.PENDING


def test_purchased_credits_get_the_orgs_purchase_expiry(org, buyer):
    ledger.organization_update(actor=ledger.SYSTEM, organization=org, purchase_expires_in="1Y")
    org.refresh_from_db()
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    deliver(sandbox_body(top_up))
    lot = CreditLot.objects.get(account=org.master_account)
    granted = lot.granted_at.astimezone(org.tz)
    assert lot.expires_at.astimezone(org.tz).date() == granted.date().replace(year=granted.year + 1)


def test_a_purchase_repays_a_negative_balance_first(org, buyer):
    master = org.master_account
    ledger.charge_create(actor=ledger.SYSTEM, account=master, channel="sms", unit_price="1", quantity=40,
                         traffic="transactional")
    top_up = start_top_up(master, "500", actor=buyer)
    deliver(sandbox_body(top_up))
    master.refresh_from_db()
    assert master.balance == Decimal("460")
    assert CreditLot.objects.get(account=master).remaining == Decimal("460")
    assert check_invariants() == []


def test_shared_subaccounts_cannot_be_bought_for_and_billing_is_checked(org, buyer):
    shared = org.accounts.get(name="Support")
    with pytest.raises(InvalidOperation) as caught:
        start_top_up(shared, "500", actor=buyer)
    assert "account" in caught.value.errors
    with pytest.raises(InvalidOperation) as caught:
        start_top_up(org.master_account, "500", actor=buyer, billing={**BILLING_MH, "state": ""})
    assert "billing.state" in caught.value.errors
    with pytest.raises(InvalidOperation) as caught:
        start_top_up(org.master_account, "500", actor=buyer, billing={**BILLING_MH, "tax_id": "29AAACC1234F1Z4"})
    assert "registered in Karnataka" in caught.value.errors["billing.tax_id"][0]
    with pytest.raises(InvalidOperation) as caught:
        start_top_up(org.master_account, "500", actor=buyer, billing={**BILLING_MH, "tax_id": "27ABC"})
    assert "GSTIN" in caught.value.errors["billing.tax_id"][0]


def test_a_usd_org_pays_no_tax(usd_org):
    top_up = start_top_up(usd_org.master_account, "100", billing=BILLING_US)
    assert top_up.tax == 0 and top_up.total == Decimal("100") and top_up.tax_lines == []
    deliver(sandbox_body(top_up))
    assert state(top_up).status == TopUpStatus.PAID


def test_database_constraints_back_the_state_machine(org, buyer):
    top_up = start_top_up(org.master_account, "500", actor=buyer)
    now = timezone.now()
    for changes in ({"status": "paid"}, {"status": "bogus"}, {"total": Decimal("1")},
                    {"status": "cancelled"}, {"invoice_number": "X/1"},
                    # the state machine's implications (migration payments 0003)
                    {"closed_at": now}, {"paid_at": now}, {"status": "failed"}, {"invoice_date": now.date()},
                    {"expires_at": state(top_up).created_at}, {"origin": "bogus"}, {"origin": "auto_recharge"},
                    {"auto_recharge_trigger": "x:1"}, {"currency": "inr"}, {"tax": Decimal("-1")},
                    {"amount": Decimal("0"), "total": Decimal("90")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            TopUp.objects.filter(pk=top_up.pk).update(**changes)
    assert timezone.now() < state(top_up).expires_at
    deliver(sandbox_body(top_up))
    for changes in ({"paid_at": None}, {"invoice_date": None}):
        with pytest.raises(IntegrityError), transaction.atomic():
            TopUp.objects.filter(pk=top_up.pk).update(**changes)
    payment = Payment.objects.get(top_up=top_up)
    for changes in ({"refunded_at": now}, {"status": "refunded"}, {"currency": "XX"}, {"amount": Decimal("0")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(**changes)
    TopUp.objects.filter(pk=top_up.pk).update(status="paid")  # what the services write passes
    Payment.objects.filter(pk=payment.pk).update(status="refunded", refunded_at=now)
