"""Pages of individual user credits (mounted at /admin/credits/, namespace "selfservice").

- My credits: a subaccount user's own subaccounts (balance, available) with transfer, buy, last 30 days, CSV
  and print; 404 for anyone else's.
- Transfer: the subaccount user's transfer form. One form shown moves money at most once (the console's
  one-time tokens, `ledger.console_forms`): Back, reload, a second tab or a double click find it used.
- Users' credits (001 step 3): an org admin's one screen with the system credits (the master account) and
  every user's credits, with the actions per row they may use (transfer to and from, buy for).
"""

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_safe

from ledger import console_forms, services
from ledger.errors import LedgerError
from ledger.finance.selectors import can_view_organization_ledger
from ledger.models import Account, BalanceMode, Organization
from ledger.money import money
from ledger.selectors import organizations_openable_by
from ledger.services.rules import is_blocked
from payments.selectors import may_buy

from .forms import SelfTransferForm
from .rules import TRANSFER_PERMISSION, may_transfer_own, self_service_accounts

ACTION = "self-transfer"


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def _buy_url(user, account: Account) -> str | None:
    if not may_buy(user, account):
        return None
    return reverse("admin:payments_topup_buy", args=[account.organization_id]) + "?" + urlencode(
        {"account": account.pk})


@require_safe
@login_required
def my_credits(request):
    """The subaccount user's own subaccounts with their figures and actions."""
    at = timezone.now()
    rows = []
    for account in self_service_accounts(request.user):
        cur = account.organization.currency
        rows.append({
            "account": account, "organization": account.organization,
            "balance": money(account.balance, cur), "available": money(account.available(at), cur),
            "transfer_url": reverse("selfservice:transfer", args=[account.pk])
            if may_transfer_own(request.user, account) else None,
            "buy_url": _buy_url(request.user, account),
            "ledger_url": reverse("finance:my_account_ledger", args=[account.pk]),
            "csv_url": reverse("finance:my_account_ledger_csv", args=[account.pk]),
            "print_url": reverse("finance:my_account_ledger_print", args=[account.pk]),
        })
    return render(request, "selfservice/my_credits.html", _context(
        request, title="My credits", rows=rows, breadcrumbs=[("My credits", None)]))


def _own_account(request, account_id) -> Account:
    account = self_service_accounts(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such subaccount of yours.")
    if not may_transfer_own(request.user, account):
        raise PermissionDenied("You may not transfer credits.")
    return account


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def transfer(request, account_id):
    """A subaccount user's transfer: a one-time form on GET, `services.transfer_create` on a valid POST."""
    account = _own_account(request, account_id)
    org = account.organization
    url = reverse("selfservice:transfer", args=[account.pk])
    back = reverse("selfservice:my_credits")
    if request.method == "POST":
        form = SelfTransferForm(request.POST, account=account)
        signed = request.POST.get("form_token", "")
        token = console_forms.form_token_get(signed=signed, user=request.user, organization=org, action=ACTION)
        if token is None:  # tampered with, another user's, or purged: a new form instance, nothing moved
            signed = console_forms.form_token_issue(user=request.user, organization=org, action=ACTION)
            if form.is_valid():
                form.add_error(None, "This form had expired: nothing was done. Check the values and submit again.")
        elif form.is_valid():
            if _submit(request, account, form, token):
                return redirect(back)
    else:
        signed = request.GET.get("form", "")
        token = console_forms.form_token_get(signed=signed, user=request.user, organization=org, action=ACTION)
        if token is None:
            signed = console_forms.form_token_issue(user=request.user, organization=org, action=ACTION)
            return redirect(f"{url}?{urlencode({'form': signed})}")
        if token.claimed_at is not None:
            return render(request, "selfservice/transfer.html", _context(
                request, title=f"Transfer credits: {account.name}", account=account, used=token, new_form_url=url,
                back_url=back, breadcrumbs=[("My credits", back), ("Transfer", None)]))
        form = SelfTransferForm(account=account)
    form.fields["form_token"].initial = signed
    if form.is_bound:
        form.data = form.data.copy()
        form.data["form_token"] = signed
    cur = org.currency
    master = org.master_account
    return render(request, "selfservice/transfer.html", _context(
        request, title=f"Transfer credits: {account.name}", account=account, form=form, back_url=back,
        balance=money(account.balance, cur), available=money(account.available(), cur),
        master_available=money(master.available(), cur),
        breadcrumbs=[("My credits", back), ("Transfer", None)]), status=400 if form.is_bound and form.errors else 200)


def _submit(request, account: Account, form: SelfTransferForm, token) -> bool:
    """Claim the token and transfer; True when done (or done before), False with the refusal on the form."""
    org = account.organization
    source, target, amount = form.from_account(), form.to_account(), form.cleaned_data["amount"]
    summary = f"transfer of {money(amount, org.currency)} from {source.name} to {target.name}"
    claim = console_forms.form_token_claim(token=token, fingerprint="", summary=summary)
    if claim.outcome == "used":
        messages.info(request, "Already done: this form was submitted before, so nothing was changed twice.")
        return True
    try:
        with console_forms.released_on_failure(token):
            services.transfer_create(actor=services.Actor(user=request.user), from_account=source,
                                     to_account=target, amount=amount, comment=form.cleaned_data["comment"],
                                     idempotency_key=str(token.pk))
    except LedgerError as exc:
        form.add_ledger_error(exc)
        return False
    console_forms.form_token_complete(token=token, summary=summary,
                                      result_url=reverse("finance:my_account_ledger", args=[account.pk]))
    messages.success(request, f"Transferred {money(amount, org.currency)} from {source.name} to {target.name}.")
    return True


# --- the org admin's screen ------------------------------------------------------------------------------


def _admin_action_url(slug: str, org: Organization, **prefill) -> str:
    return reverse(f"admin:ledger_organization_{slug}", args=[org.pk]) + "?" + urlencode(
        {name: str(value) for name, value in prefill.items()})


@require_safe
@login_required
def organization_credits(request, org_id):
    """System credits and every user's credits of one org on one screen, with the actions per row (001 step 3)."""
    org = organizations_openable_by(request.user).filter(pk=org_id).first()
    if org is None or not request.user.has_perm("ledger.view_account"):
        raise Http404("No such organization.")
    user, at, cur = request.user, timezone.now(), org.currency
    may_transfer = user.has_perm(TRANSFER_PERMISSION)
    accounts = list(org.accounts.select_related("owner").order_by("-is_master", "name"))
    master = next(account for account in accounts if account.is_master)
    rows = []
    for account in accounts:
        own = account.balance_mode == BalanceMode.OWN
        row = {"account": account, "shared": not own,
               "owner": (account.owner.get_full_name() or account.owner.get_username()) if account.owner else "",
               "balance": money(account.balance, cur), "held": money(account.held, cur),
               "available": money(account.available(at), cur), "actions": []}
        if own and not account.is_master and may_transfer:
            row["actions"] += [
                {"slug": "transfer-to", "title": "Transfer to",
                 "url": _admin_action_url("transfer", org, from_account=master.pk, to_account=account.pk)},
                {"slug": "transfer-from", "title": "Transfer from",
                 "url": _admin_action_url("transfer", org, from_account=account.pk, to_account=master.pk)}]
        buy = _buy_url(user, account) if own else None
        if buy:
            row["actions"].append({"slug": "buy-for", "title": "Buy for", "url": buy})
        rows.append(row)
    user_total = sum((a.balance for a in accounts if not a.is_master and a.balance_mode == BalanceMode.OWN), 0)
    return render(request, "selfservice/org_credits.html", _context(
        request, title=f"Users' credits: {org.name}", organization=org, rows=rows,
        system={"balance": money(master.balance, cur), "available": money(master.available(at), cur),
                "held": money(master.held, cur)},
        users_total=money(user_total, cur), blocked=is_blocked(org, master.available(at)),
        floor=money(org.spending_floor, cur),
        ledger_url=reverse("finance:org_ledger", args=[org.pk]) if can_view_organization_ledger(user, org) else None,
        breadcrumbs=[(str(org), reverse("admin:ledger_organization_change", args=[org.pk])),
                     ("Users' credits", None)]))
