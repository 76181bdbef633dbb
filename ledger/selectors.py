"""Reads shared by the admin, the API and the finance pages: who may see which orgs and accounts."""

import uuid

from django.contrib.auth import get_user_model
from django.db.models import Case, F, Q, QuerySet, Value, When

from .models import Account, Organization, TransactionKind

ROLE_PLATFORM_STAFF = "Platform staff"
ROLE_FINANCE = "Finance"
ROLE_ORG_ADMIN = "Org admin"
ROLE_SUBACCOUNT_USER = "Subaccount user"
ROLES = (ROLE_PLATFORM_STAFF, ROLE_FINANCE, ROLE_ORG_ADMIN, ROLE_SUBACCOUNT_USER)


def user_roles(user) -> set[str]:
    """The role groups a user belongs to (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    if not hasattr(user, "_credit_roles"):
        user._credit_roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return user._credit_roles


def sees_all_organizations(user) -> bool:
    """Superusers, platform staff and finance see every org."""
    return bool(user.is_superuser or user_roles(user) & {ROLE_PLATFORM_STAFF, ROLE_FINANCE})


def organizations_for(user) -> QuerySet[Organization]:
    """Orgs a user may see: all for staff and finance, their own for org admins and subaccount users."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    if sees_all_organizations(user):
        return Organization.objects.all()
    return Organization.objects.filter(pk__in=_own_organization_ids(user))


def organizations_openable_by(user) -> QuerySet[Organization]:
    """Orgs whose pages (dashboard, finance ledger) a user may open: all for staff and finance, else those they administer.

    Subaccount users see their org in lists (`organizations_for`) but open only their own accounts.
    """
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    if sees_all_organizations(user):
        return Organization.objects.all()
    return Organization.objects.filter(admins=user)


def organization_openable_by(user, organization: Organization) -> bool:
    """Whether `organizations_openable_by(user)` holds this org (no query for staff and finance)."""
    if getattr(user, "is_authenticated", False) and sees_all_organizations(user):
        return True
    return organizations_openable_by(user).filter(pk=organization.pk).exists()


def _own_organization_ids(user) -> set:
    ids = set(user.administered_organizations.values_list("pk", flat=True))
    ids |= set(Account.objects.filter(owner=user).values_list("organization_id", flat=True))
    return ids


def accounts_for(user) -> QuerySet[Account]:
    """Accounts a user may see: every account of orgs they administer, or only the subaccounts they own."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    if sees_all_organizations(user):
        return Account.objects.all()
    administered = user.administered_organizations.values_list("pk", flat=True)
    return Account.objects.filter(Q(organization_id__in=list(administered)) | Q(owner=user))


def users_for(user) -> QuerySet:
    """Users a user may see and pick: all for staff and finance, else the admins and account owners of their orgs."""
    users = get_user_model().objects.all()
    if sees_all_organizations(user):
        return users
    orgs = list(organizations_for(user).values_list("pk", flat=True))
    return users.filter(Q(pk=user.pk) | Q(administered_organizations__in=orgs)
                        | Q(pk__in=Account.objects.filter(organization_id__in=orgs, owner__isnull=False)
                            .values("owner_id"))).distinct()


def is_org_admin_of(user, organization: Organization) -> bool:
    """Superusers and platform staff, or an admin of the org (cached on the user object for the request:
    pages ask it once per account, e.g. who may buy for which account)."""
    if user.is_superuser or user_roles(user) & {ROLE_PLATFORM_STAFF}:
        return True
    if not hasattr(user, "_credit_admin_of"):
        user._credit_admin_of = {}
    if organization.pk not in user._credit_admin_of:
        user._credit_admin_of[organization.pk] = organization.admins.filter(pk=user.pk).exists()
    return user._credit_admin_of[organization.pk]


def organization_search_condition(query: str) -> Q:
    """Match an org by name (case-insensitive substring), exact UUID or exact wallet ID."""
    query = query.strip()
    condition = Q(name__icontains=query) | Q(wallet_id__iexact=query)
    try:
        condition |= Q(pk=uuid.UUID(query))
    except ValueError:
        pass
    return condition


def organizations_search(organizations: QuerySet[Organization], query: str) -> QuerySet[Organization]:
    """Narrow `organizations` to those matching `query` (all of them for a blank query)."""
    return organizations.filter(organization_search_condition(query)) if query.strip() else organizations


TRANSFER_IN = "transfer_in"
TRANSFER_OUT = "transfer_out"


def entry_kind(kind: str, amount) -> str:
    """The kind of a ledger entry (a posting): a transfer splits into transfer_in / transfer_out by sign."""
    if kind == TransactionKind.TRANSFER:
        return TRANSFER_IN if amount > 0 else TRANSFER_OUT
    return kind


def entry_kind_expression(kind_field: str = "transaction__kind", amount_field: str = "amount") -> Case:
    """`entry_kind` as an SQL expression on postings (CSV exports written by the database)."""
    transfer = Q(**{kind_field: TransactionKind.TRANSFER})
    return Case(When(transfer & Q(**{f"{amount_field}__gt": 0}), then=Value(TRANSFER_IN)),
                When(transfer, then=Value(TRANSFER_OUT)), default=F(kind_field))


def postings_of_kind(postings: QuerySet, kind: str) -> QuerySet:
    """Narrow postings to one entry kind (transfer_in / transfer_out by sign, else the transaction's kind)."""
    if kind == TRANSFER_IN:
        return postings.filter(transaction__kind=TransactionKind.TRANSFER, amount__gt=0)
    if kind == TRANSFER_OUT:
        return postings.filter(transaction__kind=TransactionKind.TRANSFER, amount__lt=0)
    return postings.filter(transaction__kind=kind) if kind else postings
