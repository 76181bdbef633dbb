"""Finance pages: ledgers, reports, CSV exports and print views (server-rendered, read-only).

Every view answers GET and HEAD only (anything else is 405): these pages never write. Access:
login required; finance, platform staff and superusers see every org, org admins their own orgs
(all with the view_ledger permission, export_ledger for CSV); subaccount owners see only the
last 30 days of their own subaccounts.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.views.decorators.http import require_safe

from ledger.models import Organization
from ledger.money import money, plain_decimal
from ledger.selectors import entry_kind
from ledger.templatetags.console import category_label, channel_label, count, unit_price
from ledger.times import iso_time, local_month, local_time

from . import charts, reports
from .csv import csv_response, entry_lines, stream_rows
from .filters import LedgerFilter, local_midnight
from .forms import AsOfForm, ReportRangeForm
from .selectors import (
    ENTRY_KIND_LABELS,
    PAGE_SIZE,
    LedgerScope,
    apply_entry_filters,
    can_view_organization_ledger,
    decode_cursor,
    encode_cursor,
    entries_with_details,
    keyset_page,
    owned_accounts,
    reconcile,
    scope_balance_at,
    scope_totals,
    viewable_account,
    viewable_organization,
)

PRINT_PAGE_SIZE = 1000
TOPUPS_PAGE_SIZE = 50  # the reports page's top-ups and removals, paged by keyset; the CSV has them all
RECENT_DAYS = 30


def _admin_url(name: str, *args) -> str | None:
    """An admin URL if the admin registers it (the org and account admins are another module's)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


@dataclass
class EntryRow:
    """One ledger line as a page shows it: the values, and their texts formatted once here (`*_text`) so
    the template only prints them (a page of 50 rows paid about 20 template filter calls per row)."""

    posting_id: int
    transaction_id: int
    date: object
    kind: str
    amount: Decimal
    balance_after: Decimal | None
    account: str
    subaccount: str
    actor: str
    reference: str
    memo: str
    channel: str
    country: str
    category: str
    quantity: int | None
    unit_price: Decimal | None
    date_text: str = ""
    kind_text: str = ""
    channel_text: str = ""
    amount_text: str = ""
    balance_text: str = ""
    reference_text: str = ""
    category_text: str = ""
    quantity_text: str = ""
    unit_price_text: str = ""
    has_details: bool = False


def _rows(scope: LedgerScope, postings) -> list[EntryRow]:
    tz = scope.organization.tz
    currency = scope.organization.currency
    rows = []
    for posting in postings:
        txn = posting.transaction
        kind = entry_kind(txn.kind, posting.amount)
        balance_after = posting.balance_after if scope.has_balance else None
        subaccount = txn.subaccount.name if txn.subaccount_id else ""
        rows.append(EntryRow(
            posting_id=posting.pk, transaction_id=txn.pk, date=txn.created_at.astimezone(tz),
            kind=kind, amount=posting.amount, balance_after=balance_after,
            account=posting.account.name if posting.account else "",
            subaccount=subaccount, actor=txn.actor_label,
            reference=txn.reference, memo=txn.memo, channel=txn.channel, country=txn.country,
            category=txn.category, quantity=txn.quantity, unit_price=txn.unit_price,
            date_text=local_time(txn.created_at, tz), kind_text=ENTRY_KIND_LABELS.get(kind, kind),
            channel_text=channel_label(txn.channel), amount_text=_money_text(posting.amount, currency),
            balance_text=_money_text(balance_after, currency),
            reference_text=Truncator(txn.reference or txn.memo).chars(40),
            category_text=category_label(txn.category), quantity_text=count(txn.quantity) if txn.quantity else "",
            unit_price_text=unit_price(txn.unit_price, currency),
            has_details=bool(txn.country or txn.category or txn.quantity or txn.unit_price is not None
                             or subaccount or txn.memo),
        ))
    return rows


def _money_text(amount, currency: str) -> str:
    """What the `money` filter shows: empty for None."""
    return "" if amount is None else money(amount, currency)


def _ledger(request, scope: LedgerScope, *, mode: str, title: str, breadcrumbs: list, urls: dict,
            recent_only: bool = False, can_export: bool = True):
    """The shared body of every ledger page: filter, totals, reconciliation, a keyset page, CSV or print."""
    filterset = LedgerFilter(request.GET or None, scope=scope)
    if request.GET and not filterset.is_valid():
        return render(request, "finance/ledger.html", _context(
            request, title=title, scope=scope, filter=filterset, breadcrumbs=breadcrumbs, urls=urls,
            invalid=True, recent_only=recent_only, can_export=can_export), status=400)
    values = filterset.clean_values()
    if recent_only:
        since = timezone.now() - timedelta(days=RECENT_DAYS)
        values["start"] = max(values["start"] or since, since)
    queryset = apply_entry_filters(scope, scope.postings(), **values)
    if mode == "csv":
        if not can_export:
            raise PermissionDenied("You may not export ledgers.")
        filename = f"ledger-{scope.organization.wallet_id}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return csv_response(entry_lines(scope, queryset, show_balance=scope.has_balance), filename)
    totals = scope_totals(scope, queryset, **values)
    reconciliation = reconcile(scope, start=values["start"], end=values["end"], shown=totals,
                               filtered=filterset.narrowed)
    size = PRINT_PAGE_SIZE if mode == "print" else PAGE_SIZE
    page = keyset_page(scope, entries_with_details(queryset), after=request.GET.get("after", ""),
                       before=request.GET.get("before", ""), size=size)
    as_of_form = AsOfForm(request.GET or None, tz=scope.organization.tz)
    as_of = balance_as_of = None
    if scope.has_balance and as_of_form.is_bound and as_of_form.is_valid() and as_of_form.cleaned_data.get("as_of"):
        as_of = as_of_form.cleaned_data["as_of"]
        balance_as_of = scope_balance_at(scope, as_of, inclusive=True)
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    context = _context(
        request, title=title, scope=scope, organization=scope.organization, currency=scope.organization.currency,
        filter=filterset, totals=totals, reconciliation=reconciliation, rows=_rows(scope, page.entries), page=page,
        breadcrumbs=breadcrumbs, urls=urls, query=query.urlencode(), as_of_form=as_of_form, as_of=as_of,
        balance_as_of=balance_as_of, range_start=values["start"], range_end=values["end"],
        recent_only=recent_only, recent_days=RECENT_DAYS, can_export=can_export, now=timezone.now(),
    )
    template = "finance/ledger_print.html" if mode == "print" else "finance/ledger.html"
    with timezone.override(scope.organization.tz):
        return render(request, template, context)


def _organization_crumbs(organization: Organization) -> list:
    return [
        ("Finance", reverse("finance:index")),
        (str(organization), _admin_url("admin:ledger_organization_change", organization.pk)),
    ]


def _organization_ledger(request, organization_id, mode):
    organization = viewable_organization(request.user, organization_id)
    if organization is None:
        raise Http404("No such organization.")
    scope = LedgerScope(organization)
    args = [organization.pk]
    urls = {name: reverse(f"finance:org_ledger{suffix}", args=args)
            for name, suffix in (("page", ""), ("csv", "_csv"), ("print", "_print"))}
    urls["reports"] = reverse("finance:reports", args=args)
    return _ledger(request, scope, mode=mode, title=f"Ledger: {organization.name}",
                   breadcrumbs=[*_organization_crumbs(organization), ("Ledger", None)], urls=urls,
                   can_export=request.user.has_perm("ledger.export_ledger"))


def _account_ledger(request, account_id, mode):
    account = viewable_account(request.user, account_id)
    if account is None:
        raise Http404("No such account.")
    organization = account.organization
    scope = LedgerScope(organization, account)
    args = [account.pk]
    urls = {name: reverse(f"finance:account_ledger{suffix}", args=args)
            for name, suffix in (("page", ""), ("csv", "_csv"), ("print", "_print"))}
    if can_view_organization_ledger(request.user, organization):
        urls["organization"] = reverse("finance:org_ledger", args=[organization.pk])
        urls["reports"] = reverse("finance:reports", args=[organization.pk])
        crumbs = _organization_crumbs(organization)
    else:
        crumbs = [("Finance", None)]
    crumbs = [*crumbs, (account.name, _admin_url("admin:ledger_account_change", account.pk)), ("Ledger", None)]
    return _ledger(request, scope, mode=mode, title=f"Ledger: {organization.name} / {account.name}",
                   breadcrumbs=crumbs, urls=urls, can_export=request.user.has_perm("ledger.export_ledger"))


def _my_ledger(request, account_id, mode):
    account = owned_accounts(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such subaccount of yours.")
    scope = LedgerScope(account.organization, account)
    args = [account.pk]
    urls = {name: reverse(f"finance:my_account_ledger{suffix}", args=args)
            for name, suffix in (("page", ""), ("csv", "_csv"), ("print", "_print"))}
    crumbs = [("My ledger", reverse("finance:my_ledger")), (account.name, None)]
    return _ledger(request, scope, mode=mode, title=f"Last {RECENT_DAYS} days: {account.name}",
                   breadcrumbs=crumbs, urls=urls, recent_only=True, can_export=True)


def _viewer(mode):
    def decorate(function):
        @require_safe
        @login_required
        def view(request, **kwargs):
            return function(request, *kwargs.values(), mode)

        view.__name__ = f"{function.__name__.lstrip('_')}_{mode}"
        view.__doc__ = function.__doc__
        return view

    return decorate


org_ledger = _viewer("page")(_organization_ledger)
org_ledger_csv = _viewer("csv")(_organization_ledger)
org_ledger_print = _viewer("print")(_organization_ledger)
account_ledger = _viewer("page")(_account_ledger)
account_ledger_csv = _viewer("csv")(_account_ledger)
account_ledger_print = _viewer("print")(_account_ledger)
my_account_ledger = _viewer("page")(_my_ledger)
my_account_ledger_csv = _viewer("csv")(_my_ledger)
my_account_ledger_print = _viewer("print")(_my_ledger)


@require_safe
@login_required
def my_ledger(request):
    """A subaccount user's own subaccounts; straight to the ledger when there is one."""
    accounts = list(owned_accounts(request.user).order_by("organization__name", "name"))
    if len(accounts) == 1:
        return redirect("finance:my_account_ledger", account_id=accounts[0].pk)
    return render(request, "finance/my_accounts.html", _context(
        request, title="My ledger", accounts=accounts, breadcrumbs=[("My ledger", None)], days=RECENT_DAYS))


# --- reports ---------------------------------------------------------------------------------------------


def _report_range(request, organization: Organization):
    form = ReportRangeForm(request.GET or None)
    tz = organization.tz
    if form.is_bound and not form.is_valid():
        return form, None, None
    data = form.cleaned_data if form.is_bound else {}
    start = local_midnight(data["date_from"], tz) if data.get("date_from") else reports.months_back(organization, 12)
    end = local_midnight(data["date_to"] + timedelta(days=1), tz) if data.get("date_to") else None
    return form, start, end


@require_safe
@login_required
def organization_reports(request, org_id):
    """Usage by channel, country, category and month; WhatsApp conversations; credits; top-ups and removals."""
    organization = viewable_organization(request.user, org_id)
    if organization is None:
        raise Http404("No such organization.")
    form, start, end = _report_range(request, organization)
    context = _context(
        request, title=f"Reports: {organization.name}", organization=organization, form=form,
        currency=organization.currency, can_export=request.user.has_perm("ledger.export_ledger"),
        breadcrumbs=[*_organization_crumbs(organization), ("Reports", None)],
        ledger_url=reverse("finance:org_ledger", args=[organization.pk]),
    )
    if start is None:
        return render(request, "finance/reports.html", context, status=400)
    query = request.GET.copy()
    query.pop("topups_after", None)
    topups, topups_next = _topups_page(organization, start, end, request.GET.get("topups_after", ""))
    usage = reports.usage_report(organization, start, end)
    credits = reports.credits_per_month(organization, start, end)
    days = min(max(((end or timezone.now()) - start).days + 1, 2), charts.MAX_SERIES_DAYS)
    context.update(
        start=start, end=end, usage=usage, credits=credits, usage_month_rows=_usage_month_rows(usage["rows"], organization),
        whatsapp=reports.whatsapp_conversations(organization, start, end),
        usage_chart=charts.usage_month_chart(usage["rows"], tz=organization.tz, currency=organization.currency,
                                             months=(months := charts.month_labels(start, end, organization.tz))),
        credits_chart=charts.credits_month_chart(credits, tz=organization.tz, currency=organization.currency,
                                                 months=months),
        balance_chart=charts.line_chart(charts.balance_series(organization, days=days), currency=organization.currency,
                                        title=f"Org total balance, last {days} days"),
        topups=[(txn, reports.signed_amount(txn)) for txn in topups], topups_next=topups_next,
        topups_paged=bool(request.GET.get("topups_after")), query=query.urlencode(),
    )
    with timezone.override(organization.tz):
        return render(request, "finance/reports.html", context)


def _usage_month_rows(rows: list[dict], organization: Organization) -> list[dict]:
    """The texts of the usage-by-month table (a year of a busy org is some 150 rows), formatted once here."""
    currency = organization.currency
    return [{"month": local_month(row["month"], organization), "channel": channel_label(row["channel"]),
             "country": row["country"], "category": category_label(row["category"]), "entries": count(row["entries"]),
             "quantity": count(row["quantity"]), "amount": _money_text(row["amount"], currency)} for row in rows]


def _topups_page(organization: Organization, start, end, after: str) -> tuple[list, str | None]:
    """One page of the report's top-ups and removals, newest first, and the cursor of the next (older) one."""
    queryset = reports.topups_and_removals(organization, start, end)
    key = decode_cursor(after)
    if key is not None:
        moment, pk = key
        queryset = queryset.filter(Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(pk__lt=pk)))
    rows = list(queryset[:TOPUPS_PAGE_SIZE + 1])
    older = len(rows) > TOPUPS_PAGE_SIZE
    rows = rows[:TOPUPS_PAGE_SIZE]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].pk) if older else None


def _exportable_organization(request, org_id) -> Organization:
    organization = viewable_organization(request.user, org_id)
    if organization is None:
        raise Http404("No such organization.")
    if not request.user.has_perm("ledger.export_ledger"):
        raise PermissionDenied("You may not export ledgers.")
    return organization


@require_safe
@login_required
def usage_csv(request, org_id):
    """Usage of the past six local months (this one included) by month, channel, country, category, subaccount."""
    organization = _exportable_organization(request, org_id)
    start = reports.months_back(organization, 6)
    rows = (
        (local_month(row["month"], organization), row["channel"], row["country"],
         row["category"], row["subaccount__name"], row["entries"], row["quantity"],
         plain_decimal(row["amount"]), organization.currency)
        for row in reports.usage_queryset(organization, start, None, by_subaccount=True).iterator(chunk_size=2000)
    )
    header = ["month", "channel", "country", "category", "subaccount", "entries", "quantity", "amount", "currency"]
    return csv_response(stream_rows(header, rows), f"usage-{organization.wallet_id}-{start:%Y%m}-6M.csv")


@require_safe
@login_required
def topups_csv(request, org_id):
    """Top-ups and removals of the report's range with purchase order numbers."""
    organization = _exportable_organization(request, org_id)
    form, start, end = _report_range(request, organization)
    if start is None:
        raise Http404("Invalid date range.")
    tz = organization.tz
    rows = (
        (iso_time(txn.created_at, tz), txn.kind, plain_decimal(reports.signed_amount(txn)), txn.currency,
         txn.account.name, txn.lot.purchase_order if txn.lot_id else txn.reference,
         iso_time(txn.lot.expires_at, tz) if txn.lot_id and txn.lot.expires_at else "",
         txn.actor_label, txn.memo, txn.pk)
        for txn in reports.topups_and_removals(organization, start, end).iterator(chunk_size=2000)
    )
    header = ["date", "kind", "amount", "currency", "account", "purchase_order", "expires_at", "actor", "comment",
              "transaction_id"]
    return csv_response(stream_rows(header, rows), f"topups-{organization.wallet_id}.csv")

