"""Views of the top-up API: create, read, list and cancel top-ups, the receipt PDF, and provider webhooks.

Objects of orgs the caller may not see answer 404. Webhooks carry no token: the provider's signature
(verified by its SDK, or the sandbox's HMAC) is the authentication; a bad or stale one is `400 invalid`.
"""

import uuid

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apiauth.throttling import FailOpenRateThrottle
from ledger.api.idempotency import fingerprint, idempotency_key, key_parameter, respond
from ledger.api.pagination import KeysetPagination, paginated
from ledger.api.permissions import actor_for, is_service, visible_organizations
from ledger.api.schema import api_schema, page_parameters, responses
from ledger.api.views import ID, ApiView, get_account, validated

from .. import providers, services
from ..errors import InvalidSignature, TopUpNotPending
from ..invoices import invoice_pdf, receipt_filename
from ..models import TopUp, TopUpStatus
from ..selectors import may_buy, top_ups_for
from . import serializers as s

TOP_UP_EXAMPLE = {"amount": "1000", "billing": {"name": "Acme Retail Pvt Ltd", "address": "4 Park Street, Kolkata",
                                                "country": "IN", "state": "WB", "tax_id": ""}}


def get_top_up(request, pk) -> TopUp:
    """A top-up the caller may see, else 404."""
    try:
        top_up_id = uuid.UUID(str(pk))
    except ValueError:
        raise exceptions.NotFound(f"No top-up {pk}.")
    if is_service(request):  # a token sees the top-ups of its orgs only
        top_ups = TopUp.objects.filter(organization__in=visible_organizations(request).values("pk"))
    else:
        top_ups = top_ups_for(request.user)
    top_up = top_ups.select_related("account__organization", "organization").filter(pk=top_up_id).first()
    if top_up is None:
        raise exceptions.NotFound(f"No top-up {pk}.")
    return top_up


def _require_buyer(request, account) -> None:
    if not is_service(request) and not may_buy(request.user, account):
        raise exceptions.PermissionDenied(
            "Your user may not buy credits for this account (individual user credits may be off for its org).")


class AccountTopUpsView(ApiView):
    scopes = {"GET": "read", "POST": "manage"}
    user_permissions = {"POST": ["ledger.buy_credits"]}
    pagination = KeysetPagination(("-created_at", "-id"))

    @api_schema(tags=["top-ups"], summary="Top-ups of an account, newest first",
                description="Every top-up of the account (pending, paid, failed, cancelled, expired), newest "
                            "first, keyset-paginated `{results, next}`. Scope `read`; a user sees the accounts "
                            "they may see (404 otherwise).",
                parameters=[ID, *page_parameters()],
                responses=responses({200: paginated(s.TopUpSerializer)}, 404))
    def get(self, request, id):
        account = get_account(request, id)
        rows, next_url = self.pagination.paginate(TopUp.objects.filter(account=account), request)
        return self.pagination.response([s.TopUpSerializer.render(row) for row in rows], next_url)

    @api_schema(
        tags=["top-ups"], summary="Buy credits: start a top-up (pending until the provider settles it)",
        description="`amount` is the net amount (the credits granted); `total = amount + tax`. Outside the "
                    "currency's limits (INR 100 to 100,000; USD 5 to 2,000; others as configured; a currency "
                    "without limits is refused): `400 invalid` naming the limits. INR carries 18% GST: CGST 9% + "
                    "SGST 9% when `billing.state` is the seller's state, otherwise IGST 18%, rounded half up to "
                    "the paisa. Send the buyer to `checkout_url`. Scope `manage` (users: permission to buy "
                    "credits). A retry with the same `Idempotency-Key` returns the same top-up (one checkout).",
        parameters=[ID, key_parameter()], request=s.TopUpCreateSerializer,
        responses=responses({201: s.TopUpSerializer}, 404, 409),
        examples=[OpenApiExample("INR top-up", request_only=True, value=TOP_UP_EXAMPLE)],
    )
    def post(self, request, id):
        key = idempotency_key(request)
        account = get_account(request, id)
        data = validated(s.TopUpCreateSerializer, request.data)
        _require_buyer(request, account)
        actor = actor_for(request)
        top_up = services.top_up_create(
            actor=actor, account=account, amount=data["amount"], billing=data["billing"], provider=data["provider"],
            base_url=request.build_absolute_uri("/"), idempotency_key=key,
            fingerprint=fingerprint(request, request.data),
            return_url=request.build_absolute_uri(reverse("payments:return")))
        return respond(actor=actor, key=key, result=top_up, status=201, render=s.TopUpSerializer.render)


class TopUpDetailView(ApiView):
    @api_schema(tags=["top-ups"], summary="A top-up",
                description="One top-up with its tax lines, status and (while pending) `checkout_url`: poll it "
                            "after the buyer returns from the checkout. Scope `read`; 404 for a top-up of an "
                            "org the caller may not see.",
                parameters=[ID], responses=responses({200: s.TopUpSerializer}, 404))
    def get(self, request, id):
        return Response(s.TopUpSerializer.render(get_top_up(request, id)))


class TopUpCancelView(ApiView):
    scopes = {"POST": "manage"}
    user_permissions = {"POST": ["ledger.buy_credits"]}

    @api_schema(tags=["top-ups"], summary="Cancel a pending top-up (409 top_up_not_pending otherwise)",
                description="The buyer changed their mind: the top-up is `cancelled` and the provider's checkout "
                            "closed; a payment arriving later is recorded for refund, never granted. Anything "
                            "but a pending top-up answers `409 top_up_not_pending`. With an `Idempotency-Key`, "
                            "a retry gets the first answer back (`Idempotent-Replayed: true`) instead of 409.",
                parameters=[ID, key_parameter(required=False)], request=None,
                responses=responses({200: s.TopUpSerializer}, 404, 409))
    def post(self, request, id):
        key = idempotency_key(request, required=False)
        top_up = get_top_up(request, id)
        _require_buyer(request, top_up.account)
        actor = actor_for(request)
        top_up = services.top_up_cancel(actor=actor, top_up=top_up, idempotency_key=key)
        return respond(actor=actor, key=key, result=top_up, status=200, render=s.TopUpSerializer.render)


class TopUpReceiptView(ApiView):
    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type  # the PDF is returned as is; errors are JSON

    @api_schema(tags=["top-ups"], summary="The tax invoice / receipt of a paid top-up (PDF)",
                description="The tax invoice of a paid top-up as a PDF attachment (seller, buyer, invoice number, "
                            "net, tax lines, total); a top-up that is not paid answers `409 top_up_not_pending`.",
                parameters=[ID],
                responses=responses({(200, "application/pdf"): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The tax invoice as PDF.")}, 404, 409))
    def get(self, request, id):
        top_up = get_top_up(request, id)
        if top_up.status != TopUpStatus.PAID:
            raise TopUpNotPending(f"The top-up is {top_up.status}: only a paid top-up has a receipt.")
        response = HttpResponse(invoice_pdf(top_up), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{receipt_filename(top_up)}"'
        return response


class WebhookRateThrottle(FailOpenRateThrottle):
    """Webhook posts per provider and client address (setting PAYMENT_WEBHOOK_RATE): whoever floods the
    endpoint with forged events is answered 429 before any signature is checked. Fails open like the others."""

    scope = "payment_webhook"
    policy = "webhook"

    def get_cache_key(self, request, view):
        provider = str(view.kwargs.get("provider", ""))[:32]
        return self.cache_format % {"scope": f"{self.scope}:{provider}", "ident": self.get_ident(request)}


# No token: 401 and 403 cannot happen; a bad signature is 400, an unknown provider 404, the per-address quota 429.
WEBHOOK_RESPONSES = {status: response for status, response in responses({200: s.WebhookAckSerializer}, 404).items()
                     if status not in (401, 403)}


class WebhookView(ApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookRateThrottle]

    @api_schema(
        tags=["payments"], summary="A payment provider's event (signed by the provider, no token)",
        description="Providers: `stripe` (Stripe-Signature), `razorpay` (X-Razorpay-Signature), `sandbox` "
                    "(`Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(SANDBOX_WEBHOOK_SECRET, "
                    "\"<t>.<raw body>\")>`, body `{id, type: payment.succeeded|payment.failed, top_up, amount, "
                    "currency}`, refused when older than 5 minutes). Settles a top-up exactly once; a repeated or "
                    "late event changes nothing more and answers 200. A bad or stale signature is `400 invalid` "
                    "(`errors.signature`); a provider not configured here is 404; more than the per-address "
                    "quota (setting `PAYMENT_WEBHOOK_RATE`) is `429 throttled` with `Retry-After`.",
        parameters=[OpenApiParameter("provider", str, OpenApiParameter.PATH, enum=["stripe", "razorpay", "sandbox"])],
        request=OpenApiTypes.OBJECT, responses=WEBHOOK_RESPONSES,
    )
    def post(self, request, provider):
        handler = providers.get(provider)
        if handler is None or not handler.supports_webhooks or not handler.is_configured():
            raise exceptions.NotFound(f"No payment provider {provider} takes webhooks here.")
        body = request._request.body
        try:
            event = handler.parse_webhook(body, request.headers)
        except InvalidSignature as exc:
            raise exceptions.ValidationError({"signature": [exc.detail]})
        outcome = services.payment_event_process(provider=handler.name, event=event)
        return Response({"received": True, "outcome": outcome})
