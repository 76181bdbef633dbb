"""Pages outside the admin that a buyer passes through: the sandbox's and Razorpay's checkout pages, bank
transfer instructions, and the return page providers send the buyer back to.

The checkout pages are addressed by a signed token of the top-up id (not guessable); the return page
sends a logged-in buyer on to the admin's confirmation page.
"""

import uuid

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ledger.money import money

from . import services, tasks
from .errors import InvalidSignature
from .models import Provider, TopUp, TopUpStatus
from .providers import razorpay_provider, sandbox
from .selectors import top_ups_for


def _top_up_of(token: str, provider: str) -> TopUp:
    top_up_id = sandbox.top_up_id_from_token(token)
    top_up = TopUp.objects.select_related("organization", "account").filter(pk=top_up_id, provider=provider).first()
    if top_up is None:
        raise Http404("No such checkout.")
    return top_up


def _amounts(top_up: TopUp) -> dict:
    return {"top_up": top_up, "amount": money(top_up.amount, top_up.currency), "tax": money(top_up.tax, top_up.currency),
            "total": money(top_up.total, top_up.currency)}


def _return_url(top_up: TopUp) -> str:
    return reverse("payments:return") + f"?top_up={top_up.pk}"


@require_http_methods(["GET", "HEAD", "POST"])
def sandbox_checkout(request, token):
    """The sandbox's payment page: "Pay" sends a signed payment.succeeded event, "Decline" a payment.failed."""
    if not settings.PAYMENTS_SANDBOX:
        raise Http404("The sandbox provider is off.")
    top_up = _top_up_of(token, Provider.SANDBOX)
    if request.method == "POST" and top_up.status == TopUpStatus.PENDING:
        outcome = sandbox.SUCCEEDED if request.POST.get("outcome") == "pay" else sandbox.FAILED
        webhook_url = settings.SANDBOX_WEBHOOK_URL or request.build_absolute_uri(
            reverse("api-payment-webhook", args=[Provider.SANDBOX]))
        tasks.send_sandbox_event.delay(str(top_up.pk), outcome, webhook_url)
        return redirect(_return_url(top_up))
    return render(request, "payments/sandbox_checkout.html", {**_amounts(top_up), "title": "Sandbox checkout"})


@require_safe
def razorpay_checkout(request, token):
    """The page that opens Razorpay's checkout for the top-up's order (Razorpay's own script)."""
    top_up = _top_up_of(token, Provider.RAZORPAY)
    return render(request, "payments/razorpay_checkout.html", {
        **_amounts(top_up), "title": "Pay with Razorpay", "key_id": settings.RAZORPAY_KEY_ID,
        "minor_amount": razorpay_provider.to_minor(top_up.total, top_up.currency),
        "callback_url": reverse("payments:razorpay_callback", args=[token]), "cancel_url": _return_url(top_up)})


@require_POST
def razorpay_callback(request, token):
    """Razorpay's checkout handler posts here: the payment signature is verified by the SDK, then it settles."""
    top_up = _top_up_of(token, Provider.RAZORPAY)
    try:
        event = razorpay_provider.payment_event(request.POST)
    except InvalidSignature:
        return render(request, "payments/return.html", {**_amounts(top_up), "title": "Payment not verified",
                                                        "not_verified": True}, status=400)
    if event.reference != top_up.provider_reference:
        raise Http404("This payment belongs to another order.")
    event.top_up_id = str(top_up.pk)
    services.payment_event_process(provider=Provider.RAZORPAY, event=event)
    return redirect(_return_url(top_up))


@require_safe
def bank_transfer_instructions(request, token):
    """How to pay a bank-transfer top-up: the bank details and the reference to quote."""
    top_up = _top_up_of(token, Provider.BANK_TRANSFER)
    return render(request, "payments/bank_transfer.html", {**_amounts(top_up), "title": "Pay by bank transfer",
                                                           "details": settings.BANK_TRANSFER_DETAILS})


@require_safe
def payment_return(request):
    """Where providers send the buyer back: the admin confirmation page when logged in, else a short note."""
    top_up_id = request.GET.get("top_up", "")
    if request.user.is_authenticated and top_ups_for(request.user).filter(pk__in=[top_up_id] if _is_uuid(
            top_up_id) else []).exists():
        return redirect("admin:payments_topup_confirmation", top_up_id=top_up_id)
    top_up = TopUp.objects.filter(pk=top_up_id).first() if _is_uuid(top_up_id) else None
    if top_up is None:
        raise Http404("No such top-up.")
    return render(request, "payments/return.html", {**_amounts(top_up), "title": "Thank you"})


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
