"""The finance page of payments (/admin/finance/payments/): payments per provider, currency and month, tax
collected, pending and failed top-ups, payments to refund and the reconciliation, each also as CSV."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ledger.finance.csv import csv_response, stream_rows
from ledger.finance.filters import local_midnight
from ledger.finance.forms import ReportRangeForm
from ledger.selectors import organizations_openable_by, organizations_search

from . import reports

TABLES = ("payments", "tax", "open", "reconciliation")


def _organizations(request):
    organizations = organizations_openable_by(request.user)
    query = request.GET.get("q", "").strip()
    return organizations_search(organizations, query) if query else organizations


def _csv(table: str, organizations, start, end):
    if table == "payments":
        header = ["month", "provider", "currency", "payments", "amount", "for_top_ups", "for_invoices"]
        rows = ((row["month"].strftime("%Y-%m"), row["provider"], row["currency"], row["payments"], row["received"],
                 row["for_top_ups"], row["for_invoices"]) for row in reports.payments_received(organizations, start, end))
    elif table == "tax":
        header = ["month", "currency", "tax_line", "rate_percent", "invoices", "amount"]
        rows = ((row["month"].strftime("%Y-%m"), row["currency"], row["name"], row["rate"],
                 row["invoices"], row["amount"]) for row in reports.tax_collected(organizations, start, end))
    elif table == "open":
        header = ["created_at", "status", "organization", "wallet_id", "account", "amount", "tax", "total",
                  "currency", "provider", "reference", "failure_reason", "top_up_id"]
        rows = ((t.created_at.isoformat(), t.status, t.organization.name, t.organization.wallet_id,
                 t.account.name, t.amount, t.tax, t.total, t.currency, t.provider,
                 t.provider_reference, t.failure_reason, t.pk)
                for t in reports.open_top_ups(organizations, start, end))
    else:
        header = ["currency", "payments_received", "credits_purchased", "tax", "payments_clearing", "difference"]
        rows = ((row["currency"], row["payments"], row["credits"], row["tax"], row["cleared"], row["difference"])
                for row in reports.reconciliation(organizations, start, end))
    return csv_response(stream_rows(header, rows), f"payments-{table}-{timezone.now():%Y%m%d-%H%M%S}.csv")


@require_safe
@login_required
def payments_report(request):
    """Payments, tax, open top-ups and the reconciliation over a date range (UTC), for the orgs in scope."""
    if not (request.user.has_perm("ledger.view_ledger") and request.user.has_perm("payments.view_topup")):
        raise PermissionDenied("You may not view payment reports.")
    form = ReportRangeForm(request.GET or None)
    organizations = _organizations(request)
    now = timezone.now()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    start = local_midnight(data["date_from"], timezone.UTC) if data.get("date_from") else (
        now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=365)).replace(day=1)
    end = local_midnight(data["date_to"] + timedelta(days=1), timezone.UTC) if data.get("date_to") else None
    table = request.GET.get("format") == "csv" and request.GET.get("table")
    if table in TABLES:
        if not request.user.has_perm("ledger.export_ledger"):
            raise PermissionDenied("You may not export reports.")
        return _csv(table, organizations, start, end)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context = {
        **admin.site.each_context(request), "title": "Payments and tax", "form": form, "start": start, "end": end,
        "breadcrumbs": [("Finance", reverse("finance:index")), ("Payments and tax", None)],
        "payments": reports.payments_received(organizations, start, end),
        "tax": reports.tax_collected(organizations, start, end),
        "open": reports.open_top_ups(organizations, start, end, limit=200),
        "refunds": reports.refunds_due(organizations)[:200],
        "reconciliation": reports.reconciliation(organizations, start, end),
        "query": query.urlencode(), "search": request.GET.get("q", ""),
        "can_export": request.user.has_perm("ledger.export_ledger"),
        "can_record": request.user.has_perm("payments.record_payment"),
    }
    return render(request, "payments/finance_report.html", context, status=400 if form.errors else 200)
