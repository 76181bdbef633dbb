"""Who may move which individual credits: the org's settings, the account's owner and the user's permission.

Individual user credits are an org setting (`Organization.individual_user_credits`, off by default). On, the
owner of a subaccount holding its own funds may transfer to and from the org's master account and, where
the org also turns `user_to_user_transfers` on, to other users' subaccounts of the org. The permission is
`ledger.transfer_credits` (the Subaccount user group has it; it does nothing where the setting is off).
"""

from django.db.models import QuerySet

from ledger.models import Account, BalanceMode, Organization

TRANSFER_PERMISSION = "ledger.transfer_credits"


def self_service_accounts(user) -> QuerySet[Account]:
    """Subaccounts a user owns that hold their own funds, in orgs with individual user credits on."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    return (Account.objects.filter(owner=user, is_master=False, balance_mode=BalanceMode.OWN,
                                   organization__individual_user_credits=True)
            .select_related("organization").order_by("organization__name", "name"))


def may_transfer_own(user, account: Account) -> bool:
    """Whether a user may transfer the credits of this subaccount themselves."""
    return (user.has_perm(TRANSFER_PERMISSION) and account.owner_id == user.pk and not account.is_master
            and account.balance_mode == BalanceMode.OWN and account.organization.individual_user_credits)


def user_recipients(account: Account) -> QuerySet[Account]:
    """Other users' subaccounts of the org that may receive from `account` (none unless the org allows it)."""
    organization: Organization = account.organization
    if not organization.user_to_user_transfers:
        return Account.objects.none()
    return (Account.objects.filter(organization=organization, is_master=False, balance_mode=BalanceMode.OWN,
                                   owner__isnull=False)
            .exclude(pk=account.pk).exclude(owner_id=account.owner_id)
            .select_related("owner", "organization").order_by("name"))


def may_transfer_between(user, from_account: Account, to_account: Account) -> bool:
    """Whether a subaccount user may move credits from one account to the other (the rule of the forms and API)."""
    if from_account.organization_id != to_account.organization_id:
        return False
    own_from = from_account.owner_id == user.pk and may_transfer_own(user, from_account)
    own_to = to_account.owner_id == user.pk and may_transfer_own(user, to_account)
    if own_from and to_account.is_master or own_to and from_account.is_master:
        return True
    return own_from and user_recipients(from_account).filter(pk=to_account.pk).exists()
