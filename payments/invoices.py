"""Tax invoices: gap-free numbers per seller and financial year, and the PDF (fpdf2, pure Python).

A number is taken inside the settling transaction from the locked row of its series, so a settlement
that rolls back gives its number back and concurrent settlements queue on the row: no gaps, no
duplicates. The PDF uses the core Helvetica font (no font files to install), so text is printed in
Latin-1: other characters are transliterated.
"""

from datetime import datetime
from decimal import Decimal

from babel.numbers import format_decimal
from django.db import IntegrityError, transaction
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ledger.money import money

from .conf import Seller, plain, states
from .models import InvoiceSequence, TopUp


def invoice_number_next(*, seller: Seller, at: datetime) -> str:
    """The next number of the seller's series for the financial year of `at`, e.g. CR/2026-27/000042.

    Must run inside the transaction that uses the number (the settlement): the series row stays
    locked until it commits.
    """
    year = seller.financial_year(at)
    try:
        with transaction.atomic():
            InvoiceSequence.objects.get_or_create(seller_code=seller.code, financial_year=year)
    except IntegrityError:  # another settlement created the series first
        pass
    sequence = InvoiceSequence.objects.select_for_update().get(seller_code=seller.code, financial_year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{seller.invoice_prefix}/{year}/{sequence.last_number:06d}"


def latin1(text) -> str:
    """Text the PDF's core font can print: diacritics dropped, anything else outside Latin-1 as '?'."""
    return plain(str(text or "")).encode("latin-1", "replace").decode("latin-1")


def amount_text(amount: Decimal, currency: str) -> str:
    """INR 1,180.00: the currency code rather than a symbol the core font lacks (ledger.money.money)."""
    return money(amount, currency, code=True)


def _state_name(country: str, state: str) -> str:
    return states(country).get(state, state) if state else ""


def invoice_pdf(top_up: TopUp) -> bytes:
    """The tax invoice / receipt of a paid top-up as PDF bytes."""
    seller = top_up.seller
    currency = top_up.currency
    pdf = FPDF(format="A4")
    pdf.set_title(f"Tax invoice {top_up.invoice_number}")
    pdf.set_author(latin1(seller.get("name", "")))
    pdf.set_creator("Credits back office")
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=15)

    def line(text, size=10, style="", height=5, align="L"):
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, height, latin1(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line("TAX INVOICE / RECEIPT", size=16, style="B", height=9)
    line(seller.get("name", ""), size=11, style="B")
    line(seller.get("address", ""))
    seller_state = _state_name(seller.get("country", ""), seller.get("state", ""))
    if seller_state:
        line(f"State: {seller_state} ({seller.get('state')})")
    if seller.get("tax_id"):
        line(f"Tax ID (GSTIN): {seller['tax_id']}")
    pdf.ln(4)
    line(f"Invoice number: {top_up.invoice_number}", style="B")
    line(f"Invoice date: {top_up.invoice_date:%d %b %Y}")
    line(f"Top-up: {top_up.pk}")
    pdf.ln(4)
    line("Bill to", style="B")
    line(top_up.billing_name)
    line(top_up.billing_address)
    buyer_state = _state_name(top_up.billing_country, top_up.billing_state)
    line(f"Country: {top_up.billing_country}" + (f", state: {buyer_state} ({top_up.billing_state})"
                                                   if buyer_state else ""))
    if top_up.billing_tax_id:
        line(f"GSTIN / tax ID: {top_up.billing_tax_id}")
    line(f"Organization: {top_up.organization.name} (wallet {top_up.organization.wallet_id})")
    pdf.ln(5)

    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(110, 30, 50), text_align=("LEFT", "RIGHT", "RIGHT"), line_height=7) as table:
        table.row(["Description", "Rate", f"Amount ({currency})"])
        table.row([latin1(f"Messaging credits for {top_up.account.name}: {format_decimal(top_up.amount, locale='en')} "
                          f"credits (1 credit = 1 {currency})"), "", amount_text(top_up.amount, currency)])
        for tax in top_up.tax_lines:
            table.row([latin1(tax["name"]), f"{Decimal(tax['rate']).normalize():f}%",
                       amount_text(Decimal(tax["amount"]), currency)])
        table.row(["Total", "", amount_text(top_up.total, currency)])
    pdf.ln(5)
    line(f"Net amount: {amount_text(top_up.amount, currency)}")
    line(f"Tax: {amount_text(top_up.tax, currency)}")
    line(f"Total paid: {amount_text(top_up.total, currency)}", style="B")
    line(f"Currency: {currency}")
    pdf.ln(3)
    line(f"Paid by {top_up.get_provider_display()} on {top_up.paid_at:%d %b %Y %H:%M} UTC, "
         f"payment reference {top_up.provider_payment_id or top_up.provider_reference}.")
    line("Credits were added to the account when the payment succeeded.", size=8)
    return bytes(pdf.output())


def receipt_filename(top_up: TopUp) -> str:
    return f"invoice-{top_up.invoice_number.replace('/', '-')}.pdf"
