"""Row locks in one place: accounts, holds, lots and orgs (and rate cards through `lock_objects`), in primary-key order.

Two writers that lock overlapping rows in the same order cannot wait on each other in a cycle, so
money operations never deadlock (Saleor's `lock_objects` does the same). The order in which the
rows are then *used* (lots in draw order, versions newest first) is applied after locking.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import F, QuerySet

from .models import Account, CreditLot, Hold, HoldStatus, Organization


def lock_objects(queryset: QuerySet, *, no_key: bool = False) -> list:
    """Lock the rows of `queryset` (only its own table's rows) in primary-key order and return them."""
    return list(queryset.order_by("pk").select_for_update(of=("self",), no_key=no_key))


def lock_accounts(ids: Iterable) -> dict:
    """Lock accounts (with their organization read alongside) and return them by id."""
    accounts = lock_objects(Account.objects.filter(pk__in=set(ids)).select_related("organization"))
    return {account.pk: account for account in accounts}


def lock_account_ids(ids: list) -> None:
    """Lock accounts by id without loading them (bulk writers that go on in SQL, e.g. the set-based expiry)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [list(ids)])


def lock_account(account_id) -> Account:
    """Lock one account; Account.DoesNotExist if there is none."""
    locked = lock_accounts([account_id])
    if not locked:
        raise Account.DoesNotExist(f"Account {account_id} does not exist.")
    return locked[account_id]


def lock_active_lots(account: Account) -> list[CreditLot]:
    """Lock the account's lots with credit left; returned in draw order (ledger.services.lots.draw_order).

    Read in a statement of its own once the account is locked: folded into the locking SELECT (as
    a subquery), the lots would come from the snapshot taken before waiting for the lock, and a
    concurrent charge's draws would be lost (tests/ledger/test_concurrency.py catches exactly that).
    """
    lots = lock_objects(CreditLot.objects.filter(account=account, remaining__gt=0))
    lots.sort(key=draw_order)
    return lots


def draw_order(lot: CreditLot) -> tuple:
    """Lots are drawn soonest expiry first, never-expiring last, older first on ties (then by id)."""
    return (lot.expires_at is None, lot.expires_at or lot.granted_at, lot.granted_at, lot.pk)


DRAW_ORDER = (F("expires_at").asc(nulls_last=True), "granted_at", "pk")  # draw_order() as an ORDER BY


def lock_hold(hold_id, *, account_id=None) -> Hold:
    """Lock one hold (of `account_id` when given); Hold.DoesNotExist if there is none."""
    holds = Hold.objects.filter(pk=hold_id)
    if account_id is not None:
        holds = holds.filter(account_id=account_id)
    locked = lock_objects(holds)
    if not locked:
        raise Hold.DoesNotExist(f"Hold {hold_id} does not exist.")
    return locked[0]


def lock_due_holds(account: Account, at) -> list[Hold]:
    """Lock the account's active holds past their expiry at `at`."""
    return lock_objects(Hold.objects.filter(account=account, status=HoldStatus.ACTIVE, expires_at__lte=at))


def lock_organization(organization_id, *, no_key: bool = False) -> Organization:
    """Lock an org row. `no_key` (FOR NO KEY UPDATE) does not block the ledger rows that refer to it."""
    return lock_objects(Organization.objects.filter(pk=organization_id), no_key=no_key)[0]
