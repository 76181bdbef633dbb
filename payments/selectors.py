"""Who may buy credits for which account, and which top-ups and payments a user sees."""

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.utils import timezone

from ledger.compiled import SENTINEL_INSTANT, SENTINEL_UUID, CompiledQuery
from ledger.models import Account, BalanceMode, Organization
from ledger.selectors import accounts_for, is_org_admin_of, organizations_for, sees_all_organizations

from .models import Payment, TopUp, TopUpStatus

BUY_PERMISSION = "ledger.buy_credits"


def may_buy(user, account: Account) -> bool:
    """Whether a user may buy credits for an account.

    Needs the buy_credits permission and an account that holds its own funds; then org admins (and
    platform staff) buy for any such account of the org, a subaccount user for the subaccounts they
    own when the org has individual user credits on.
    """
    return buyer_rule(user, account.organization)(account)


def buyer_rule(user, organization: Organization) -> Callable[[Account], bool]:
    """`may_buy` for one user and org, as a test of its accounts: what depends only on the user and the org
    (the permission, being its admin) is asked once, not once per account (a 100-account org's pages)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(BUY_PERMISSION):
        return _nobody
    if is_org_admin_of(user, organization):
        return lambda account: account.balance_mode == BalanceMode.OWN
    if not organization.individual_user_credits:
        return _nobody
    return lambda account: account.balance_mode == BalanceMode.OWN and account.owner_id == user.pk


def _nobody(account: Account) -> bool:
    return False


def purchasable_accounts(user, organization: Organization) -> list[Account]:
    """The accounts of an org a user may buy credits for: master first, then subaccounts by name."""
    allowed = buyer_rule(user, organization)
    if allowed is _nobody:
        return []
    accounts = accounts_for(user).filter(organization=organization, balance_mode=BalanceMode.OWN).order_by(
        "-is_master", "name")
    chosen = [account for account in accounts if allowed(account)]
    for account in chosen:
        account.organization = organization  # the org of every one: not read again per account
    return chosen


def may_buy_in(user, organization: Organization) -> bool:
    """Whether a user may buy for at least one account of the org (one query, no account read)."""
    return organizations_to_buy_for(user).filter(pk=organization.pk).exists()


def organizations_to_buy_for(user) -> QuerySet[Organization]:
    """Orgs in which a user may buy for at least one account (staff: every org): `buyer_rule` as a query, an org
    here exactly when `purchasable_accounts` has an account of it (tests/payments/test_selectors.py). An admin
    may buy for the org's master, which always holds its own funds (`master_account_holds_own_funds`)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(BUY_PERMISSION):
        return Organization.objects.none()
    if sees_all_organizations(user) or user.is_superuser:
        return organizations_for(user)
    # Two semi-joins, not an OR across two joins with DISTINCT (1.7 ms to plan, 3 ms to run with 1,000 orgs): the
    # header's "Buy credits" link asks this on every console page of an org admin.
    administered = Organization.admins.through.objects.filter(user=user).values("organization_id")
    owned = Account.objects.filter(owner=user, balance_mode=BalanceMode.OWN).values("organization_id")
    return Organization.objects.filter(Q(pk__in=administered) | Q(pk__in=owned, individual_user_credits=True))


def top_ups_for(user) -> QuerySet[TopUp]:
    """Top-ups a user sees: every one for staff and finance, their orgs' for org admins, their own
    subaccounts' for subaccount users."""
    if not getattr(user, "is_authenticated", False):
        return TopUp.objects.none()
    if sees_all_organizations(user):
        return TopUp.objects.all()
    return TopUp.objects.filter(Q(organization__admins=user) | Q(account__owner=user)).distinct()


def payments_for(user) -> QuerySet[Payment]:
    if sees_all_organizations(user):
        return Payment.objects.all()
    return Payment.objects.filter(organization__admins=user)


def pending_at(at, organization_id=None) -> QuerySet[TopUp]:
    """Top-ups still pending at `at` (not yet expired): of one org, or of every org."""
    queryset = TopUp.objects.filter(status=TopUpStatus.PENDING, expires_at__gt=at)
    return queryset if organization_id is None else queryset.filter(organization_id=organization_id)


# Asked on every page of an org, where the answer is nearly always "none": compiled once per process.
_ANY_PENDING_IN = CompiledQuery(lambda organization_id, at: pending_at(at, organization_id).only("pk")[:1],
                                organization_id=SENTINEL_UUID, at=SENTINEL_INSTANT)


def pending_top_ups(user, organization: Organization | None = None) -> list[TopUp]:
    """Pending, unexpired top-ups the user could complete or cancel (in one org, or in every org of theirs)."""
    now = timezone.now()
    if organization is not None and not _ANY_PENDING_IN(organization_id=organization.pk, at=now):
        return []  # the usual case on every page of an org: one cheap query, not the scoped join
    queryset = pending_at(now, organization.pk if organization is not None else None)
    if organization is None and sees_all_organizations(user):
        return []  # staff see an org's pending payments on that org's pages, not on every page
    queryset = queryset.filter(pk__in=top_ups_for(user).values("pk"))
    rows = queryset.select_related("organization", "account__organization").order_by("created_at")[:10]
    return [top_up for top_up in rows if may_buy(user, top_up.account)]
