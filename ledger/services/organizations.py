"""Organizations and their accounts: create an org with its master account, change its settings, add subaccounts."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from ..errors import InvalidOperation
from ..history import history_actor
from ..locks import lock_account, lock_organization
from ..models import (
    ZERO,
    Account,
    BalanceMode,
    CreditLimitChange,
    Organization,
    PaymentScheme,
    SpendingPolicy,
)
from ..money import Actor, to_amount
from .idempotency import run_idempotent
from .limits import require_postpaid_limit


def _full_clean(organization: Organization, exclude: list[str]) -> None:
    try:
        organization.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise InvalidOperation(errors=getattr(exc, "message_dict", {"__all__": exc.messages}))


def organization_create(*, actor: Actor, name: str, currency: str, timezone_name: str = "UTC",
                        payment_scheme: str = PaymentScheme.PREPAID, credit_management_enabled: bool = True,
                        credit_limit: Decimal | str = ZERO, spending_policy: str = SpendingPolicy.PROMOTIONAL_MUST_FIT,
                        spending_floor: Decimal | str = ZERO, idempotency_key: str | None = None) -> Organization:
    """Create an org with its master account (and its credit limit; postpaid requires one)."""
    credit_limit = to_amount(credit_limit, field="credit_limit", allow_zero=True)
    spending_floor = to_amount(spending_floor, field="spending_floor", allow_zero=True)
    if payment_scheme not in PaymentScheme.values:
        raise InvalidOperation(errors={"payment_scheme": ["Choose prepaid or postpaid."]})
    require_postpaid_limit(payment_scheme, credit_limit, field="credit_limit")
    organization = Organization(name=name, currency=currency, timezone=timezone_name, payment_scheme=payment_scheme,
                                credit_management_enabled=credit_management_enabled, spending_policy=spending_policy,
                                spending_floor=spending_floor)
    _full_clean(organization, exclude=["wallet_id"])

    def work():
        history_actor(organization, actor, "Created")
        organization.save()
        master = Account.objects.create(organization=organization, name="Master account", is_master=True,
                                        credit_limit=credit_limit)
        if credit_limit > 0:
            CreditLimitChange.objects.create(account=master, amount=credit_limit, previous_limit=ZERO,
                                             comment="Initial credit limit", **actor.actor_fields())
        return organization

    return run_idempotent(actor=actor, key=idempotency_key, operation="organization_create",
                          params={"name": name, "currency": currency, "timezone": timezone_name,
                                  "payment_scheme": payment_scheme, "credit_limit": credit_limit,
                                  "credit_management_enabled": credit_management_enabled,
                                  "spending_policy": spending_policy, "spending_floor": spending_floor}, work=work)


# purchase_expires_in and individual_user_credits are the payments app's (buying credits).
ORGANIZATION_SETTINGS = {"name", "timezone", "credit_management_enabled", "payment_scheme", "spending_policy",
                         "spending_floor", "purchase_expires_in", "individual_user_credits",
                         "user_to_user_transfers", "transfer_conditions"}


def organization_update(*, actor: Actor, organization: Organization, reason: str = "", dry_run: bool = False,
                        **changes) -> Organization:
    """Change name, timezone, payment scheme, spending policy, purchase settings or the credit-management switch
    (history records who and why). Who may change what is the caller's to check (the spending policy: platform
    staff only).

    Refused where the change would break an invariant: a postpaid org needs a credit limit, and an org
    leaves postpaid only when none of its accounts owes usage (invoice or repay it first). `dry_run`
    checks everything under the same locks and changes nothing (the console's confirmation step).
    """
    unknown = set(changes) - ORGANIZATION_SETTINGS
    if unknown:
        raise InvalidOperation(errors={name: ["This field cannot be changed."] for name in unknown})
    if "spending_floor" in changes:
        changes["spending_floor"] = to_amount(changes["spending_floor"], field="spending_floor", allow_zero=True)
    with transaction.atomic(durable=True):
        master = lock_account(organization.master_account.pk)
        org = lock_organization(organization.pk)
        old_timezone = org.timezone
        leaving_postpaid = (org.payment_scheme == PaymentScheme.POSTPAID
                            and changes.get("payment_scheme", org.payment_scheme) != PaymentScheme.POSTPAID)
        for name, value in changes.items():
            setattr(org, name, value)
        require_postpaid_limit(org.payment_scheme, master.credit_limit, field="payment_scheme")
        if leaving_postpaid:
            _refuse_leaving_postpaid_with_debt(org)
        _full_clean(org, exclude=["wallet_id", "admins", "currency"])  # the currency never changes
        if dry_run:
            return org
        history_actor(org, actor, reason)
        org.save(update_fields=list(changes))
        if org.timezone != old_timezone:
            _rebuild_day_totals(org)
        return org


def _rebuild_day_totals(org: Organization) -> None:
    """The org's daily totals counted again in its new timezone (their days are local days), with its
    accounts locked so that no charge adds to a day of the old zone meanwhile, and its monthly totals
    rolled up again from them (their months are local months). PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    list(Account.objects.select_for_update().filter(organization=org).order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_day_totals_rebuild(%s)", [org.pk])
        cursor.execute("SELECT ledger_month_totals_rebuild(%s, now())", [org.pk])


def _refuse_leaving_postpaid_with_debt(org: Organization) -> None:
    """Usage taken on credit is billed by the postpaid month close: a prepaid org would never invoice it."""
    owing = list(Account.objects.filter(organization=org, balance_mode=BalanceMode.OWN, balance__lt=0)
                 .order_by("-is_master", "name").values_list("name", flat=True))
    if owing:
        raise InvalidOperation(
            f"{', '.join(owing)} owe{'s' if len(owing) == 1 else ''} usage taken on credit: a prepaid organization "
            "would never invoice it. Let the month close invoice it, or add credits to repay it, then switch.",
            errors={"payment_scheme": [
                f"Refused: {', '.join(owing)} {'has' if len(owing) == 1 else 'have'} a negative balance. "
                "Invoice or repay it before switching to prepaid."]})


def account_create(*, actor: Actor, organization: Organization, name: str, balance_mode: str = BalanceMode.OWN,
                   owner=None, idempotency_key: str | None = None) -> Account:
    """Create a subaccount in `own` or `shared` balance mode, optionally owned by one user."""
    if balance_mode not in BalanceMode.values:
        raise InvalidOperation(errors={"balance_mode": ["Choose own or shared."]})
    if not name or not name.strip():
        raise InvalidOperation(errors={"name": ["This field may not be blank."]})

    def work():
        return Account.objects.create(organization=organization, name=name.strip(), balance_mode=balance_mode,
                                      owner=owner)

    return run_idempotent(actor=actor, key=idempotency_key, operation="account_create",
                          params={"organization": organization, "name": name, "balance_mode": balance_mode,
                                  "owner": owner.pk if owner else None}, work=work)
