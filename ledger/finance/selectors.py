"""Reads behind the finance pages: ledger scopes, keyset pages, totals and balances as of an instant.

A ledger *entry* is a posting on a customer account together with its transaction. A scope is
what one page shows: one account's postings, an org's postings on all its accounts, or the entries
attributed to a shared subaccount (whose charges post on the master account). Pages are keyset
paginated on (created_at, id), newest first, so any page costs one index range scan.
"""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_datetime

from ledger import daytotals
from ledger.models import ZERO, Account, BalanceMode, Organization, Posting, TransactionKind
from ledger.selectors import (
    TRANSFER_IN,
    TRANSFER_OUT,
    accounts_for,
    organization_openable_by,
    organizations_openable_by,
    postings_of_kind,
)

ENTRY_KINDS = [
    *[(value, label) for value, label in TransactionKind.choices if value != TransactionKind.TRANSFER],
    (TRANSFER_IN, "Transfer in"),
    (TRANSFER_OUT, "Transfer out"),
]
ENTRY_KIND_LABELS = dict(ENTRY_KINDS)
PAGE_SIZE = 50


# --- who may see what ------------------------------------------------------------------------------


def can_view_organization_ledger(user, organization: Organization) -> bool:
    """Users with view_ledger see the ledger of the orgs they may open (ledger.selectors.organizations_openable_by)."""
    if not user.has_perm("ledger.view_ledger"):
        return False
    # Asked several times per page (links, charts, banners): cached on the user object for the request.
    if not hasattr(user, "_credit_viewable_orgs"):
        user._credit_viewable_orgs = {}
    if organization.pk not in user._credit_viewable_orgs:
        user._credit_viewable_orgs[organization.pk] = organization_openable_by(user, organization)
    return user._credit_viewable_orgs[organization.pk]


def viewable_organization(user, organization_id) -> Organization | None:
    """The org if the user may see its ledger, else None."""
    if not user.has_perm("ledger.view_ledger"):
        return None
    return organizations_openable_by(user).filter(pk=organization_id).first()


def viewable_account(user, account_id) -> Account | None:
    """The account if the user may see its ledger (view_ledger and the account in their scope), else None."""
    if not user.has_perm("ledger.view_ledger"):
        return None
    return accounts_for(user).select_related("organization").filter(pk=account_id).first()


def owned_accounts(user) -> QuerySet[Account]:
    """The subaccounts a user owns: the scope of their "last 30 days" page."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    return Account.objects.filter(owner=user).select_related("organization")


# --- scopes -------------------------------------------------------------------------------------------


@dataclass
class LedgerScope:
    """The entries one page shows, and which index serves them.

    `account` set and holding funds: that account's postings (posting_account_newest).
    `account` set in shared mode: postings attributed to it on the master (txn_subaccount_newest).
    Only `organization`: postings on every account of the org (txn_org_newest).
    """

    organization: Organization
    account: Account | None = None
    time_field: str = field(init=False)

    def __post_init__(self):
        self.time_field = "created_at" if self.by_account else "transaction__created_at"

    @property
    def by_account(self) -> bool:
        return self.account is not None and self.account.balance_mode == BalanceMode.OWN

    @property
    def attributed(self) -> bool:
        """Entries attributed to a shared subaccount: amounts moved the master's balance, not its own."""
        return self.account is not None and self.account.balance_mode == BalanceMode.SHARED

    @property
    def has_balance(self) -> bool:
        return not self.attributed

    def postings(self) -> QuerySet[Posting]:
        """Every entry of the scope (customer postings only), unordered."""
        if self.by_account:
            return Posting.objects.filter(account=self.account)
        if self.attributed:
            return Posting.objects.filter(transaction__subaccount=self.account, account__isnull=False)
        return Posting.objects.filter(transaction__organization=self.organization, account__isnull=False)

    def ordering(self, newest_first: bool = True) -> list:
        sign = "-" if newest_first else ""
        return [f"{sign}{self.time_field}", f"{sign}id"]

    def fund_accounts(self) -> QuerySet[Account]:
        """The accounts whose balances this scope adds up (none for a shared subaccount)."""
        if self.by_account:
            return Account.objects.filter(pk=self.account.pk)
        if self.attributed:
            return Account.objects.none()
        return Account.objects.filter(organization=self.organization, balance_mode=BalanceMode.OWN)


def apply_entry_filters(scope: LedgerScope, queryset: QuerySet[Posting], *, start: datetime | None = None,
                        end: datetime | None = None, kind: str = "", channel: str = "",
                        subaccount: Account | None = None) -> QuerySet[Posting]:
    """Filter entries by [start, end), entry kind, channel and subaccount, in ways the indexes serve."""
    time_field = scope.time_field
    if start is not None:
        queryset = queryset.filter(**{f"{time_field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{time_field}__lt": end})
    queryset = postings_of_kind(queryset, kind)
    if kind and kind not in (TRANSFER_IN, TRANSFER_OUT):
        if scope.by_account:
            # Outside transfers the posting's account is the transaction's funding account: saying so lets
            # the planner use txn_account_kind_newest for a rare kind on a busy account.
            queryset = queryset.filter(transaction__account=scope.account)
    if channel:
        queryset = queryset.filter(transaction__channel=channel)
        if scope.by_account:
            queryset = queryset.filter(transaction__account=scope.account)
    if subaccount is not None:
        if subaccount.balance_mode == BalanceMode.OWN:
            queryset = queryset.filter(account=subaccount)
        else:
            queryset = queryset.filter(transaction__subaccount=subaccount)
    return queryset


def entries_with_details(queryset: QuerySet[Posting]) -> QuerySet[Posting]:
    """Join what a page row shows: the transaction, its actor, subaccount and the posting's account."""
    return queryset.select_related(
        "transaction", "transaction__actor_user", "transaction__subaccount", "account",
    )


# --- keyset pagination --------------------------------------------------------------------------------


def encode_cursor(moment: datetime, pk: int) -> str:
    raw = f"{moment.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor, or None if it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, pk_text = raw.split("|", 1)
        moment = parse_datetime(moment_text)
        pk = int(pk_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment, pk


@dataclass
class Page:
    entries: list
    next_cursor: str | None
    previous_cursor: str | None


def _moment(scope: LedgerScope, posting: Posting) -> datetime:
    return posting.created_at if scope.by_account else posting.transaction.created_at


def keyset_page(scope: LedgerScope, queryset: QuerySet[Posting], *, after: str = "", before: str = "",
                size: int = PAGE_SIZE) -> Page:
    """One page of entries, newest first. `after`: the page older than that cursor; `before`: newer."""
    field_name = scope.time_field
    after_key, before_key = decode_cursor(after), decode_cursor(before)
    if before_key and not after_key:
        moment, pk = before_key
        rows = list(
            queryset.filter(Q(**{f"{field_name}__gte": moment})
                            & (Q(**{f"{field_name}__gt": moment}) | Q(**{field_name: moment, "id__gt": pk})))
            .order_by(*scope.ordering(newest_first=False))[: size + 1]
        )
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_older = True
    else:
        if after_key:
            moment, pk = after_key
            queryset = queryset.filter(Q(**{f"{field_name}__lte": moment})
                                       & (Q(**{f"{field_name}__lt": moment}) | Q(**{field_name: moment, "id__lt": pk})))
        rows = list(queryset.order_by(*scope.ordering())[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = bool(after_key)
    next_cursor = encode_cursor(_moment(scope, rows[-1]), rows[-1].pk) if rows and has_older else None
    previous_cursor = encode_cursor(_moment(scope, rows[0]), rows[0].pk) if rows and has_newer else None
    return Page(rows, next_cursor, previous_cursor)


# --- totals and balances -------------------------------------------------------------------------------


@dataclass
class Totals:
    credits_in: Decimal
    credits_out: Decimal
    expired: Decimal
    net: Decimal
    count: int


def entry_totals(queryset: QuerySet[Posting]) -> Totals:
    """Credits in, credits out (expiry apart), expired and net of the filtered entries, in one query."""
    expiry = Q(transaction__kind=TransactionKind.EXPIRY)
    sums = queryset.order_by().aggregate(
        credits_in=Coalesce(Sum("amount", filter=Q(amount__gt=0)), ZERO),
        debits=Coalesce(Sum("amount", filter=Q(amount__lt=0) & ~expiry), ZERO),
        expired=Coalesce(Sum("amount", filter=expiry), ZERO),
        net=Coalesce(Sum("amount"), ZERO),
        count=Count("id"),
    )
    return Totals(credits_in=sums["credits_in"], credits_out=-sums["debits"], expired=-sums["expired"],
                  net=sums["net"], count=sums["count"])


def scope_totals(scope: LedgerScope, queryset: QuerySet[Posting], *, start: datetime | None = None,
                 end: datetime | None = None, kind: str = "", channel: str = "",
                 subaccount: Account | None = None) -> Totals:
    """The totals line of the scope's entries filtered as given (`queryset` is those entries).

    From the per-account daily totals when they can answer (PostgreSQL, a range on local day bounds, no
    subaccount filter): a few rows per account and day instead of every posting. Else summed over
    `queryset`.
    """
    found = None
    if not scope.attributed and subaccount is None:  # the rows are per account: no attribution to a subaccount
        found = daytotals.entry_totals(scope.organization, scope.account.pk if scope.by_account else None,
                                       start=start, end=end, kind=kind, channel=channel)
    return Totals(**found) if found is not None else entry_totals(queryset)


def account_balance_at(account: Account, moment: datetime, *, inclusive: bool = True) -> Decimal:
    """The balance of an account as of an instant: balance_after of its last posting at (or before) it."""
    lookup = "created_at__lte" if inclusive else "created_at__lt"
    last = (Posting.objects.filter(account=account, **{lookup: moment}).order_by("-created_at", "-id")
            .values_list("balance_after", flat=True).first())
    return last if last is not None else ZERO


def scope_balance_at(scope: LedgerScope, moment: datetime | None, *, inclusive: bool = True) -> Decimal | None:
    """The summed balance of the scope's fund-holding accounts as of an instant (None: no balance).

    `moment` None means now: the balance after each account's latest posting. One query whatever
    the number of accounts.
    """
    if not scope.has_balance:
        return None
    postings = Posting.objects.filter(account=OuterRef("pk"))
    if moment is not None:
        postings = postings.filter(**{"created_at__lte" if inclusive else "created_at__lt": moment})
    last = postings.order_by("-created_at", "-id").values("balance_after")[:1]
    return (scope.fund_accounts().order_by()
            .annotate(balance_then=Coalesce(Subquery(last), ZERO))
            .aggregate(total=Coalesce(Sum(F("balance_then")), ZERO)))["total"]


@dataclass
class Reconciliation:
    """Opening balance + net of every entry in the range = closing balance.

    Kind, channel and subaccount filters may leave some of the range's entries out: `hidden_net`
    is their net, so the page can show the sum that ties out either way.
    """

    opening: Decimal | None
    closing: Decimal | None
    shown_net: Decimal
    range_net: Decimal

    @property
    def hidden_net(self) -> Decimal:
        return self.range_net - self.shown_net

    @property
    def reconciles(self) -> bool:
        if self.opening is None:
            return True
        return self.opening + self.range_net == self.closing


def reconcile(scope: LedgerScope, *, start: datetime | None, end: datetime | None, shown: Totals,
              filtered: bool) -> Reconciliation:
    """Opening (just before `start`) and closing (just before `end`) balances of the scope's range.

    With `filtered` (kind, channel or subaccount filters on), one more query sums the whole range.
    """
    range_net = shown.net
    if filtered:
        range_net = scope_totals(scope, apply_entry_filters(scope, scope.postings(), start=start, end=end),
                                 start=start, end=end).net
    if not scope.has_balance:
        return Reconciliation(None, None, shown.net, range_net)
    opening = scope_balance_at(scope, start, inclusive=False) if start is not None else ZERO
    closing = scope_balance_at(scope, end, inclusive=False)
    return Reconciliation(opening, closing, shown.net, range_net)
