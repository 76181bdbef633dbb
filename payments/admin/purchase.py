"""The purchase screens in the admin: choose account, amount and billing details, review net, tax and total,
pay at the provider, and the confirmation page with the tax invoice; cancel a pending top-up.

Every view looks its org or top-up up through the user's scope (another org's is a 404) and checks who
may buy (`payments.selectors.may_buy`); the services do the rest.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ledger.errors import IdempotencyConflict, LedgerError
from ledger.models import Organization
from ledger.money import money
from ledger.selectors import organizations_for
from ledger.services import Actor

from .. import providers, services
from ..conf import states
from ..forms import PurchaseForm
from ..invoices import invoice_pdf, receipt_filename
from ..models import TopUp, TopUpStatus
from ..pricing import quote
from ..selectors import may_buy, purchasable_accounts, top_ups_for


def _organization(request, org_id) -> Organization:
    try:
        organization = organizations_for(request.user).filter(pk=uuid.UUID(str(org_id))).first()
    except ValueError:
        organization = None
    if organization is None:
        raise Http404("No such organization.")
    return organization


def scoped_top_up(request, top_up_id) -> TopUp:
    """A top-up the user may see, else 404."""
    try:
        top_up = (top_ups_for(request.user).select_related("account__organization", "organization")
                  .filter(pk=uuid.UUID(str(top_up_id))).first())
    except ValueError:
        top_up = None
    if top_up is None:
        raise Http404("No such top-up.")
    return top_up


def confirmation_url(top_up: TopUp) -> str:
    return reverse("admin:payments_topup_confirmation", args=[top_up.pk])


def _context(model_admin, request, organization, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta,
            "organization": organization, "org_url": reverse("admin:ledger_organization_change",
                                                             args=[organization.pk]), **extra}


def _billing_defaults(request, organization: Organization) -> dict:
    """The last billing details used for this org, so a second purchase needs no typing."""
    last = TopUp.objects.filter(organization=organization).order_by("-created_at").first()
    initial = {"billing_email": request.user.email}
    if last is not None:
        initial.update(billing_name=last.billing_name, billing_address=last.billing_address,
                       billing_country=last.billing_country, billing_state=last.billing_state,
                       billing_tax_id=last.billing_tax_id)
    else:
        initial.update(billing_name=organization.name, billing_country="IN" if organization.currency == "INR" else "")
    return initial


def buy_view(model_admin, request, org_id):
    """Buy credits: the form (step 1), the review with net, tax and total (step 2), then the provider."""
    organization = _organization(request, org_id)
    accounts = purchasable_accounts(request.user, organization)
    if not accounts:
        raise PermissionDenied
    account_queryset = organization.accounts.filter(pk__in=[account.pk for account in accounts]).select_related(
        "organization").order_by("-is_master", "name")
    country = request.POST.get("billing_country") or ("IN" if organization.currency == "INR" else "US")
    choices = providers.available(organization.currency, country)
    stage = request.POST.get("stage", "form") if request.method == "POST" else "form"
    if request.method == "POST":
        form = PurchaseForm(request.POST, accounts=account_queryset, providers=choices)
    else:
        initial = _billing_defaults(request, organization)
        wanted = request.GET.get("account")
        initial["account"] = next((a.pk for a in accounts if str(a.pk) == wanted), accounts[0].pk)
        if request.GET.get("amount"):
            initial["amount"] = request.GET["amount"]
        form = PurchaseForm(initial=initial, accounts=account_queryset, providers=choices)
    context = _context(model_admin, request, organization, form=form, title=f"Buy credits: {organization.name}",
                       currency=organization.currency, india_states=states("IN"), stage="form")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            billing = services.billing_clean(form.billing())
            priced = quote(currency=organization.currency, amount=data["amount"], country=billing["country"],
                           state=billing["state"])
            provider = services.provider_choose(organization.currency, billing["country"], data["provider"])
            if stage == "confirm" and "back" not in request.POST:
                top_up = services.top_up_create(
                    actor=Actor(user=request.user), account=data["account"], amount=data["amount"], billing=billing,
                    provider=provider.name, base_url=request.build_absolute_uri("/"),
                    return_url=request.build_absolute_uri(reverse("payments:return")),
                    idempotency_key=str(data["idempotency_key"]))
                if not getattr(top_up, "replayed", False):
                    model_admin.log_addition(request, top_up, f"Top-up of {money(top_up.amount, top_up.currency)} "
                                                              f"started ({top_up.get_provider_display()}).")
                return redirect(top_up.checkout_url or confirmation_url(top_up))
            if "back" not in request.POST:
                context.update(stage="review", quote=priced, provider=provider, billing=billing,
                               state_name=states(billing["country"]).get(billing["state"], "") if billing["state"]
                               else "",
                               rows=[(line.name, f"{line.rate.normalize():f}%", money(line.amount, priced.currency))
                                     for line in priced.tax_lines],
                               net=money(priced.amount, priced.currency), tax=money(priced.tax, priced.currency),
                               total=money(priced.total, priced.currency), account=data["account"])
        except IdempotencyConflict:
            fresh = request.POST.copy()
            fresh["idempotency_key"] = str(uuid.uuid4())
            form = PurchaseForm(fresh, accounts=account_queryset, providers=choices)
            form.is_valid()
            form.add_error(None, "This purchase was already started with other values. Check them and go on again.")
            context.update(form=form, stage="form")
        except LedgerError as exc:
            form.add_ledger_error(exc)
            context.update(stage="form")
    request.current_app = model_admin.admin_site.name
    status = 400 if form.is_bound and form.errors else 200
    return TemplateResponse(request, "payments/buy.html", context, status=status)


def confirmation_view(model_admin, request, top_up_id):
    """Where the buyer lands after paying: the state of the top-up and, once paid, the tax invoice."""
    top_up = scoped_top_up(request, top_up_id)
    organization = top_up.organization
    context = _context(model_admin, request, organization, top_up=top_up,
                       title=f"Top-up {'paid' if top_up.status == TopUpStatus.PAID else top_up.status}",
                       amount=money(top_up.amount, top_up.currency), tax=money(top_up.tax, top_up.currency),
                       total=money(top_up.total, top_up.currency),
                       tax_rows=top_up.tax_rows(),
                       can_act=top_up.is_pending and may_buy(request.user, top_up.account),
                       buy_again_url=reverse("admin:payments_topup_buy", args=[organization.pk])
                       + f"?account={top_up.account_id}",
                       receipt_url=reverse("admin:payments_topup_receipt", args=[top_up.pk]))
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "payments/confirmation.html", context)


def receipt_view(model_admin, request, top_up_id):
    """The tax invoice PDF of a paid top-up (from the confirmation, org and finance pages)."""
    top_up = scoped_top_up(request, top_up_id)
    if top_up.status != TopUpStatus.PAID:
        raise Http404("Only a paid top-up has a tax invoice.")
    response = HttpResponse(invoice_pdf(top_up), content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{receipt_filename(top_up)}"'
    return response


def cancel_view(model_admin, request, top_up_id):
    """Cancel a pending top-up (the banner's "cancel"); then offer to buy again with another amount."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    top_up = scoped_top_up(request, top_up_id)
    if not may_buy(request.user, top_up.account):
        raise PermissionDenied
    try:
        services.top_up_cancel(actor=Actor(user=request.user), top_up=top_up)
    except LedgerError as exc:
        model_admin.message_user(request, f"Not cancelled: {exc.detail}", messages.WARNING)
        return redirect(confirmation_url(top_up))
    model_admin.log_change(request, top_up, "Cancelled the pending top-up.")
    model_admin.message_user(request, f"The pending payment of {money(top_up.total, top_up.currency)} was "
                                      "cancelled. You can buy credits with another amount below.", messages.SUCCESS)
    return redirect(reverse("admin:payments_topup_buy", args=[top_up.organization_id])
                    + f"?account={top_up.account_id}")
