"""The org dashboard of the console: org total and master balance, status, accounts, lots, latest entries,
the rate card in force and the next one, and links to the org's other pages."""

from collections.abc import Callable
from datetime import timedelta

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts.selectors import alert_settings_for
from ledger.compiled import SENTINEL_INSTANT, SENTINEL_INT, SENTINEL_UUID, CompiledQuery
from ledger.finance.selectors import can_view_organization_ledger
from ledger.models import ZERO, Account, BalanceMode, CreditLot, Hold, HoldStatus, Organization, Posting
from ledger.money import money, rate
from ledger.services.rules import is_blocked
from ledger.times import local_time
from ratecards.models import Rate, RateCardVersion
from ratecards.selectors import RATE_ORDER, versions_pending

from .status import BalanceStatus, account_threshold

LATEST_ENTRIES = 20
LOTS_SHOWN = 50
# An org may have thousands of subaccounts: the page lists the master and the first ones by name, the account
# list has them all (the totals above the table count every account).
ACCOUNTS_SHOWN = 25
RATES_SHOWN = 30  # rates of the card in force listed on the dashboard


def admin_url(name: str, *args) -> str | None:
    """An admin URL, or None when the app that registers it is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def url_maker(viewname: str) -> Callable[[object], str]:
    """`reverse(viewname, args=[pk])` for the rows of a table at the cost of one reverse(), for pks that are
    integers or UUIDs (nothing in them to quote): the URL is reversed once with a marker, then filled in."""
    marker = "00000000-0000-0000-0000-00000000feed"
    head, tail = reverse(viewname, args=[marker]).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


# The dashboard's reads, compiled to SQL once per process (ledger/compiled.py): Django spent longer building
# and compiling each of these querysets than PostgreSQL spends running it.
ORGANIZATION_ACCOUNTS = CompiledQuery(
    lambda organization_id: Account.objects.filter(organization_id=organization_id)
    .select_related("owner", "alert_threshold")
    .annotate(active_holds=Coalesce(Subquery(
        Hold.objects.filter(account=OuterRef("pk"), status=HoldStatus.ACTIVE).order_by()
        .values("account").annotate(count=Count("pk")).values("count")), 0))
    .order_by("-is_master", "name"),
    organization_id=SENTINEL_UUID)

ACTIVE_LOTS = CompiledQuery(
    lambda organization_id, at: CreditLot.objects.filter(account__organization_id=organization_id, remaining__gt=0)
    .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at)).select_related("account", "created_by")
    .order_by(F("expires_at").asc(nulls_last=True), "granted_at")[:LOTS_SHOWN],
    organization_id=SENTINEL_UUID, at=SENTINEL_INSTANT)


def organization_dashboard(request, org: Organization, *, status: str, tools: list[dict]) -> dict:
    """Everything the org page shows above its settings."""
    at = timezone.now()
    cur = org.currency
    accounts = ORGANIZATION_ACCOUNTS(organization_id=org.pk)
    for account in accounts:
        account.organization = org
    master = next(account for account in accounts if account.is_master)
    limit_expires = master.credit_limit_expires_at(at)
    threshold = account_threshold(master)
    org_total = sum((account.balance for account in accounts if account.balance_mode == BalanceMode.OWN), ZERO)
    breakdown = {
        "org_total": money(org_total, cur), "org_total_negative": org_total < 0,
        "funds_accounts": sum(1 for account in accounts if account.balance_mode == BalanceMode.OWN),
        "balance": money(master.balance, cur), "balance_negative": master.balance < 0,
        "credit_limit": money(master.effective_credit_limit(at), cur),
        "permanent_limit": money(master.credit_limit, cur) if limit_expires else None,
        "limit_expires_at": local_time(limit_expires, org) if limit_expires else None,
        "held": money(master.held, cur), "available": money(master.available(at), cur),
        "status": BalanceStatus(status), "low": status != BalanceStatus.OK,
        "threshold": money(threshold, cur) if threshold else None,
        "blocked": is_blocked(org, master.available(at)), "floor": money(org.spending_floor, cur),
    }
    account_url = url_maker("admin:ledger_account_change")
    account_rows = [{
        "account": account, "url": account_url(account.pk),
        "mode": "Master" if account.is_master else account.get_balance_mode_display(),
        "shared": account.balance_mode == BalanceMode.SHARED,
        "balance": money(account.balance, cur), "held": money(account.held, cur),
        "credit_limit": money(account.effective_credit_limit(at), cur),
        "available": money(account.available(at), cur),
        "threshold": money(account_threshold(account), cur) if account.balance_mode == BalanceMode.OWN else "",
        "own_threshold": hasattr(account, "alert_threshold"),
    } for account in accounts[:ACCOUNTS_SHOWN]]
    lots = ACTIVE_LOTS(organization_id=org.pk, at=at)
    lot_rows = [{
        "lot": lot, "remaining": money(lot.remaining, cur), "amount": money(lot.amount, cur),
        "granted": local_time(lot.granted_at, org), "expires": local_time(lot.expires_at, org) if lot.expires_at else "never",
        "expires_soon": lot.expires_at is not None and lot.expires_at - at <= timedelta(days=30),
    } for lot in lots]
    postings = LATEST_POSTINGS(organization_id=org.pk)
    transaction_url = url_maker("admin:ledger_transaction_change")
    entry_rows = [{
        "posting": posting, "txn": posting.transaction, "amount": money(posting.amount, cur),
        "credit": posting.amount > 0, "balance_after": money(posting.balance_after, cur),
        "when": local_time(posting.created_at, org),
        "url": transaction_url(posting.transaction_id),
    } for posting in postings]
    active_holds = sum(account.active_holds for account in accounts)
    user = request.user
    links = organization_links(request, org)
    return {
        "organization": org, "breakdown": breakdown, "account_rows": account_rows, "accounts_total": len(accounts),
        "accounts_url": reverse("admin:ledger_account_changelist") + f"?organization__id__exact={org.pk}",
        "lot_rows": lot_rows,
        "entry_rows": entry_rows, "rate_card": rate_card_context(org, at), "action_tools": tools,
        "active_holds": active_holds,
        "ledger_url": reverse("admin:ledger_transaction_changelist") + f"?organization__id__exact={org.pk}",
        "holds_url": reverse("admin:ledger_hold_changelist") + f"?account__organization__id__exact={org.pk}",
        "can_view_ledger": user.has_perm("ledger.view_transaction"),
        "org_links": links,
        "rate_card_url": next((link["url"] for link in links if link["slug"] == "rate-card"), None),
    }


RATE_CARD_IN_FORCE = CompiledQuery(
    lambda organization_id, at: RateCardVersion.objects.filter(organization_id=organization_id).in_force(at)
    .select_related("created_by")[:1],
    organization_id=SENTINEL_UUID, at=SENTINEL_INSTANT)

RATE_CARDS_PENDING = CompiledQuery(
    lambda organization_id, at: versions_pending(organization_id, at).select_related("created_by"),
    organization_id=SENTINEL_UUID, at=SENTINEL_INSTANT)

FIRST_RATES = CompiledQuery(  # one more than shown tells whether there are more
    lambda version_id: Rate.objects.filter(version_id=version_id).order_by(*RATE_ORDER)[:RATES_SHOWN + 1],
    version_id=SENTINEL_INT)

LATEST_POSTINGS_SQL = """
SELECT p.id FROM ledger_account a
CROSS JOIN LATERAL (
    SELECT p.id, p.created_at FROM ledger_posting p WHERE p.account_id = a.id
    ORDER BY p.created_at DESC, p.id DESC LIMIT %s
) p
WHERE a.organization_id = %s
ORDER BY p.created_at DESC, p.id DESC LIMIT %s
"""


def latest_postings_queryset(organization_id) -> QuerySet[Posting]:
    """The org's LATEST_ENTRIES newest postings, newest first, with their transactions and accounts.

    On PostgreSQL the ids come from the newest LATEST_ENTRIES of each account (one short walk of
    posting_account_newest per account), merged: ordering postings org-wide would read all of them.
    """
    if connection.vendor == "postgresql":
        newest = RawSQL(LATEST_POSTINGS_SQL, [LATEST_ENTRIES, organization_id, LATEST_ENTRIES])  # noqa: S611 - constant SQL
    else:  # SQLite (make run's zero-setup database) has no LATERAL: few rows anyway
        newest = (Posting.objects.filter(account__organization_id=organization_id).order_by("-created_at", "-id")
                  .values("id")[:LATEST_ENTRIES])
    return (Posting.objects.filter(pk__in=newest).select_related("transaction", "transaction__actor_user", "account")
            .order_by("-created_at", "-id"))


LATEST_POSTINGS = CompiledQuery(latest_postings_queryset, organization_id=SENTINEL_UUID)


def organization_links(request, org: Organization) -> list[dict]:
    """Links from the org page to the org's other pages the user may open (activity, finance, rate card, alerts)."""
    user = request.user
    links = []
    if can_view_organization_ledger(user, org):
        links += [{"slug": "activity", "title": "Activity timeline",
                   "url": reverse("finance:activity", args=[org.pk])},
                  {"slug": "finance-ledger", "title": "Finance ledger",
                   "url": reverse("finance:org_ledger", args=[org.pk])},
                  {"slug": "reports", "title": "Reports", "url": reverse("finance:reports", args=[org.pk])}]
    if user.has_perm("ledger.view_account"):
        links.append({"slug": "users-credits", "title": "Users' credits",
                      "url": reverse("selfservice:organization_credits", args=[org.pk])})
    if user.has_perm("ratecards.view_ratecardversion"):
        url = admin_url("admin:ratecards_ratecardversion_organization", org.pk)
        if url:
            links.append({"slug": "rate-card", "title": "Rate card and history", "url": url})
    url = None
    settings_id = alert_settings_for(org).pk  # None: the org has none yet (unsaved defaults)
    if settings_id is not None and user.has_perm("alerts.view_alertsettings"):
        url = admin_url("admin:alerts_alertsettings_change", settings_id)
    elif settings_id is None and user.has_perm("alerts.add_alertsettings"):
        url = admin_url("admin:alerts_alertsettings_add")
        url = url and f"{url}?organization={org.pk}"  # the add form starts with this org chosen
    if url:
        links.append({"slug": "alert-settings", "title": "Alert settings", "url": url})
    return links


def rate_card_context(org: Organization, at) -> dict:
    """The rate card version in force and the next pending one ("v3 takes effect 2026-12-02 00:00 IST")."""
    in_force = RATE_CARD_IN_FORCE(organization_id=org.pk, at=at)
    upcoming = [{"version": item, "starts": local_time(item.effective_from, org)}
                for item in RATE_CARDS_PENDING(organization_id=org.pk, at=at)]
    if not in_force:
        return {"version": None, "pending": upcoming}
    version = in_force[0]
    rates = FIRST_RATES(version_id=version.pk)  # a card has hundreds of rates: the page lists a few
    return {"version": version, "since": local_time(version.effective_from, org),
            "rates": [{"rate": item, "price": rate(item.unit_price, org.currency)} for item in rates[:RATES_SHOWN]],
            "more": len(rates) > RATES_SHOWN, "pending": upcoming}
