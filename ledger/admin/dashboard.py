"""The org dashboard of the console: org total and master balance, status, accounts, lots, latest entries,
the rate card in force and the next one, and links to the org's other pages."""

from datetime import timedelta

from django.db import connection
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts.models import AlertSettings
from ledger.finance.selectors import can_view_organization_ledger
from ledger.models import ZERO, BalanceMode, CreditLot, Hold, HoldStatus, Organization, Posting
from ledger.money import money, rate
from ledger.services.rules import is_blocked
from ledger.times import local_time
from ratecards.selectors import rate_card_current, rate_card_pending

from .status import BalanceStatus, account_threshold

LATEST_ENTRIES = 20
RATES_SHOWN = 30  # rates of the card in force listed on the dashboard


def admin_url(name: str, *args) -> str | None:
    """An admin URL, or None when the app that registers it is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def organization_dashboard(request, org: Organization, *, status: str, tools: list[dict]) -> dict:
    """Everything the org page shows above its settings."""
    at = timezone.now()
    cur = org.currency
    accounts = list(org.accounts.select_related("owner", "alert_threshold").order_by("-is_master", "name"))
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
    account_rows = [{
        "account": account, "url": reverse("admin:ledger_account_change", args=[account.pk]),
        "mode": "Master" if account.is_master else account.get_balance_mode_display(),
        "shared": account.balance_mode == BalanceMode.SHARED,
        "balance": money(account.balance, cur), "held": money(account.held, cur),
        "credit_limit": money(account.effective_credit_limit(at), cur),
        "available": money(account.available(at), cur),
        "threshold": money(account_threshold(account), cur) if account.balance_mode == BalanceMode.OWN else "",
        "own_threshold": hasattr(account, "alert_threshold"),
    } for account in accounts]
    lots = (CreditLot.objects.filter(account__organization=org, remaining__gt=0)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at)).select_related("account", "created_by")
            .order_by(F("expires_at").asc(nulls_last=True), "granted_at")[:50])
    lot_rows = [{
        "lot": lot, "remaining": money(lot.remaining, cur), "amount": money(lot.amount, cur),
        "granted": local_time(lot.granted_at, org), "expires": local_time(lot.expires_at, org) if lot.expires_at else "never",
        "expires_soon": lot.expires_at is not None and lot.expires_at - at <= timedelta(days=30),
    } for lot in lots]
    postings = (Posting.objects.filter(pk__in=latest_posting_ids(org))
                .select_related("transaction", "transaction__actor_user", "account")
                .order_by("-created_at", "-id"))
    entry_rows = [{
        "posting": posting, "txn": posting.transaction, "amount": money(posting.amount, cur),
        "credit": posting.amount > 0, "balance_after": money(posting.balance_after, cur),
        "when": local_time(posting.created_at, org),
        "url": reverse("admin:ledger_transaction_change", args=[posting.transaction_id]),
    } for posting in postings]
    active_holds = Hold.objects.filter(account__organization=org, status=HoldStatus.ACTIVE).count()
    user = request.user
    links = organization_links(request, org)
    return {
        "organization": org, "breakdown": breakdown, "account_rows": account_rows, "lot_rows": lot_rows,
        "entry_rows": entry_rows, "rate_card": rate_card_context(org, at), "action_tools": tools,
        "active_holds": active_holds,
        "ledger_url": reverse("admin:ledger_transaction_changelist") + f"?organization__id__exact={org.pk}",
        "holds_url": reverse("admin:ledger_hold_changelist") + f"?account__organization__id__exact={org.pk}",
        "can_view_ledger": user.has_perm("ledger.view_transaction"),
        "org_links": links,
        "rate_card_url": next((link["url"] for link in links if link["slug"] == "rate-card"), None),
    }


LATEST_POSTINGS_SQL = """
SELECT p.id FROM ledger_account a
CROSS JOIN LATERAL (
    SELECT p.id, p.created_at FROM ledger_posting p WHERE p.account_id = a.id
    ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s
) p
WHERE a.organization_id = %(org)s
ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s
"""


def latest_posting_ids(org: Organization, count: int = LATEST_ENTRIES) -> list[int]:
    """The ids of the org's `count` newest postings: the newest `count` of each account (one short walk of
    posting_account_newest per account), merged. Ordering postings org-wide would read all of them."""
    if connection.vendor != "postgresql":  # SQLite (make run's zero-setup database) has no LATERAL: few rows anyway
        return list(Posting.objects.filter(account__organization=org).order_by("-created_at", "-id")
                    .values_list("id", flat=True)[:count])
    with connection.cursor() as cursor:
        cursor.execute(LATEST_POSTINGS_SQL, {"n": count, "org": org.pk})
        return [row[0] for row in cursor.fetchall()]


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
    settings_id = AlertSettings.objects.filter(organization=org).values_list("pk", flat=True).first()
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
    version = rate_card_current(org, at=at)
    pending = rate_card_pending(org, at=at)
    upcoming = [{"version": item, "starts": local_time(item.effective_from, org)} for item in pending]
    if version is None:
        return {"version": None, "pending": upcoming}
    rates = list(version.rates.all()[:RATES_SHOWN + 1])  # one more than shown tells whether there are more
    return {"version": version, "since": local_time(version.effective_from, org),
            "rates": [{"rate": item, "price": rate(item.unit_price, org.currency)} for item in rates[:RATES_SHOWN]],
            "more": len(rates) > RATES_SHOWN, "pending": upcoming}
