"""Tax invoices: the PDF parsed back shows the amounts and number; numbers gap-free per seller and financial
year, also with 8 threads settling different top-ups at once."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

import payments.services as payment_services
from ledger.invariants import check_invariants
from payments import services
from payments.conf import seller
from payments.invoices import invoice_pdf
from payments.models import InvoiceSequence, TopUp, TopUpStatus
from payments.providers.base import Event
from tests.concurrency import run_in_threads
from tests.factories import make_org

from .conftest import BILLING_MH, ensure_payment_defaults
from .helpers import deliver, sandbox_body, start_top_up


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_shows_seller_buyer_number_amounts_and_tax_lines(org, buyer):
    top_up = start_top_up(org.master_account, "1000", actor=buyer,
                          billing={**BILLING_MH, "tax_id": "27AAPFU0939F1ZV", "name": "Acme Retail Pvt Ltd"})
    deliver(sandbox_body(top_up))
    top_up = TopUp.objects.get(pk=top_up.pk)
    text = pdf_text(invoice_pdf(top_up))
    for expected in ("TAX INVOICE", "Credits Platform Pvt Ltd", "29AAACC1234F1Z4", top_up.invoice_number,
                     "Acme Retail Pvt Ltd", "27AAPFU0939F1ZV", "Maharashtra", "IGST", "18%", "INR 1,000.00",
                     "INR 180.00", "INR 1,180.00", top_up.provider_payment_id):
        assert expected in text, expected
    assert "CGST" not in text


def test_an_intra_state_invoice_lists_cgst_and_sgst(org, buyer):
    top_up = start_top_up(org.master_account, "100.05", actor=buyer)
    deliver(sandbox_body(top_up))
    text = pdf_text(invoice_pdf(TopUp.objects.get(pk=top_up.pk)))
    assert "CGST" in text and "SGST" in text and "INR 9.00" in text and "INR 118.05" in text


def test_financial_years_run_april_to_march_in_india_and_by_calendar_elsewhere(settings):
    india = seller()
    kolkata = ZoneInfo("Asia/Kolkata")
    assert india.financial_year(datetime(2026, 3, 31, 23, 59, tzinfo=kolkata)) == "2025-26"
    assert india.financial_year(datetime(2026, 4, 1, 0, 0, tzinfo=kolkata)) == "2026-27"
    # 31 March 19:00 UTC is already 1 April in India
    assert india.financial_year(datetime(2026, 3, 31, 19, 0, tzinfo=ZoneInfo("UTC"))) == "2026-27"
    settings.PAYMENTS_SELLER = {**settings.PAYMENTS_SELLER, "country": "US", "financial_year_start_month": 0}
    assert seller().financial_year(datetime(2026, 12, 31, 12, tzinfo=ZoneInfo("UTC"))) == "2026"
    settings.PAYMENTS_SELLER = {**settings.PAYMENTS_SELLER, "financial_year_start_month": 7}
    assert seller().financial_year(datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("UTC"))) == "2025-26"


def test_numbers_follow_each_other_and_restart_each_financial_year(org, buyer):
    numbers = []
    for at in (datetime(2026, 3, 30, 12, tzinfo=ZoneInfo("UTC")), datetime(2026, 3, 31, 12, tzinfo=ZoneInfo("UTC")),
               datetime(2026, 4, 2, 12, tzinfo=ZoneInfo("UTC"))):
        top_up = start_top_up(org.master_account, "100", actor=buyer)
        services.payment_event_process(provider="sandbox", at=at, event=Event(
            event_id=f"e{at:%d}", type="payment.succeeded", outcome="succeeded", payload={},
            top_up_id=str(top_up.pk), payment_id=f"p{at:%d}", amount=top_up.total, currency="INR"))
        numbers.append(TopUp.objects.get(pk=top_up.pk).invoice_number)
    assert numbers == ["CR/2025-26/000001", "CR/2025-26/000002", "CR/2026-27/000001"]


@pytest.mark.django_db(transaction=True)
def test_eight_threads_settling_different_top_ups_keep_numbers_gap_free(postgres_only):
    ensure_payment_defaults()
    top_ups = []
    for index in range(8):
        org = make_org(name=f"Org {index}")
        top_ups.append(start_top_up(org.master_account, "100"))
    # a settlement that fails after taking its number gives it back (rolled back with the transaction)
    results = run_in_threads(8, lambda index: deliver(sandbox_body(top_ups[index])).json()["outcome"])
    assert results == ["paid"] * 8
    numbers = sorted(TopUp.objects.filter(status=TopUpStatus.PAID).values_list("invoice_number", flat=True))
    year = seller().financial_year(TopUp.objects.first().paid_at)
    assert numbers == [f"CR/{year}/{n:06d}" for n in range(1, 9)]
    assert InvoiceSequence.objects.get(seller_code="test", financial_year=year).last_number == 8
    assert check_invariants() == []


@pytest.mark.django_db(transaction=True)
def test_a_settlement_that_rolls_back_gives_its_number_back(postgres_only, monkeypatch):
    ensure_payment_defaults()
    first = start_top_up(make_org(name="A").master_account, "100")
    second = start_top_up(make_org(name="B").master_account, "100")
    real = payment_services.purchase_settle

    def broken(**kwargs):
        real(**kwargs)
        raise RuntimeError("the database went away after the booking")

    monkeypatch.setattr(payment_services, "purchase_settle", broken)
    with pytest.raises(RuntimeError):
        deliver(sandbox_body(first))
    monkeypatch.setattr(payment_services, "purchase_settle", real)
    assert TopUp.objects.get(pk=first.pk).status == TopUpStatus.PENDING
    deliver(sandbox_body(second))
    assert TopUp.objects.get(pk=second.pk).invoice_number.endswith("/000001")
