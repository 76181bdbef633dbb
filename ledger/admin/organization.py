"""The Organization admin: search, list with balances, the org dashboard and the money action screens.

Every money action is a Django form (ledger.forms) whose valid data goes to one ledger service;
domain errors come back as form errors. Querysets are scoped with ledger.selectors, and every
custom view looks its org up through the scoped queryset (another org's page is a 404) and checks
the action's permission (a POST without it is a 403).
"""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, FilteredRelation, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timesince import timesince
from simple_history.admin import SimpleHistoryAdmin

from approvals import admin as approvals_admin
from approvals.models import ApprovalRequest
from ledger import console_forms, services
from ledger.compiled import SENTINEL_UUID, CompiledQuery
from ledger.errors import LedgerError
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
    ExpiresIn,
    Organization,
    Transaction,
    available_expression,
    effective_limit_expression,
)
from ledger.money import money
from ledger.selectors import organization_openable_by, organizations_openable_by, organizations_search
from ledger.services.rules import is_blocked
from ledger.times import zone_of

from .base import ServiceSavingAdmin, is_uuid
from .dashboard import organization_dashboard
from .org_settings import OrganizationForm, credit_management_consequences
from .panels import PANEL_HEADER, PANELS_BY_NAME, dashboard_panels
from .status import (
    BalanceStatus,
    master_threshold_expression,
    status_badge,
    status_expression,
)

SELF_SERVICE_SETTINGS = ("individual_user_credits", "user_to_user_transfers", "transfer_conditions")


def scoped_organizations(user):
    """Orgs whose pages a user may open (ledger.selectors.organizations_openable_by)."""
    return organizations_openable_by(user)


def with_master_balances(queryset):
    """Annotate orgs with their master's balance, limits, held, available, threshold and status (for lists and sorting).

    The master is one LEFT JOIN (an org has at most one, `one_master_per_org`): a subquery per figure was
    repeated inside the status CASE, some 14 subplans that cost PostgreSQL 3.8 ms to plan for a single org.
    """
    return queryset.annotate(master=FilteredRelation("accounts", condition=Q(accounts__is_master=True))).annotate(
        m_id=F("master__id"), m_balance=F("master__balance"), m_held=F("master__held"),
        m_limit=F("master__credit_limit"), m_effective_limit=effective_limit_expression("master__"),
        m_available=available_expression("master__"), low_threshold=master_threshold_expression(),
    ).annotate(m_status=status_expression())


# The org of a dashboard or panel request with its master balances and its alert settings (thresholds): the
# annotated query costs more Python to build and compile than PostgreSQL spends running it, so its SQL is
# compiled once per process.
ORGANIZATION_WITH_MASTER_BALANCES = CompiledQuery(
    lambda organization_id: with_master_balances(Organization.objects.filter(pk=organization_id))
    .select_related("alert_settings"),
    organization_id=SENTINEL_UUID)


class BalanceStatusFilter(admin.SimpleListFilter):
    title = "balance status"
    parameter_name = "balance"

    def lookups(self, request, model_admin):
        return BalanceStatus.choices

    def queryset(self, request, queryset):
        return queryset.filter(m_status=self.value()) if self.value() in BalanceStatus.values else queryset


class CurrencyFilter(admin.SimpleListFilter):
    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        currencies = model_admin.get_queryset(request).order_by().values_list("currency", flat=True).distinct()
        return [(code, code) for code in sorted(set(currencies))]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class ActionSpec:
    """One object-tool action screen: its URL slug, title, form, permission and service call.

    `perform(request, org, form, key)` calls the service with the form's one-time key and returns
    (result, message); `describe(org, data)` says what the action does, for the duplicate
    prompt; `decisive` names the fields that make two submissions "the same action" (none: the
    action cannot be repeated by mistake, e.g. a switch already in the wanted state does nothing).
    """

    def __init__(self, slug, title, form_class, permission, perform, button, describe, decisive=()):
        self.slug, self.title, self.form_class = slug, title, form_class
        self.permission, self.perform, self.button = permission, perform, button
        self.describe, self.decisive = describe, decisive


def _add_credits(request, org, form, key):
    data = form.cleaned_data
    account = data["account"]
    txn = services.credits_grant(
        actor=services.Actor(user=request.user), account=account, amount=data["amount"],
        expires_in=data["expires_in"], purchase_order=data["purchase_order"], comment=data["comment"],
        idempotency_key=key)
    expiry = dict(ExpiresIn.choices)[data["expires_in"]].lower()
    message = f"Added {money(data['amount'], org.currency)} to {account.name} (expires: {expiry}"
    if data["purchase_order"]:
        message += f", PO {data['purchase_order']}"
    return txn, message + ")."


def _remove_credits(request, org, form, key):
    data = form.cleaned_data
    txn = services.credits_remove(actor=services.Actor(user=request.user), account=data["account"],
                                  amount=data["amount"], comment=data["comment"], idempotency_key=key)
    return txn, f"Removed {money(data['amount'], org.currency)} from {data['account'].name}."


def _set_credit_limit(request, org, form, key):
    data = form.cleaned_data
    days = data.get("temporary_days")
    account = services.credit_limit_set(actor=services.Actor(user=request.user), account=data["account"],
                                        amount=data["amount"], temporary_days=days, comment=data["comment"])
    scope = f"temporary for {days} days" if days else "permanent"
    return account, f"Set the credit limit of {account.name} to {money(data['amount'], org.currency)} ({scope})."


def _transfer(request, org, form, key):
    data = form.cleaned_data
    txn = services.transfer_create(actor=services.Actor(user=request.user), from_account=data["from_account"],
                                   to_account=data["to_account"], amount=data["amount"], comment=data["comment"],
                                   idempotency_key=key)
    return txn, (f"Transferred {money(data['amount'], org.currency)} from {data['from_account'].name} "
                 f"to {data['to_account'].name}.")


def _credit_management(request, org, form, key):
    enabled = form.cleaned_data["enabled"]
    if org.credit_management_enabled == enabled:
        org.replayed = True  # nothing to change: a double submit or a stale page
        return org, ""
    org = services.organization_update(actor=services.Actor(user=request.user), organization=org,
                                       reason=form.cleaned_data.get("comment", ""), credit_management_enabled=enabled)
    return org, f"Credit management switched {'on' if enabled else 'off'}."


def _limit_scope(data) -> str:
    days = data.get("temporary_days")
    return f"temporary for {days} days" if days else "permanent"


ACTIONS = [
    ActionSpec("add-credits", "Add credits", AddCreditsForm, "add_credits", _add_credits, "Add credits",
               lambda org, d: f"grant of {money(d['amount'], org.currency)} to {d['account'].name}",
               ("account", "amount")),
    ActionSpec("remove-credits", "Remove credits", RemoveCreditsForm, "remove_credits", _remove_credits,
               "Remove credits",
               lambda org, d: f"removal of {money(d['amount'], org.currency)} from {d['account'].name}",
               ("account", "amount")),
    ActionSpec("credit-limit", "Set credit limit", CreditLimitForm, "set_credit_limit", _set_credit_limit,
               "Set credit limit",
               lambda org, d: (f"credit limit of {money(d['amount'], org.currency)} ({_limit_scope(d)}) "
                               f"on {d['account'].name}"),
               ("account", "amount", "temporary_days")),
    ActionSpec("transfer", "Transfer credits", TransferForm, "transfer_credits", _transfer, "Transfer",
               lambda org, d: (f"transfer of {money(d['amount'], org.currency)} from {d['from_account'].name} "
                               f"to {d['to_account'].name}"),
               ("from_account", "to_account", "amount")),
    ActionSpec("credit-management", "Credit management", CreditManagementForm, "toggle_credit_management",
               _credit_management, "Save",
               lambda org, d: f"switch of credit management {'on' if d['enabled'] else 'off'}"),
]
ACTIONS_BY_SLUG = {action.slug: action for action in ACTIONS}
PREFILLED = ("account", "from_account", "to_account")  # GET parameters a link may preset on an action form


def result_url(result) -> str:
    """The admin page of what an action made: its transaction, the account's limit changes, or the org's history."""
    if isinstance(result, Transaction):
        return reverse("admin:ledger_transaction_change", args=[result.pk])
    if isinstance(result, Account):
        return reverse("admin:ledger_creditlimitchange_changelist") + f"?account__id__exact={result.pk}"
    if isinstance(result, ApprovalRequest):
        return reverse("admin:approvals_approvalrequest_change", args=[result.pk])
    return reverse("admin:ledger_organization_history", args=[result.pk])


def ago(moment, now=None) -> str:
    """How long ago, for people: "40 seconds", "3 minutes"."""
    seconds = max(0, int(((now or timezone.now()) - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return timesince(moment, now or timezone.now(), depth=1)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin, ServiceSavingAdmin):
    form = OrganizationForm
    change_form_template = "admin/ledger/organization/change_form.html"
    # Fits 1366 px: the figures that matter; limit, held and the switch are on the org page (click the name).
    list_display = ["name_col", "currency", "payment_scheme", "balance_col", "available_col", "status_col"]
    list_display_links = ["name_col"]
    list_filter = [CurrencyFilter, "payment_scheme", "credit_management_enabled", BalanceStatusFilter]
    search_fields = ["name"]
    search_help_text = "Name (any part), exact UUID or exact wallet ID (W-…)."
    readonly_fields = ["id", "wallet_id", "created_at"]
    autocomplete_fields = ["admins"]  # searched 20 at a time: a select would list every user of the installation
    list_per_page = 50

    # --- scoping and permissions ------------------------------------------------------------

    def get_queryset(self, request):
        return with_master_balances(scoped_organizations(request.user))

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        """change_organization, or change_individual_credits (org admins: those settings only, see below)."""
        return super().has_change_permission(request, obj) or (
            obj is not None and self.can(request, "change_individual_credits"))

    def get_autocomplete_fields(self, request):
        """The admins picker where the user may change it (platform staff); for others the field is read-only."""
        return super().get_autocomplete_fields(request) if self.can(request, "change_organization") else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "currency", "timezone", "payment_scheme", "credit_limit",
                                       "credit_management_enabled", "admins"]})]
        return [(None, {"fields": ["name", "id", "wallet_id", "currency", "timezone", "payment_scheme", "reason",
                                   "credit_management_enabled", "created_at"]}),
                ("Buying credits", {"fields": ["purchase_expires_in"]}),
                ("Individual user credits", {"fields": list(SELF_SERVICE_SETTINGS),
                                             "description": "Subaccount users buy and transfer their own credits "
                                                            "(docs/policies.md). Org admins may change these."}),
                ("Spending policy", {"fields": ["spending_policy", "spending_floor" if self.can(
                    request, "set_spending_policy") else "spending_floor_display"],
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
            readonly += ["spending_policy", "spending_floor_display"]
        if not self.can(request, "change_organization"):  # org admins: only their orgs' self-service settings
            editable = {*SELF_SERVICE_SETTINGS, "reason"}
            readonly += [name for fieldset in self.get_fieldsets(request, obj) for name in fieldset[1]["fields"]
                         if name not in editable and name not in readonly]
        return readonly

    @admin.display(description="Spending floor")
    def spending_floor_display(self, org):
        """The floor as an amount of the org's currency (read-only for all but platform staff)."""
        return money(org.spending_floor, org.currency)

    def can(self, request, permission: str) -> bool:
        """Whether the user holds a ledger permission (the org itself is already scoped)."""
        return request.user.has_perm(f"ledger.{permission}")

    def get_scoped_org(self, request, object_id) -> Organization:
        """The org through the user's scoped queryset: 404 for an org they may not see."""
        org = self.read_scoped_org(request, object_id)
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

    @admin.display(description="Organization", ordering="name")
    def name_col(self, obj):
        return format_html('{}<br><span class="quiet wallet-id">{}</span>', obj.name, obj.wallet_id)

    @admin.display(description="Master balance", ordering="m_balance")
    def balance_col(self, obj):
        return money(obj.m_balance, obj.currency)

    @admin.display(description="Available", ordering="m_available")
    def available_col(self, obj):
        text = money(obj.m_available, obj.currency)
        if obj.m_effective_limit:
            limit = money(obj.m_effective_limit, obj.currency)
            return format_html('<span title="balance + credit limit ({}) − held ({})">{}</span>', limit,
                               money(obj.m_held, obj.currency), text)
        return text

    @admin.display(description="Status", ordering="m_status")
    def status_col(self, obj):
        return status_badge(obj.m_status, credit_management_enabled=obj.credit_management_enabled)

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
            changes = form.setting_changes()
            if changes:
                services.organization_update(actor=actor, organization=obj, reason=data.get("reason", ""), **changes)
        except LedgerError as exc:  # the form's clean() pre-checks these; only a race lands here
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)

    # --- dashboard --------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            # the dashboard shows the org as saved: the form's instance may hold rejected values (a bad timezone)
            saved = obj if request.method == "GET" else self.get_queryset(request).get(pk=obj.pk)
            context.update(self.dashboard_context(request, saved))
            context["title"] = "Organization dashboard"
        form = context.get("adminform").form if context.get("adminform") else None
        context["confirmation"] = form.consequences if form is not None and form.awaits_confirmation else None
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The org page, its times rendered in the org's timezone."""
        org = self.get_object(request, object_id) if object_id and is_uuid(object_id) else None
        request.organization_page = org  # get_object() below returns it again: one read of the org per request
        with timezone.override(zone_of(org)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            return response.render() if hasattr(response, "render") and not response.is_rendered else response

    def get_object(self, request, object_id, from_field=None):
        """The org of the page through the user's scope, with the master balances the dashboard shows: read once
        per request (changeform_view reads it first, for its timezone) and reused by the change view."""
        org = getattr(request, "organization_page", None)
        if org is not None and from_field is None and str(org.pk) == str(object_id):
            return org
        if not is_uuid(object_id) or from_field is not None:
            return super().get_object(request, object_id, from_field)
        return self.read_scoped_org(request, object_id)

    def read_scoped_org(self, request, object_id) -> Organization | None:
        """The org as `get_queryset` gives it (master balances annotated), if the user's scope holds it."""
        if not is_uuid(object_id):
            return None
        found = ORGANIZATION_WITH_MASTER_BALANCES(organization_id=uuid.UUID(str(object_id)))
        return found[0] if found and organization_openable_by(request.user, found[0]) else None

    def dashboard_context(self, request, org: Organization) -> dict:
        """Balance breakdown, status, accounts, active lots, latest ledger entries and the rate cards."""
        tools = [{"title": action.title, "url": reverse(f"admin:ledger_organization_{action.slug}", args=[org.pk]),
                  "slug": action.slug}
                 for action in ACTIONS if self.can(request, action.permission)]
        return {**organization_dashboard(request, org, status=org.m_status, tools=tools),
                "panels": dashboard_panels(request, org), "panel_header": PANEL_HEADER}

    # --- history: scoped, never reverted (reverts would bypass the services) ----------------

    def history_view(self, request, object_id, extra_context=None):
        """The org's settings history (who, when, why), in its timezone, with a link to the whole timeline."""
        org = self.get_scoped_org(request, object_id)
        extra = {**(extra_context or {}), "organization": org,
                 "activity_url": reverse("finance:activity", args=[org.pk])
                 if can_view_organization_ledger(request.user, org) else None}
        with timezone.override(zone_of(org)):
            response = super().history_view(request, object_id, extra)
            return response.render() if hasattr(response, "render") and not response.is_rendered else response

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
        urls.append(path("<path:object_id>/panels/<slug:name>/", self.admin_site.admin_view(self.panel_view),
                         name="ledger_organization_panel"))
        return urls + super().get_urls()

    def panel_view(self, request, object_id, name):
        """One deferred panel of the org page (ledger/admin/panels.py) as an HTML fragment, in the org's timezone:
        404 for an unknown panel or an org the user may not see."""
        panel = PANELS_BY_NAME.get(name)
        if panel is None:
            raise Http404("No such panel.")
        org = self.get_scoped_org(request, object_id)
        if request.headers.get("Sec-Fetch-Mode") == "navigate":  # opened as a page: the page with every panel
            return redirect(reverse("admin:ledger_organization_change", args=[org.pk]) + f"?panels=inline#panel-{name}")
        with timezone.override(zone_of(org)):
            html = panel.render(request, org)
        return HttpResponse(html, headers={PANEL_HEADER: panel.name})

    def action_view(self, request, object_id, slug):
        """One money action on one org: a one-time form on GET, the service call on a valid POST.

        GET without a token issues one and redirects to the form's own URL (`?form=<token>`), so
        Back and reload come back to the same form instance; once it was submitted that URL
        shows what it did instead of a fresh form. A POST claims the token first: a used token
        moves nothing, and an identical action made within a few minutes asks for confirmation.
        """
        action = ACTIONS_BY_SLUG[slug]
        org = self.get_scoped_org(request, object_id)
        if not self.can(request, action.permission):
            raise PermissionDenied
        org_url = reverse("admin:ledger_organization_change", args=[org.pk])
        action_url = reverse(f"admin:ledger_organization_{slug}", args=[org.pk])
        duplicate = None
        if request.method == "POST":
            form = action.form_class(request.POST, organization=org)
            signed = request.POST.get("form_token", "")
            token = console_forms.form_token_get(signed=signed, user=request.user, organization=org, action=slug)
            if token is None:  # tampered with, another user's or action's, or purged: a new form instance
                signed = console_forms.form_token_issue(user=request.user, organization=org, action=slug)
                if form.is_valid():
                    form.add_error(None, "This form had expired: nothing was done. Check the values and submit "
                                         "again.")
            elif form.is_valid():
                outcome = self.submit(request, org, action, form, token)
                if outcome is None:
                    return redirect(org_url)
                duplicate = outcome or None
        else:
            signed = request.GET.get("form", "")
            token = console_forms.form_token_get(signed=signed, user=request.user, organization=org, action=slug)
            prefill = {name: request.GET[name] for name in PREFILLED if request.GET.get(name)}
            if token is None:  # links may choose the accounts (?from_account=&to_account=): kept on the form's URL
                signed = console_forms.form_token_issue(user=request.user, organization=org, action=slug)
                return redirect(f"{action_url}?{urlencode({'form': signed, **prefill})}")
            if token.claimed_at is not None:
                return self.render_used(request, org, action, token, org_url, action_url)
            form = action.form_class(organization=org, initial=prefill)
        status = 400 if form.is_bound and form.errors else 200
        return self.render_action(request, org, action, form, org_url, signed, status=status, duplicate=duplicate)

    def submit(self, request, org, action, form, token):
        """Claim the form's token and run the action; None when done (or done before), else the duplicate to confirm."""
        data = form.cleaned_data
        summary = action.describe(org, data)
        fingerprint = (console_forms.fingerprint(action.slug, {name: data.get(name) for name in action.decisive})
                       if action.decisive else "")
        claim = console_forms.form_token_claim(token=token, fingerprint=fingerprint, summary=summary,
                                               confirmed=request.POST.get("confirm_duplicate", ""))
        if claim.outcome == "used":
            self.message_user(request, self.used_message(claim.token), messages.INFO)
            return None
        if claim.outcome == "duplicate":
            return claim.earlier
        try:  # above the currency's approval threshold the action is only requested (approvals)
            with console_forms.released_on_failure(token):
                result, message = (approvals_admin.request_if_needed(request, org, action.slug, data, str(token.pk))
                                   or action.perform(request, org, form, str(token.pk)))
        except LedgerError as exc:
            form.add_ledger_error(exc)
            return False
        url = result_url(result)
        console_forms.form_token_complete(token=token, summary=summary, result_url=url)
        if getattr(result, "replayed", False):
            self.message_user(request, "Already done: this form was submitted before, so nothing was changed "
                                       "twice.", messages.INFO)
        else:
            self.log_change(request, org, message)
            self.message_user(request, message, messages.SUCCESS)
        return None

    def used_message(self, token):
        """What a used form says: when it was sent, what it did, and a link to the entry."""
        text = "Already done: this form was submitted {} ago, so nothing was changed twice."
        if token.result_url:
            return format_html(text + ' <a href="{}">View the entry</a>', ago(token.claimed_at), token.result_url)
        return format_html(text, ago(token.claimed_at))

    def render_used(self, request, org, action, token, org_url, action_url):
        """The page a used form's URL shows (Back, reload): what it did, and a way to a new form."""
        context = {**self.action_context(request, org, action, org_url),
                   "used": token, "used_ago": ago(token.claimed_at), "new_form_url": action_url}
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/ledger/organization/action_used.html", context)

    def render_action(self, request, org, action, form, org_url, signed, status=200, duplicate=None):
        """The action form carrying the token `signed`; with `duplicate`, the confirmation prompt instead of its button."""
        form.fields["form_token"].initial = signed
        if form.is_bound:
            form.data = form.data.copy()
            form.data["form_token"] = signed
        context = {**self.action_context(request, org, action, org_url), "form": form,
                   "media": self.media + form.media}
        if duplicate:
            context.update({"duplicate": duplicate, "duplicate_ago": ago(duplicate.claimed_at)})
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/ledger/organization/action_form.html", context, status=status)

    def action_context(self, request, org, action, org_url) -> dict:
        """What every action page shows: the org, its master balance and available, the admin's chrome."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": org, "organization": org, "title": f"{action.title}: {org.name}",
            "action": action, "org_url": org_url,
            "has_view_permission": self.has_view_permission(request, org),
            "master": org.master_account, "currency": org.currency,
            "master_balance": money(org.master_account.balance, org.currency),
            "master_available": money(org.master_account.available(), org.currency),
            "media": self.media,
            "consequences": credit_management_consequences(org) if action.slug == "credit-management" else None,
            "blocked": is_blocked(org, org.master_account.available()), "floor": money(org.spending_floor, org.currency),
            "approval_note": approvals_admin.threshold_note(org, action.slug),
        }


def wallet_link(org: Organization):
    """A link to an org's dashboard, labelled with its name and wallet ID."""
    return format_html('<a href="{}">{}</a> <span class="quiet">{}</span>',
                       reverse("admin:ledger_organization_change", args=[org.pk]), org.name, org.wallet_id)

