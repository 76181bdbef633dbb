"""Finance pages across orgs: the landing page, the cross-org usage report and the expired-credits report.

GET and HEAD only; view_ledger to see, export_ledger for CSV. Finance and platform staff see every org,
org admins the orgs they administer.
"""

from datetime import datetime, time, timedelta

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ledger.money import plain_decimal
from ledger.selectors import organizations_search
from ledger.times import iso_time, local_month

from . import crossorg
from .charts import closing_balances, credits_month_chart, line_chart, month_labels, usage_month_chart
from .csv import csv_response, stream_rows
from .forms import CrossOrgReportForm
from .panels import landing_panels
from .selectors import owned_accounts

EXPIRED_ROWS = 500
MAX_CHART_DAYS = 400


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def _require_ledger_reader(request):
    if not request.user.has_perm("ledger.view_ledger"):
        raise PermissionDenied("You may not view ledgers.")


@require_safe
@login_required
def landing(request):
    """Finance's landing page: totals per currency, usage today and this month, expiries due in 30 days,
    pending top-ups, negative balances, and the org search."""
    if not request.user.has_perm("ledger.view_ledger"):
        if owned_accounts(request.user).exists():
            return redirect("finance:my_ledger")
        raise PermissionDenied("You may not view ledgers.")
    organizations = crossorg.finance_organizations(request.user)
    today, month = crossorg.utc_day_start(), crossorg.utc_month_start()
    usage_today, usage_month = crossorg.usage_since(organizations, today), crossorg.usage_since(organizations, month)
    totals = [{**row, "currency": row["organization__currency"],
               "today": usage_today.get(row["organization__currency"]),
               "month": usage_month.get(row["organization__currency"])}
              for row in crossorg.currency_totals(organizations)]
    search = request.GET.get("q", "").strip()
    page = Paginator(organizations_search(organizations, search).order_by("name", "pk"), 50).get_page(
        request.GET.get("page"))
    return render(request, "finance/index.html", _context(
        request, title="Finance", breadcrumbs=[("Finance", None)], totals=totals, today=today, month=month,
        expiries=crossorg.expiries_due(organizations), negatives=crossorg.negative_balances(organizations),
        panels=landing_panels.render_list(request.user, organizations), page=page, search=search,
        horizon_days=crossorg.EXPIRY_HORIZON.days))


def _report_filters(request, *, months: int, all_currencies: bool):
    """(form, organizations, currency, start, end), or the form and Nones when the filters are invalid."""
    organizations = crossorg.finance_organizations(request.user)
    currencies = crossorg.currencies_of(organizations)
    form = CrossOrgReportForm(request.GET or None, currencies=currencies)
    if all_currencies:
        form.fields["currency"].choices = [("", "All currencies"), *form.fields["currency"].choices]
    if form.is_bound and not form.is_valid():
        return form, None, None, None, None
    data = form.cleaned_data if form.is_bound else {}
    currency = data.get("currency") or ("" if all_currencies else (currencies[0] if currencies else ""))
    if data.get("q"):
        organizations = organizations_search(organizations, data["q"])
    utc = timezone.UTC
    start = (datetime.combine(data["date_from"], time.min, tzinfo=utc) if data.get("date_from")
             else crossorg.default_range(months))
    end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=utc) if data.get("date_to") else None
    return form, organizations, currency, start, end


def _report_page(request, *, title: str, months: int, all_currencies: bool, crumb: str = ""):
    """A cross-org report's page context and its filters (organizations None when they are invalid)."""
    _require_ledger_reader(request)
    form, organizations, currency, start, end = _report_filters(request, months=months,
                                                                all_currencies=all_currencies)
    context = _context(request, title=title, form=form,
                       breadcrumbs=[("Finance", reverse("finance:index")), (crumb or title, None)],
                       can_export=request.user.has_perm("ledger.export_ledger"), query=request.GET.urlencode())
    return context, organizations, currency, start, end


def _export_filters(request, *, months: int, all_currencies: bool):
    """A CSV export's valid filters (orgs, currency, start, end): 403 without export_ledger, 404 when invalid."""
    _require_ledger_reader(request)
    if not request.user.has_perm("ledger.export_ledger"):
        raise PermissionDenied("You may not export ledgers.")
    form, organizations, currency, start, end = _report_filters(request, months=months,
                                                                all_currencies=all_currencies)
    if organizations is None:
        raise Http404("Invalid filters.")
    return organizations, currency, start, end


def _balance_chart(organizations, currency: str, start):
    days = min(max((timezone.now() - start).days + 1, 2), MAX_CHART_DAYS)
    postings, current = crossorg.fund_postings(organizations, currency)
    return line_chart(closing_balances(postings, current, timezone.UTC, days), currency=currency,
                      title=f"Balance of all {currency} orgs")


@require_safe
@login_required
def usage_report(request):
    """Usage across orgs in one currency: per org, per month and channel, with the three charts."""
    context, organizations, currency, start, end = _report_page(
        request, title="Usage across organizations", months=6, all_currencies=False)
    if organizations is None:
        return render(request, "finance/usage_overview.html", context, status=400)
    monthly = list(crossorg.usage_by_month_and_channel(organizations, currency, start, end))
    months = month_labels(start, end, timezone.UTC)
    credits = crossorg.credits_by_month(organizations, currency, start, end)
    by_org = crossorg.usage_by_organization(organizations, currency, start, end)
    context.update(
        currency=currency, start=start, end=end, by_org=by_org, monthly=monthly, credits=credits,
        total=sum((row["amount"] for row in by_org), crossorg.ZERO),
        usage_chart=usage_month_chart(monthly, tz=timezone.UTC, currency=currency, months=months) if currency else "",
        credits_chart=credits_month_chart(credits, tz=timezone.UTC, currency=currency, months=months)
        if currency else "",
        balance_chart=_balance_chart(organizations, currency, start) if currency else "",
    )
    return render(request, "finance/usage_overview.html", context)


@require_safe
@login_required
def usage_report_csv(request):
    """The cross-org usage of the filters by UTC month, org, channel, country and category."""
    organizations, currency, start, end = _export_filters(request, months=6, all_currencies=False)
    rows = (
        [local_month(row["month"], timezone.UTC), row["organization__name"],
         row["organization__wallet_id"], row["channel"], row["country"], row["category"], row["entries"],
         row["quantity"], plain_decimal(row["amount"]), currency]
        for row in crossorg.usage_by_month_and_channel(organizations, currency, start, end, by_organization=True)
        .iterator(chunk_size=2000)
    )
    header = ["month_utc", "organization", "wallet_id", "channel", "country", "category", "entries", "quantity",
              "amount", "currency"]
    return csv_response(stream_rows(header, rows), f"usage-{currency}-{start:%Y%m}.csv")


@require_safe
@login_required
def expired_report(request):
    """Expired credits across orgs, each with its lot's purchase order and grant date."""
    context, organizations, currency, start, end = _report_page(
        request, title="Expired credits across organizations", crumb="Expired credits", months=3,
        all_currencies=True)
    if organizations is None:
        return render(request, "finance/expired_credits.html", context, status=400)
    rows = list(crossorg.expired_credits(organizations, start, end, currency)[:EXPIRED_ROWS + 1])
    credits = crossorg.credits_by_month(organizations, currency, start, end) if currency else []
    context.update(
        currency=currency, start=start, end=end, rows=rows[:EXPIRED_ROWS], truncated=len(rows) > EXPIRED_ROWS,
        credits_chart=credits_month_chart(credits, tz=timezone.UTC, currency=currency,
                                          months=month_labels(start, end, timezone.UTC)) if currency else "",
    )
    return render(request, "finance/expired_credits.html", context)


@require_safe
@login_required
def expired_report_csv(request):
    """Every expired-credit entry of the filters, with the lot's purchase order, grant date and amount."""
    organizations, currency, start, end = _export_filters(request, months=3, all_currencies=True)
    rows = (
        [iso_time(txn.created_at, txn.organization), txn.organization.name, txn.organization.wallet_id,
         txn.account.name, plain_decimal(txn.amount), txn.currency,
         txn.lot.purchase_order if txn.lot_id else "",
         iso_time(txn.lot.granted_at, txn.organization) if txn.lot_id else "",
         plain_decimal(txn.lot.amount) if txn.lot_id else "", txn.pk]
        for txn in crossorg.expired_credits(organizations, start, end, currency).iterator(chunk_size=2000)
    )
    header = ["expired_at", "organization", "wallet_id", "account", "amount", "currency", "purchase_order",
              "granted_at", "granted_amount", "transaction_id"]
    return csv_response(stream_rows(header, rows), f"expired-credits-{start:%Y%m%d}.csv")
