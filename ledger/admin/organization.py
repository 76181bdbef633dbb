"""The Organization admin: search, list with balances, the org dashboard and the money action screens.

Every money action is a Django form (ledger.forms) whose valid data goes to one ledger service;
domain errors come back as form errors. Querysets are scoped with ledger.selectors, and every
custom view looks its org up through the scoped queryset (another org's page is a 404) and checks
the action's permission (a POST without it is a 403).
"""

import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from alerts.models import AlertSettings
from alerts.selectors import is_low, low_condition, low_credit_threshold, threshold_expression
from ledger import services
from ledger.currencies import CURRENCIES
from ledger.errors import IdempotencyConflict, LedgerError
from ledger.finance.selectors import can_view_organization_ledger
from ledger.forms import (
    AddCreditsForm,
    CreditLimitForm,
    CreditManagementForm,
    RemoveCreditsForm,
    TransferForm,
)
from ledger.models import (
    ZERO,
    Account,
    BalanceMode,
    CreditLot,
    ExpiresIn,
    Hold,
    HoldStatus,
    MoneyField,
    Organization,
    Posting,
    available_expression,
    effective_limit_expression,
)
from ledger.money import money
from ledger.selectors import organizations_openable_by, organizations_search
from ledger.services.limits import require_postpaid_limit
from ledger.services.rules import is_blocked
from ratecards.selectors import rate_card_current

from .base import ServiceSavingAdmin

LATEST_ENTRIES = 20


def scoped_organizations(user):
    """Orgs whose pages a user may open (ledger.selectors.organizations_openable_by)."""
    return organizations_openable_by(user)


def with_master_balances(queryset):
    """Annotate orgs with their master account's balance, limits, held and available (for lists and sorting)."""
    master = Account.objects.filter(organization=OuterRef("pk"), is_master=True).annotate(
        effective_limit=effective_limit_expression(), available=available_expression())

    def field(name):
        return Subquery(master.values(name)[:1], output_field=MoneyField())

    return queryset.annotate(
        m_balance=field("balance"), m_held=field("held"), m_limit=field("credit_limit"),
        m_effective_limit=field("effective_limit"), m_available=field("available"),
        low_threshold=threshold_expression())


class BalanceStatusFilter(admin.SimpleListFilter):
    title = "balance status"
    parameter_name = "balance"

    def lookups(self, request, model_admin):
        return [("negative", "Negative balance"), ("low", "Low credit (at or below the alert threshold)"),
                ("ok", "Healthy")]

    def queryset(self, request, queryset):
        low = low_condition("m_available", "low_threshold")
        if self.value() == "negative":
            return queryset.filter(m_balance__lt=0)
        if self.value() == "low":
            return queryset.filter(low)
        if self.value() == "ok":
            return queryset.exclude(low)
        return queryset


class CurrencyFilter(admin.SimpleListFilter):
    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        currencies = model_admin.get_queryset(request).order_by().values_list("currency", flat=True).distinct()
        return [(code, code) for code in sorted(set(currencies))]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class OrganizationForm(forms.ModelForm):
    """Org settings; on add, the master account's credit limit too (postpaid needs one)."""

    currency = forms.ChoiceField(choices=[(code, code) for code in sorted(CURRENCIES)], initial="INR",
                                 help_text="ISO 4217. 1 credit = 1 unit of this currency; it cannot change later.")
    credit_limit = forms.DecimalField(max_digits=20, decimal_places=6, min_value=ZERO, required=False, initial=ZERO,
                                      help_text="Credit limit of the master account (required for postpaid).")

    class Meta:
        model = Organization
        fields = ["name", "currency", "timezone", "payment_scheme", "credit_management_enabled", "spending_policy",
                  "spending_floor", "admins"]
        help_texts = {"timezone": "IANA name, e.g. Asia/Kolkata. Expiry dates and months are counted in it.",
                      "payment_scheme": "Postpaid accounts need a credit limit; usage is invoiced monthly."}

    def clean(self):
        data = super().clean()
        try:  # the services check it again when saving; here it becomes a form error before anything is saved
            if self.instance._state.adding:
                require_postpaid_limit(data.get("payment_scheme"), data.get("credit_limit") or ZERO,
                                       field="credit_limit")
            elif "payment_scheme" in self.changed_data:
                require_postpaid_limit(data.get("payment_scheme"), self.instance.master_account.credit_limit,
                                       field="payment_scheme")
        except LedgerError as exc:
            for field, messages in exc.errors.items():
                self.add_error(field, messages)
        return data


class ActionSpec:
    """One object-tool action screen: its URL slug, title, form, permission and service call."""

    def __init__(self, slug, title, form_class, permission, perform, button):
        self.slug, self.title, self.form_class = slug, title, form_class
        self.permission, self.perform, self.button = permission, perform, button


def _add_credits(request, org, form):
    data = form.cleaned_data
    account = data["account"]
    txn = services.credits_grant(
        actor=services.Actor(user=request.user), account=account, amount=data["amount"],
        expires_in=data["expires_in"], purchase_order=data["purchase_order"], comment=data["comment"],
        idempotency_key=form.key)
    expiry = dict(ExpiresIn.choices)[data["expires_in"]].lower()
    message = f"Added {money(data['amount'], org.currency)} to {account.name} (expires: {expiry}"
    if data["purchase_order"]:
        message += f", PO {data['purchase_order']}"
    return txn, message + ")."


def _remove_credits(request, org, form):
    data = form.cleaned_data
    txn = services.credits_remove(actor=services.Actor(user=request.user), account=data["account"],
                                  amount=data["amount"], comment=data["comment"], idempotency_key=form.key)
    return txn, f"Removed {money(data['amount'], org.currency)} from {data['account'].name}."


def _set_credit_limit(request, org, form):
    data = form.cleaned_data
    days = data.get("temporary_days")
    account = services.credit_limit_set(actor=services.Actor(user=request.user), account=data["account"],
                                        amount=data["amount"], temporary_days=days, comment=data["comment"])
    scope = f"temporary for {days} days" if days else "permanent"
    return account, f"Set the credit limit of {account.name} to {money(data['amount'], org.currency)} ({scope})."


def _transfer(request, org, form):
    data = form.cleaned_data
    txn = services.transfer_create(actor=services.Actor(user=request.user), from_account=data["from_account"],
                                   to_account=data["to_account"], amount=data["amount"], comment=data["comment"],
                                   idempotency_key=form.key)
    return txn, (f"Transferred {money(data['amount'], org.currency)} from {data['from_account'].name} "
                 f"to {data['to_account'].name}.")


def _credit_management(request, org, form):
    enabled = form.cleaned_data["enabled"]
    if org.credit_management_enabled == enabled:
        org.replayed = True  # nothing to change: a double submit or a stale page
        return org, ""
    org = services.organization_update(actor=services.Actor(user=request.user), organization=org,
                                       credit_management_enabled=enabled)
    return org, f"Credit management switched {'on' if enabled else 'off'}."


ACTIONS = [
    ActionSpec("add-credits", "Add credits", AddCreditsForm, "manage_credits", _add_credits, "Add credits"),
    ActionSpec("remove-credits", "Remove credits", RemoveCreditsForm, "manage_credits", _remove_credits,
               "Remove credits"),
    ActionSpec("credit-limit", "Set credit limit", CreditLimitForm, "set_credit_limit", _set_credit_limit,
               "Set credit limit"),
    ActionSpec("transfer", "Transfer credits", TransferForm, "transfer_credits", _transfer, "Transfer"),
    ActionSpec("credit-management", "Credit management", CreditManagementForm, "toggle_credit_management",
               _credit_management, "Save"),
]
ACTIONS_BY_SLUG = {action.slug: action for action in ACTIONS}


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin, ServiceSavingAdmin):
    form = OrganizationForm
    change_form_template = "admin/ledger/organization/change_form.html"
    list_display = ["name", "wallet_id", "currency", "payment_scheme", "balance_col", "credit_limit_col",
                    "held_col", "available_col", "credit_management_enabled", "low_balance_col"]
    list_display_links = ["name", "wallet_id"]
    list_filter = [CurrencyFilter, "payment_scheme", "credit_management_enabled", BalanceStatusFilter]
    search_fields = ["name"]
    search_help_text = "Name (any part), exact UUID or exact wallet ID (W-…)."
    readonly_fields = ["id", "wallet_id", "created_at"]
    filter_horizontal = ["admins"]
    list_per_page = 50

    # --- scoping and permissions ------------------------------------------------------------

    def get_queryset(self, request):
        return with_master_balances(scoped_organizations(request.user))

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "currency", "timezone", "payment_scheme", "credit_limit",
                                       "credit_management_enabled", "admins"]})]
        return [(None, {"fields": ["name", "id", "wallet_id", "currency", "timezone", "payment_scheme",
                                   "credit_management_enabled", "created_at"]}),
                ("Spending policy", {"fields": ["spending_policy", "spending_floor"],
                                     "description": "What may be spent when credits run short (docs/policies.md). "
                                                    "Only platform staff change it; every change is in the history."}),
                ("Org admins", {"fields": ["admins"], "classes": ["collapse"],
                                "description": "Users who see and steer this org only (they need is_staff "
                                               "and the Org admin group to log in)."})]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # the switch has its own action screen (logged, idempotent); the currency never changes
        readonly = [*self.readonly_fields, "currency", "credit_management_enabled"]
        if not self.can(request, "set_spending_policy"):
            readonly += ["spending_policy", "spending_floor"]
        return readonly

    def can(self, request, permission: str) -> bool:
        """Whether the user holds a ledger permission (the org itself is already scoped)."""
        return request.user.has_perm(f"ledger.{permission}")

    def get_scoped_org(self, request, object_id) -> Organization:
        """The org through the user's scoped queryset: 404 for an org they may not see."""
        try:
            uuid.UUID(str(object_id))
        except ValueError:
            raise Http404("No such organization.")
        org = self.get_queryset(request).filter(pk=object_id).first()
        if org is None or not self.has_view_or_change_permission(request, org):
            raise Http404("No such organization.")
        return org

    # --- search -------------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        """Name substring, or an exact UUID, or an exact wallet ID (case-insensitive)."""
        term = search_term.strip()
        results, may_have_duplicates = super().get_search_results(request, queryset, term)
        if not term:
            return results, may_have_duplicates
        return results | organizations_search(queryset, term), may_have_duplicates

    # --- list columns -----------------------------------------------------------------------

    @admin.display(description="Balance", ordering="m_balance")
    def balance_col(self, obj):
        return money(obj.m_balance, obj.currency)

    @admin.display(description="Credit limit", ordering="m_effective_limit")
    def credit_limit_col(self, obj):
        text = money(obj.m_effective_limit, obj.currency)
        return f"{text} (temporary)" if obj.m_effective_limit != obj.m_limit else text

    @admin.display(description="Held", ordering="m_held")
    def held_col(self, obj):
        return money(obj.m_held, obj.currency)

    @admin.display(description="Available", ordering="m_available")
    def available_col(self, obj):
        return money(obj.m_available, obj.currency)

    @admin.display(description="Low balance", boolean=True)
    def low_balance_col(self, obj):
        if obj.m_available is None:
            return None
        return is_low(obj.m_available, obj.low_threshold)

    # --- saving: through the services ------------------------------------------------------

    def save_model(self, request, obj, form, change):
        actor = services.Actor(user=request.user)
        data = form.cleaned_data
        try:
            if not change:
                created = services.organization_create(
                    actor=actor, name=data["name"], currency=data["currency"], timezone_name=data["timezone"],
                    payment_scheme=data["payment_scheme"], credit_limit=data.get("credit_limit") or ZERO,
                    credit_management_enabled=data["credit_management_enabled"])
                obj.pk, obj.wallet_id, obj.created_at = created.pk, created.wallet_id, created.created_at
                obj._state.adding, obj._state.db = False, created._state.db
                return
            editable = ("name", "timezone", "payment_scheme", "spending_policy", "spending_floor")
            changes = {name: data[name] for name in editable if name in form.changed_data}
            if changes:
                services.organization_update(actor=actor, organization=obj, **changes)
        except LedgerError as exc:  # the form's clean() pre-checks these; only a race lands here
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)

    # --- dashboard --------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context.update(self.dashboard_context(request, obj))
            context["title"] = "Organization dashboard"
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def dashboard_context(self, request, org: Organization) -> dict:
        """Balance breakdown, accounts, active lots, latest ledger entries and the rate card in force."""
        at = timezone.now()
        cur = org.currency
        accounts = list(org.accounts.select_related("owner").order_by("-is_master", "name"))
        master = next(account for account in accounts if account.is_master)
        limit_expires = master.credit_limit_expires_at(at)
        available = master.available(at)
        threshold = low_credit_threshold(org)
        breakdown = {
            "balance": money(master.balance, cur), "balance_negative": master.balance < 0,
            "credit_limit": money(master.effective_credit_limit(at), cur),
            "permanent_limit": money(master.credit_limit, cur) if limit_expires else None,
            "limit_expires_at": limit_expires,
            "held": money(master.held, cur), "available": money(available, cur),
            "low": is_low(available, threshold), "threshold": money(threshold, cur) if threshold > 0 else None,
            "blocked": is_blocked(org, available), "floor": money(org.spending_floor, cur),
        }
        account_rows = [{
            "account": account, "url": reverse("admin:ledger_account_change", args=[account.pk]),
            "mode": "Master" if account.is_master else account.get_balance_mode_display(),
            "shared": account.balance_mode == BalanceMode.SHARED,
            "balance": money(account.balance, cur), "held": money(account.held, cur),
            "credit_limit": money(account.effective_credit_limit(at), cur),
            "available": money(account.available(at), cur),
        } for account in accounts]
        lots = (CreditLot.objects.filter(account__organization=org, remaining__gt=0)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at)).select_related("account", "created_by")
                .order_by(F("expires_at").asc(nulls_last=True), "granted_at")[:50])
        lot_rows = [{
            "lot": lot, "remaining": money(lot.remaining, cur), "amount": money(lot.amount, cur),
            "expires_soon": lot.expires_at is not None and lot.expires_at - at <= timedelta(days=30),
        } for lot in lots]
        postings = (Posting.objects.filter(account__organization=org)
                    .select_related("transaction", "transaction__actor_user", "account")
                    .order_by("-created_at", "-id")[:LATEST_ENTRIES])
        entry_rows = [{
            "posting": posting, "txn": posting.transaction, "amount": money(posting.amount, cur),
            "credit": posting.amount > 0, "balance_after": money(posting.balance_after, cur),
            "url": reverse("admin:ledger_transaction_change", args=[posting.transaction_id]),
        } for posting in postings]
        active_holds = Hold.objects.filter(account__organization=org, status=HoldStatus.ACTIVE).count()
        user = request.user
        tools = [{"title": action.title, "url": reverse(f"admin:ledger_organization_{action.slug}", args=[org.pk]),
                  "slug": action.slug}
                 for action in ACTIONS if self.can(request, action.permission)]
        return {
            "organization": org, "breakdown": breakdown, "account_rows": account_rows, "lot_rows": lot_rows,
            "entry_rows": entry_rows, "rate_card": self.rate_card_context(org, at), "action_tools": tools,
            "active_holds": active_holds,
            "ledger_url": reverse("admin:ledger_transaction_changelist") + f"?organization__id__exact={org.pk}",
            "holds_url": reverse("admin:ledger_hold_changelist") + f"?account__organization__id__exact={org.pk}",
            "can_view_ledger": user.has_perm("ledger.view_transaction"),
            "org_links": (links := self.org_links(request, org)),
            "rate_card_url": next((link["url"] for link in links if link["slug"] == "rate-card"), None),
        }

    def org_links(self, request, org: Organization) -> list[dict]:
        """Links from the org page to the org's other pages the user may open (finance, rate card, alerts)."""
        user = request.user
        links = []
        if can_view_organization_ledger(user, org):
            links += [{"slug": "finance-ledger", "title": "Finance ledger",
                       "url": reverse("finance:org_ledger", args=[org.pk])},
                      {"slug": "reports", "title": "Reports", "url": reverse("finance:reports", args=[org.pk])}]
        if user.has_perm("ratecards.view_ratecardversion"):
            url = _admin_url("admin:ratecards_ratecardversion_organization", org.pk)
            if url:
                links.append({"slug": "rate-card", "title": "Rate card and history", "url": url})
        url = None
        settings_id = AlertSettings.objects.filter(organization=org).values_list("pk", flat=True).first()
        if settings_id is not None and user.has_perm("alerts.view_alertsettings"):
            url = _admin_url("admin:alerts_alertsettings_change", settings_id)
        elif settings_id is None and user.has_perm("alerts.add_alertsettings"):
            url = _admin_url("admin:alerts_alertsettings_add")
            url = url and f"{url}?organization={org.pk}"  # the add form starts with this org chosen
        if url:
            links.append({"slug": "alert-settings", "title": "Alert settings", "url": url})
        return links

    def rate_card_context(self, org: Organization, at) -> dict:
        """The rate card version in force and its first rates."""
        version = rate_card_current(org, at=at)
        if version is None:
            return {"version": None}
        rates = list(version.rates.all()[:30])
        return {"version": version, "rates": [{"rate": rate, "price": money(rate.unit_price, org.currency)}
                                              for rate in rates],
                "more": version.rates.count() > len(rates)}

    # --- history: scoped, never reverted (reverts would bypass the services) ----------------

    def history_view(self, request, object_id, extra_context=None):
        self.get_scoped_org(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.get_scoped_org(request, object_id)
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    # --- action screens ---------------------------------------------------------------------

    def get_urls(self):
        urls = [
            path(f"<path:object_id>/{action.slug}/", self.admin_site.admin_view(self.action_view),
                 {"slug": action.slug}, name=f"ledger_organization_{action.slug}")
            for action in ACTIONS
        ]
        return urls + super().get_urls()

    def action_view(self, request, object_id, slug):
        """One money action on one org: a form on GET, the service call on a valid POST."""
        action = ACTIONS_BY_SLUG[slug]
        org = self.get_scoped_org(request, object_id)
        if not self.can(request, action.permission):
            raise PermissionDenied
        org_url = reverse("admin:ledger_organization_change", args=[org.pk])
        if request.method == "POST":
            form = action.form_class(request.POST, organization=org)
            if form.is_valid():
                try:
                    result, message = action.perform(request, org, form)
                except IdempotencyConflict:
                    data = request.POST.copy()
                    data["idempotency_key"] = str(uuid.uuid4())
                    form = action.form_class(data, organization=org)
                    form.is_valid()
                    form.add_error(None, "This form was already submitted with other values. "
                                         "Check the values and submit again.")
                except LedgerError as exc:
                    form.add_ledger_error(exc)
                else:
                    if getattr(result, "replayed", False):
                        self.message_user(request, "Already done: this form was submitted before, "
                                                   "so nothing was changed twice.", messages.INFO)
                    else:
                        self.log_change(request, org, message)
                        self.message_user(request, message, messages.SUCCESS)
                    return redirect(org_url)
        else:
            form = action.form_class(organization=org)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": org, "organization": org, "title": f"{action.title}: {org.name}",
            "form": form, "action": action, "org_url": org_url,
            "has_view_permission": self.has_view_permission(request, org),
            "master": org.master_account, "currency": org.currency,
            "master_balance": money(org.master_account.balance, org.currency),
            "master_available": money(org.master_account.available(), org.currency),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/ledger/organization/action_form.html", context,
                                status=400 if form.is_bound and form.errors else 200)


def _admin_url(name: str, *args) -> str | None:
    """An admin URL, or None when the app that registers it is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def wallet_link(org: Organization):
    """A link to an org's dashboard, labelled with its name and wallet ID."""
    return format_html('<a href="{}">{}</a> <span class="quiet">{}</span>',
                       reverse("admin:ledger_organization_change", args=[org.pk]), org.name, org.wallet_id)

