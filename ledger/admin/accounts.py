"""Admins of accounts and ledger rows: subaccounts, holds (release), lots, transactions, postings, limits.

Ledger rows are read-only here (no add, change or delete permission for anyone, superusers
included); the only write is releasing holds, through services.hold_release. Every queryset is
scoped with ledger.selectors: org admins see their orgs, subaccount users their own subaccounts
and only the last 30 days of entries.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ledger import services
from ledger.errors import LedgerError
from ledger.finance.selectors import viewable_account
from ledger.models import (
    Account,
    BalanceMode,
    CreditLimitChange,
    CreditLot,
    Hold,
    HoldStatus,
    Posting,
    SystemAccount,
    Transaction,
)
from ledger.money import money
from ledger.selectors import accounts_for, sees_all_organizations

from .base import ServiceSavingAdmin
from .display import MoneyDisplayMixin, OrgTimezoneMixin, local_time_column
from .organization import wallet_link
from .scoping import ScopedChoicesAdmin

OWN_HISTORY_DAYS = 30


def recent_cutoff():
    """Subaccount users see entries newer than this."""
    return timezone.now() - timedelta(days=OWN_HISTORY_DAYS)


def scoped_accounts(user):
    """Accounts a user may see (ledger.selectors.accounts_for)."""
    return accounts_for(user)


def scoped_transactions(user):
    """Transactions a user may see: all, their orgs', or their own subaccounts' last 30 days."""
    queryset = Transaction.objects.all()
    if sees_all_organizations(user):
        return queryset
    administered = list(user.administered_organizations.values_list("pk", flat=True))
    own = Q(pk__in=Posting.objects.filter(account__owner=user).values("transaction_id")) | Q(subaccount__owner=user)
    return queryset.filter(Q(organization_id__in=administered) | (own & Q(created_at__gte=recent_cutoff())))


class ReadOnlyLedgerAdmin(ScopedChoicesAdmin):
    """Ledger rows are append-only: nobody adds, changes or deletes them from the admin."""

    list_per_page = 50

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def lookup_allowed(self, lookup, value, request=None):
        if lookup in ("organization__id__exact", "account__organization__id__exact", "account__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)


# --- accounts ---------------------------------------------------------------------------------


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["organization", "name", "balance_mode", "owner"]
        help_texts = {"balance_mode": "Own: its own lots, balance and credit limit. Shared: it holds no funds; "
                                      "its charges debit the master account and are attributed to it."}


@admin.register(Account)
class AccountAdmin(OrgTimezoneMixin, ServiceSavingAdmin):
    form = AccountForm
    change_form_template = "admin/ledger/account/change_form.html"
    list_display = ["name", "org_col", "kind_col", "owner", "balance_col", "held_col", "limit_col", "available_col"]
    list_filter = ["is_master", "balance_mode", "organization__currency"]
    search_fields = ["name", "organization__name", "=organization__wallet_id", "owner__username"]
    list_select_related = ["organization", "owner"]
    list_per_page = 50

    def get_queryset(self, request):
        return scoped_accounts(request.user).select_related("organization", "owner")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "balance_mode"] if obj is not None else []

    @admin.display(description="Organization", ordering="organization__name")
    def org_col(self, obj):
        return wallet_link(obj.organization)

    @admin.display(description="Kind")
    def kind_col(self, obj):
        return "Master" if obj.is_master else obj.get_balance_mode_display()

    @admin.display(description="Balance", ordering="balance")
    def balance_col(self, obj):
        return money(obj.balance, obj.organization.currency)

    @admin.display(description="Held", ordering="held")
    def held_col(self, obj):
        return money(obj.held, obj.organization.currency)

    @admin.display(description="Credit limit")
    def limit_col(self, obj):
        return money(obj.effective_credit_limit(), obj.organization.currency)

    @admin.display(description="Available")
    def available_col(self, obj):
        return money(obj.available(), obj.organization.currency)

    def save_model(self, request, obj, form, change):
        """New subaccounts through services.account_create; edits touch only name and owner."""
        if not change:
            data = form.cleaned_data
            created = services.account_create(actor=services.Actor(user=request.user),
                                              organization=data["organization"], name=data["name"],
                                              balance_mode=data["balance_mode"], owner=data["owner"])
            obj.pk, obj.created_at = created.pk, created.created_at
            obj._state.adding, obj._state.db = False, created._state.db
            return
        fields = [name for name in ("name", "owner") if name in form.changed_data]
        if fields:  # never a full save: that would write a stale cached balance back
            obj.save(update_fields=fields)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context.update(self.summary_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def summary_context(self, request, account: Account) -> dict:
        """Balance, limit, held, available and the last 30 days of entries of one account."""
        cur = account.organization.currency
        at = timezone.now()
        if account.balance_mode == BalanceMode.SHARED:
            txns = scoped_transactions(request.user).filter(subaccount=account, created_at__gte=recent_cutoff())
            rows = [{"when": txn.created_at, "kind": txn.get_kind_display(), "amount": money(-txn.amount, cur),
                     "credit": False, "balance_after": "—", "detail": txn.reference or txn.memo}
                    for txn in txns.order_by("-created_at", "-id")[:200]]
        else:
            postings = (Posting.objects.filter(account=account, created_at__gte=recent_cutoff())
                        .select_related("transaction").order_by("-created_at", "-id")[:200])
            rows = [{"when": p.created_at, "kind": p.transaction.get_kind_display(), "amount": money(p.amount, cur),
                     "credit": p.amount > 0, "balance_after": money(p.balance_after, cur),
                     "detail": p.transaction.reference or p.transaction.memo} for p in postings]
        return {
            "account_summary": {
                "shared": account.balance_mode == BalanceMode.SHARED,
                "balance": money(account.balance, cur), "held": money(account.held, cur),
                "credit_limit": money(account.effective_credit_limit(at), cur),
                "available": money(account.available(at), cur),
                "org_url": reverse("admin:ledger_organization_change", args=[account.organization_id]),
            },
            "account_ledger_url": self.ledger_url(request, account),
            "recent_rows": rows, "recent_days": OWN_HISTORY_DAYS,
        }


    def ledger_url(self, request, account: Account) -> str | None:
        """The account's full ledger on the finance pages (its owner's "last 30 days" page), if the user may see it."""
        if viewable_account(request.user, account.pk) is not None:
            return reverse("finance:account_ledger", args=[account.pk])
        if account.owner_id == request.user.pk:
            return reverse("finance:my_account_ledger", args=[account.pk])
        return None


# --- holds ------------------------------------------------------------------------------------


class AmountRemainingColumns:
    """Amount and remaining of a hold or lot, in its account's currency."""

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.account.organization.currency)

    @admin.display(description="Remaining", ordering="remaining")
    def remaining_col(self, obj):
        return money(obj.remaining, obj.account.organization.currency)


@admin.register(Hold)
class HoldAdmin(OrgTimezoneMixin, MoneyDisplayMixin, AmountRemainingColumns, ReadOnlyLedgerAdmin):
    organization_path, currency_path = "account__organization", "account__organization__currency"
    list_display = ["created_col", "account", "amount_col", "remaining_col", "status", "expires_col", "reference"]
    created_col = local_time_column("created_at", "Placed", "account__organization")
    expires_col = local_time_column("expires_at", "Expires", "account__organization")
    list_filter = ["status", "account__organization__currency"]
    search_fields = ["reference", "account__organization__name", "=account__organization__wallet_id"]
    list_select_related = ["account__organization"]
    actions = ["release_holds"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        accounts = scoped_accounts(request.user).values("pk")
        return Hold.objects.filter(Q(account__in=accounts) | Q(subaccount__in=accounts)).select_related(
            "account__organization")


    def has_release_permission(self, request):
        return request.user.has_perm("ledger.remove_credits")

    @admin.action(description="Release selected holds", permissions=["release"])
    def release_holds(self, request, queryset):
        """Release what is left of each selected active hold (services.hold_release)."""
        released, refused = 0, []
        for hold in queryset.filter(status=HoldStatus.ACTIVE):
            try:
                services.hold_release(actor=services.Actor(user=request.user), hold=hold)
            except LedgerError as exc:
                refused.append(f"{hold.reference or hold.pk}: {exc.detail}")
                continue
            released += 1
            self.log_change(request, hold, "Released the hold")
        skipped = queryset.exclude(status=HoldStatus.ACTIVE).count()
        if released:
            self.message_user(request, f"Released {released} hold(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} hold(s) were not active and were left as they are.",
                              messages.WARNING)
        for line in refused:
            self.message_user(request, f"Not released: {line}", messages.ERROR)


# --- read-only ledger rows --------------------------------------------------------------------


@admin.register(CreditLot)
class CreditLotAdmin(OrgTimezoneMixin, MoneyDisplayMixin, AmountRemainingColumns, ReadOnlyLedgerAdmin):
    organization_path, currency_path = "account__organization", "account__organization__currency"
    list_display = ["granted_col", "account", "amount_col", "remaining_col", "expires_col", "source",
                    "purchase_order"]
    granted_col = local_time_column("granted_at", "Granted", "account__organization")
    expires_col = local_time_column("expires_at", "Expires", "account__organization")
    list_filter = ["source", "account__organization__currency"]
    search_fields = ["purchase_order", "account__organization__name", "=account__organization__wallet_id"]
    list_select_related = ["account__organization"]
    date_hierarchy = "granted_at"

    def get_queryset(self, request):
        return CreditLot.objects.filter(account__in=scoped_accounts(request.user).values("pk")).select_related(
            "account__organization")



class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "system_account", "amount_col", "balance_after_col", "created_at"]
    readonly_fields = fields

    @admin.display(description="Amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.transaction.currency)

    @admin.display(description="Balance after")
    def balance_after_col(self, obj):
        return money(obj.balance_after, obj.transaction.currency) if obj.balance_after is not None else "—"
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(OrgTimezoneMixin, MoneyDisplayMixin, ReadOnlyLedgerAdmin):
    list_display = ["created_col", "org_col", "account", "kind", "amount_col", "subaccount", "actor_col",
                    "reference"]
    created_col = local_time_column("created_at", "When")
    list_filter = ["kind", "currency", "traffic", "channel"]
    search_fields = ["reference", "memo", "organization__name", "=organization__wallet_id"]
    list_select_related = ["organization", "account", "subaccount", "actor_user"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]

    def get_queryset(self, request):
        return scoped_transactions(request.user).select_related("organization", "account", "subaccount",
                                                                "actor_user")

    @admin.display(description="Organization", ordering="organization__name")
    def org_col(self, obj):
        return wallet_link(obj.organization)

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.currency)

    @admin.display(description="By")
    def actor_col(self, obj):
        return obj.actor_label


@admin.register(Posting)
class PostingAdmin(OrgTimezoneMixin, MoneyDisplayMixin, ReadOnlyLedgerAdmin):
    organization_path, currency_path = "transaction__organization", "transaction__currency"
    list_display = ["created_col", "transaction", "account", "system_account", "amount_col", "balance_after_col"]
    created_col = local_time_column("created_at", "When", "transaction__organization")

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.transaction.currency)

    @admin.display(description="Balance after")
    def balance_after_col(self, obj):
        return money(obj.balance_after, obj.transaction.currency) if obj.balance_after is not None else "—"
    list_select_related = ["transaction__organization", "account__organization", "system_account"]

    def get_queryset(self, request):
        queryset = Posting.objects.select_related("transaction__organization", "account__organization",
                                                  "system_account")
        if sees_all_organizations(request.user):
            return queryset
        return queryset.filter(transaction__in=scoped_transactions(request.user).values("pk"))


@admin.register(CreditLimitChange)
class CreditLimitChangeAdmin(OrgTimezoneMixin, MoneyDisplayMixin, ReadOnlyLedgerAdmin):
    organization_path, currency_path = "account__organization", "account__organization__currency"
    list_display = ["created_col", "account", "previous_col", "amount_col", "temporary_days", "expires_col",
                    "actor_col", "comment"]
    created_col = local_time_column("created_at", "When", "account__organization")
    expires_col = local_time_column("expires_at", "Temporary until", "account__organization")

    @admin.display(description="From")
    def previous_col(self, obj):
        return money(obj.previous_limit, obj.account.organization.currency)

    @admin.display(description="To", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.account.organization.currency)

    @admin.display(description="By")
    def actor_col(self, obj):
        return str(obj.actor_user) if obj.actor_user_id else (obj.actor_service or "system")
    list_select_related = ["account__organization", "actor_user"]

    def get_queryset(self, request):
        return CreditLimitChange.objects.filter(account__in=scoped_accounts(request.user).values("pk")).select_related(
            "account__organization", "actor_user")


@admin.register(SystemAccount)
class SystemAccountAdmin(ReadOnlyLedgerAdmin):
    list_display = ["code", "currency"]
    list_filter = ["code", "currency"]

    def get_queryset(self, request):
        if not sees_all_organizations(request.user):
            return SystemAccount.objects.none()
        return SystemAccount.objects.all()
