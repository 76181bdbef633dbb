"""Views of the ledger API: validate the request, call one ledger service, render the result.

Every object is looked up among those the caller may see (`visible_accounts`,
`visible_organizations`): another org's id answers 404 like an unknown one.
"""

import threading
import uuid

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Prefetch, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from ledger import services
from ledger.compiled import SENTINEL_INT, SENTINEL_UUID, CompiledQuery
from ledger.finance.csv import (
    actor_cell,
    amount_cell,
    copies_csv,
    copy_lines,
    csv_response,
    keyset_values,
    stream_rows,
    text_cell,
    time_cell,
)
from ledger.models import QUANTUM, Account, CreditLot, Hold, Organization, Posting
from ledger.selectors import (
    entry_kind,
    entry_kind_expression,
    is_org_admin_of,
    organizations_search,
    postings_of_kind,
    sees_all_organizations,
)
from ledger.selfservice.rules import may_transfer_between

from . import serializers as s
from .errors import error_body, error_response, flatten_errors
from .idempotency import fingerprint, idempotency_key, key_parameter, respond
from .pagination import KeysetPagination, paginated
from .permissions import (
    actor_for,
    is_service,
    may_create_organizations,
    token_accounts,
    visible_accounts,
    visible_organizations,
)
from .schema import api_schema, page_parameters, responses

ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The object's id (UUID).")


class ApiView(APIView):
    """Base of the API views: `scopes` (token) and `user_permissions` (staff session) per method."""

    scopes: dict = {}
    user_permissions: dict = {}

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if is_service(request):
            # Django-level code (django-simple-history's middleware) must not take the token for a user.
            request._request.user = AnonymousUser()

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            self.check_throttles(request)  # strangers (no or a bad token) are counted per client address
            raise
        refuse_nul_in_query(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        status = getattr(request._request, "rate_limit", None)
        if status is not None:
            for name, value in status.headers().items():
                response[name] = value
        return response


def refuse_nul_in_query(request) -> None:
    """400 `invalid` for a query parameter holding a NUL character (PostgreSQL stores none in text)."""
    bad = sorted({name for name, values in request.query_params.lists()
                  if "\x00" in name or any("\x00" in value for value in values)})
    if bad:
        raise exceptions.ValidationError({name.replace("\x00", "") or "query": ["NUL characters are not allowed."]
                                          for name in bad})


def _uuid(value, what: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise exceptions.NotFound(f"No {what} {value}.")


# The account lookup of every money request by a service token, compiled once (ledger.compiled): the
# same querysets as visible_accounts builds for a token for all orgs and for a token's listed orgs.
_ACCOUNT = CompiledQuery(lambda account_id: Account.objects.select_related("organization").filter(pk=account_id),
                         account_id=SENTINEL_UUID)
_TOKEN_ACCOUNT = CompiledQuery(
    lambda account_id, token_id: token_accounts(token_id).select_related("organization").filter(pk=account_id),
    account_id=SENTINEL_UUID, token_id=SENTINEL_INT)


def get_account(request, pk, *, what: str = "account") -> Account:
    """An account the caller may see (with its org), else 404."""
    account_id = _uuid(pk, what)
    if is_service(request):
        token = request.auth
        found = (_ACCOUNT(account_id=account_id) if token.all_organizations
                 else _TOKEN_ACCOUNT(account_id=account_id, token_id=token.pk))
        account = found[0] if found else None
    else:
        account = visible_accounts(request).select_related("organization").filter(pk=account_id).first()
    if account is None:
        raise exceptions.NotFound(f"No {what} {pk}.")
    return account


def get_organization(request, pk) -> Organization:
    """An org the caller may see, else 404."""
    organization = visible_organizations(request).filter(pk=_uuid(pk, "organization")).first()
    if organization is None:
        raise exceptions.NotFound(f"No organization {pk}.")
    return organization


def get_hold(request, pk) -> Hold:
    """A hold on an account the caller may see, else 404."""
    visible = visible_accounts(request).values("pk")
    hold = Hold.objects.filter(Q(account__in=visible) | Q(subaccount__in=visible), pk=_uuid(pk, "hold")).first()
    if hold is None:
        raise exceptions.NotFound(f"No hold {pk}.")
    return hold


# One serializer per request serializer class and thread: a new instance deep-copies its declared fields
# (DRF's get_fields), about a tenth of a charge request's CPU, and validation keeps no state in the instance.
_validators = threading.local()


def validated(serializer_class, data) -> dict:
    """`data` validated by `serializer_class` (a RequestSerializer), else a 400 with field messages."""
    by_class = _validators.__dict__.setdefault("by_class", {})
    serializer = by_class.get(serializer_class)
    if serializer is None:
        serializer = by_class[serializer_class] = serializer_class()
    return serializer.run_validation(data)


def _with_masters(organizations):
    return organizations.prefetch_related(
        Prefetch("accounts", queryset=Account.objects.filter(is_master=True), to_attr="_masters"))


def _set_master(org: Organization) -> Organization:
    if getattr(org, "_masters", None):
        org._master = org._masters[0]
    return org


# --- organizations and accounts ------------------------------------------------------------------


class OrganizationListView(ApiView):
    scopes = {"GET": "read", "POST": "manage"}
    user_permissions = {"POST": ["ledger.add_organization"]}
    pagination = KeysetPagination(("name", "id"))

    @api_schema(
        tags=["organizations"], summary="List or search organizations", operation_id="organizations_list",
        parameters=[OpenApiParameter("search", str, description="Name (case-insensitive substring), exact UUID "
                                                                 "or exact wallet ID."),
                    *page_parameters()],
        responses=responses({200: paginated(s.OrganizationSerializer)}),
    )
    def get(self, request):
        """Organizations the caller may see, by name, keyset-paginated; `search` matches a name part, an exact
        UUID or an exact wallet ID.
        """
        organizations = organizations_search(visible_organizations(request), request.query_params.get("search", ""))
        rows, next_url = self.pagination.paginate(_with_masters(organizations), request)
        return self.pagination.response([s.OrganizationSerializer(_set_master(org)).data for org in rows], next_url)

    @api_schema(
        tags=["organizations"], summary="Create an organization with its master account",
        parameters=[key_parameter(required=False)], request=s.OrganizationCreateSerializer,
        responses=responses({201: s.OrganizationSerializer}, 409),
        examples=[OpenApiExample("Prepaid org", request_only=True,
                                 value={"name": "Acme", "currency": "INR", "timezone": "Asia/Kolkata"})],
    )
    def post(self, request):
        """Create an organization and its master account (postpaid needs a credit limit above zero). Needs an
        all-orgs token or a staff user allowed to add organizations.
        """
        if not may_create_organizations(request):
            raise exceptions.PermissionDenied("This token is limited to some organizations and cannot create one; "
                                              "use an all-orgs token.")
        data = validated(s.OrganizationCreateSerializer, request.data)
        key = idempotency_key(request, required=False)
        actor = actor_for(request)
        org = services.organization_create(
            actor=actor, name=data["name"], currency=data["currency"], timezone_name=data["timezone"],
            payment_scheme=data["payment_scheme"], credit_management_enabled=data["credit_management_enabled"],
            credit_limit=data["credit_limit"], idempotency_key=key)
        return respond(actor=actor, key=key, result=org, status=201,
                       render=lambda org: s.OrganizationSerializer(org).data)


class OrganizationDetailView(ApiView):
    scopes = {"GET": "read", "PATCH": "manage"}
    user_permissions = {"PATCH": ["ledger.change_organization"]}

    @api_schema(tags=["organizations"], summary="An organization", parameters=[ID],
                   responses=responses({200: s.OrganizationSerializer}, 404))
    def get(self, request, id):
        """One organization with its master account's balance, limit, held and available."""
        return Response(s.OrganizationSerializer(get_organization(request, id)).data)

    @api_schema(tags=["organizations"], summary="Change name, timezone, spending policy or the credit-management switch",
                   parameters=[ID], request=s.OrganizationUpdateSerializer,
                   responses=responses({200: s.OrganizationSerializer}, 404))
    def patch(self, request, id):
        """Change the name, the timezone or the credit-management switch (the switch needs its own permission
        for staff users).
        """
        organization = get_organization(request, id)
        changes = validated(s.OrganizationUpdateSerializer, request.data)
        if "credit_management_enabled" in changes and not _user_may(request, "ledger.toggle_credit_management"):
            raise exceptions.PermissionDenied("Your user may not switch credit management on or off.")
        if {"spending_policy", "spending_floor"} & set(changes) and not _user_may(request,
                                                                                 "ledger.set_spending_policy"):
            raise exceptions.PermissionDenied("Only platform staff may change the spending policy.")
        if changes:
            organization = services.organization_update(actor=actor_for(request), organization=organization, **changes)
        return Response(s.OrganizationSerializer(organization).data)


def _user_may(request, perm: str) -> bool:
    user = request.user
    return getattr(user, "pk", None) is None or user.has_perm(perm)  # service tokens are checked by scope


class OrganizationAccountsView(ApiView):
    scopes = {"GET": "read", "POST": "manage"}
    user_permissions = {"POST": ["ledger.add_account"]}

    @api_schema(tags=["accounts"], summary="The accounts of an organization", parameters=[ID],
                   responses=responses({200: s.AccountSerializer(many=True)}, 404))
    def get(self, request, id):
        """Every account of the organization the caller may see: the master first, then subaccounts."""
        organization = get_organization(request, id)
        accounts = list(visible_accounts(request).filter(organization=organization))
        master = next((a for a in accounts if a.is_master), None) or organization.master_account
        for account in accounts:
            account.organization = organization
            account._funding = master if account.balance_mode == "shared" else None
        return Response([s.AccountSerializer(account).data for account in accounts])

    @api_schema(tags=["accounts"], summary="Create a subaccount", parameters=[ID, key_parameter(required=False)],
                   request=s.AccountCreateSerializer, responses=responses({201: s.AccountSerializer}, 404, 409))
    def post(self, request, id):
        """Create a subaccount with its own balance (`own`) or drawing on the master's (`shared`)."""
        organization = get_organization(request, id)
        data = validated(s.AccountCreateSerializer, request.data)
        key = idempotency_key(request, required=False)
        actor = actor_for(request)
        account = services.account_create(actor=actor, organization=organization, name=data["name"],
                                          balance_mode=data["balance_mode"], idempotency_key=key)
        return respond(actor=actor, key=key, result=account, status=201,
                       render=lambda account: s.AccountSerializer(account).data)


class AccountDetailView(ApiView):
    @api_schema(tags=["accounts"], summary="An account with its balance, limit, held and available",
                   parameters=[ID], responses=responses({200: s.AccountSerializer}, 404))
    def get(self, request, id):
        """One account; a shared subaccount shows its master's money fields."""
        return Response(s.AccountSerializer(get_account(request, id)).data)


class CreditLimitView(ApiView):
    scopes = {"PUT": "manage"}
    user_permissions = {"PUT": ["ledger.set_credit_limit"]}

    @api_schema(tags=["accounts"], summary="Set the permanent or a temporary credit limit", parameters=[ID],
                   request=s.CreditLimitSerializer, responses=responses({200: s.AccountSerializer}, 404),
                   examples=[OpenApiExample("Temporary limit", request_only=True,
                                            value={"amount": "500", "temporary_days": 7})])
    def put(self, request, id):
        """Set the account's permanent credit limit, or a temporary one for `temporary_days` days after which
        the permanent limit applies again.
        """
        account = get_account(request, id)
        data = validated(s.CreditLimitSerializer, request.data)
        account = services.credit_limit_set(actor=actor_for(request), account=account, amount=data["amount"],
                                            temporary_days=data["temporary_days"], comment=data["comment"])
        return Response(s.AccountSerializer(account).data)


class CreditsView(ApiView):
    scopes = {"POST": "manage"}
    user_permissions = {"POST": ["ledger.add_credits"]}

    @api_schema(tags=["accounts"], summary="Add credits (a new lot)", parameters=[ID, key_parameter()],
                   request=s.CreditsSerializer, responses=responses({201: s.CreditsResultSerializer}, 404, 409),
                   examples=[OpenApiExample("Grant", request_only=True,
                                            value={"amount": "1000", "expires_in": "6M", "purchase_order": "PO-17"})])
    def post(self, request, id):
        """Grant credits to the account as a new lot expiring after `expires_in`; a negative balance is repaid
        first. Idempotent.
        """
        key = idempotency_key(request)
        account = get_account(request, id)
        data = validated(s.CreditsSerializer, request.data)
        actor = actor_for(request)
        txn = services.credits_grant(actor=actor, account=account, amount=data["amount"],
                                     expires_in=data["expires_in"], purchase_order=data["purchase_order"],
                                     comment=data["comment"], idempotency_key=key)

        def render(txn):
            return {"lot": s.LotSerializer(txn.lot).data, "transaction": s.TransactionSerializer(txn).data,
                    "account": s.AccountSerializer(txn.account).data}

        return respond(actor=actor, key=key, result=txn, status=201, render=render)


class RemovalsView(ApiView):
    scopes = {"POST": "manage"}
    user_permissions = {"POST": ["ledger.remove_credits"]}

    @api_schema(tags=["accounts"], summary="Remove credits (at most the positive balance)",
                   parameters=[ID, key_parameter()], request=s.RemovalSerializer,
                   responses=responses({201: s.RemovalResultSerializer}, 402, 404, 409))
    def post(self, request, id):
        """Remove credits, at most the account's positive balance, drawing the soonest-expiring lots first.
        Idempotent.
        """
        key = idempotency_key(request)
        account = get_account(request, id)
        data = validated(s.RemovalSerializer, request.data)
        actor = actor_for(request)
        txn = services.credits_remove(actor=actor, account=account, amount=data["amount"], comment=data["comment"],
                                      idempotency_key=key)
        return respond(actor=actor, key=key, result=txn, status=201,
                       render=lambda txn: {"transaction": s.TransactionSerializer(txn).data,
                                           "account": s.AccountSerializer(txn.account).data})


class LotsView(ApiView):
    pagination = KeysetPagination(("-granted_at", "-id"))

    @api_schema(tags=["accounts"], summary="Credit lots of an account, newest first",
                   parameters=[ID, s.LotFilterSerializer, *page_parameters()],
                   responses=responses({200: paginated(s.LotSerializer)}, 404))
    def get(self, request, id):
        """The account's credit lots, newest first; `active=true` keeps lots with credit left that have not
        expired.
        """
        account = get_account(request, id)
        filters = validated(s.LotFilterSerializer, request.query_params)
        lots = CreditLot.objects.filter(account=account)
        if filters["active"] is True:
            lots = lots.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()), remaining__gt=0)
        elif filters["active"] is False:
            lots = lots.exclude(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()), remaining__gt=0)
        rows, next_url = self.pagination.paginate(lots, request)
        return self.pagination.response([s.LotSerializer(lot).data for lot in rows], next_url)


CSV_CHUNK_SIZE = 2000
CSV_FIELDS = ["transaction_id", "transaction__kind", "amount", "balance_after", "created_at",
              "transaction__actor_user__username", "transaction__actor_service", "transaction__reference",
              "transaction__memo", "transaction__channel", "transaction__country", "transaction__category",
              "transaction__quantity", "transaction__unit_price", "transaction__subaccount_id", "id"]  # what a CSV row of the ledger reads (the id last, for the keyset)


class LedgerView(ApiView):
    pagination = KeysetPagination(("-created_at", "-id"))

    def perform_content_negotiation(self, request, force=False):
        # `?format=csv` is handled by `get` (a streamed response); pages and errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @api_schema(
        tags=["ledger"], summary="Ledger entries of an account, newest first (JSON pages or streamed CSV)",
        parameters=[ID, s.LedgerFilterSerializer, *page_parameters(),
                    OpenApiParameter("format", str, enum=["json", "csv"],
                                     description="csv streams every matching entry (no paging).")],
        responses=responses({
            (200, "application/json"): OpenApiResponse(paginated(s.LedgerEntrySerializer), description="A page."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Every entry as CSV (?format=csv)."),
        }, 404),
    )
    def get(self, request, id):
        """The account's ledger entries, newest first, as JSON pages, or with `format=csv` every matching entry
        as a streamed CSV file (text/csv).
        """
        account = get_account(request, id)
        filters = validated(s.LedgerFilterSerializer, request.query_params)
        postings = self.entries(account, filters)
        if request.query_params.get("format") == "csv":  # also served by LedgerCsvView
            return self.csv(account, postings)
        rows, next_url = self.pagination.paginate(postings, request)
        return self.pagination.response([s.ledger_entry(posting) for posting in rows], next_url)

    @staticmethod
    def entries(account: Account, filters: dict):
        """Postings of the account (for a shared subaccount: the master's postings attributed to it)."""
        if account.balance_mode == "shared":
            postings = Posting.objects.filter(account=account.funding_account(), transaction__subaccount=account)
        else:
            postings = Posting.objects.filter(account=account)
        postings = postings.select_related("transaction", "transaction__actor_user")
        if "since" in filters:
            postings = postings.filter(created_at__gte=filters["since"])
        if "until" in filters:
            postings = postings.filter(created_at__lt=filters["until"])
        return postings_of_kind(postings, filters.get("kind", ""))

    @staticmethod
    def csv(account: Account, postings):
        """Every entry as CSV, read in keyset chunks as tuples (no model instances), in constant memory.

        The cells are those of `serializers.ledger_entry`, amounts as numbers (tests compare both). On
        PostgreSQL the database writes the CSV (`copy_lines`), the same bytes.
        """
        columns = list(s.LedgerEntrySerializer().fields)

        def amount(value):
            return "" if value is None else value.quantize(QUANTUM)

        def rows():
            render_datetime = s.datetime_renderer()
            for (transaction_id, kind, value, balance_after, created_at, username, service, reference, memo,
                 channel, country, category, quantity, unit_price, subaccount_id, pk) in keyset_values(
                    postings, "created_at", CSV_FIELDS, CSV_CHUNK_SIZE):
                yield [pk, transaction_id, entry_kind(kind, value), amount(value), amount(balance_after),
                       render_datetime(created_at), username or service or "system", reference, memo, channel,
                       country, category, "" if quantity is None else quantity, amount(unit_price),
                       "" if subaccount_id is None else str(subaccount_id)]

        def lines():
            zone = s.datetime_zone_name()  # like datetime_renderer, the zone in force while the file streams
            if zone is None or not copies_csv(postings):
                yield from stream_rows(columns, rows())
                return
            yield from copy_lines(columns, postings, "created_at", [
                F("id"), F("transaction_id"), entry_kind_expression(), amount_cell(F("amount")),
                amount_cell(F("balance_after")), time_cell(F("created_at"), zone, utc="Z"), actor_cell(),
                *(text_cell(F(f"transaction__{name}")) for name in ("reference", "memo", "channel", "country",
                                                                    "category")),
                F("transaction__quantity"), amount_cell(F("transaction__unit_price")),
                Cast(F("transaction__subaccount_id"), TextField()),
            ])

        return csv_response(lines(), f"ledger-{account.pk}.csv")


class LedgerCsvView(LedgerView):
    """`GET /accounts/{id}/ledger.csv`: the CSV of `?format=csv` as an operation of its own (text/csv only),
    so that a client generated from the schema gets a method returning the CSV text."""

    @api_schema(
        tags=["ledger"], summary="Ledger entries of an account as CSV", operation_id="accounts_ledger_csv",
        parameters=[ID, s.LedgerFilterSerializer],
        responses=responses({(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR,
                                                               description="Every matching entry, newest first.")},
                             404),
    )
    def get(self, request, id):
        """Every ledger entry of the account matching the filters, newest first, streamed as CSV in constant
        memory; the same as `GET /accounts/{id}/ledger?format=csv`."""
        account = get_account(request, id)
        return self.csv(account, self.entries(account, validated(s.LedgerFilterSerializer, request.query_params)))


class TransferView(ApiView):
    scopes = {"POST": "manage"}
    user_permissions = {"POST": ["ledger.transfer_credits"]}

    @api_schema(tags=["accounts"], summary="Move credits between two accounts of one organization",
                   parameters=[key_parameter()], request=s.TransferSerializer,
                   responses=responses({201: s.TransferResultSerializer}, 402, 404, 409))
    def post(self, request):
        """Move credits between two accounts of one organization that hold their own funds (at most what is
        available). Idempotent.
        """
        key = idempotency_key(request)
        data = validated(s.TransferSerializer, request.data)
        sender = get_account(request, data["from_account"])
        receiver = get_account(request, data["to_account"])
        user = request.user
        if (not is_service(request) and not sees_all_organizations(user) and not is_org_admin_of(user, sender.organization)
                and not may_transfer_between(user, sender, receiver)):  # a subaccount user: individual credits
            raise exceptions.PermissionDenied("Your user may not transfer between these accounts.")
        actor = actor_for(request)
        txn = services.transfer_create(actor=actor, from_account=sender, to_account=receiver, amount=data["amount"],
                                       comment=data["comment"], idempotency_key=key,
                                       fingerprint=fingerprint(request, request.data))

        def render(txn):
            accounts = Account.objects.select_related("organization").in_bulk([sender.pk, receiver.pk])
            return {"transaction": s.TransactionSerializer(txn).data,
                    "from_account": s.AccountSerializer(accounts[sender.pk]).data,
                    "to_account": s.AccountSerializer(accounts[receiver.pk]).data}

        return respond(actor=actor, key=key, result=txn, status=201, render=render)


# --- charges and holds ----------------------------------------------------------------------------


def _charge_kwargs(data: dict) -> dict:
    return {"channel": data["channel"], "quantity": data["quantity"], "country": data["country"],
            "recipient": data["recipient"], "category": data["category"] or None, "traffic": data["traffic"],
            "reference": data["reference"], "hold": data["hold"]}


def _fresh_charge(txn):
    """A charge just made: its balance_after is the funding account's balance (no query)."""
    if getattr(txn, "funding_account", None) is not None and not getattr(txn, "replayed", False):
        txn.balance_after = txn.funding_account.balance
    return txn


class ChargeView(ApiView):
    scopes = {"POST": "charge"}
    user_permissions = {"POST": ["ledger.remove_credits"]}

    @api_schema(
        tags=["charges"], summary="Charge a send (priced from the rate card in force)",
        parameters=[key_parameter()], request=s.ChargeCreateSerializer,
        responses=responses({201: s.ChargeSerializer}, 402, 404, 409, 422),
        examples=[OpenApiExample("SMS to India", request_only=True,
                                 value={"account": "2b0e8a8e-8d1c-4d67-9c53-2f0b6f5e0a11", "channel": "sms",
                                        "recipient": "+919812345678", "traffic": "transactional"})],
    )
    def post(self, request):
        """Charge one send, priced from the rate card in force: promotional traffic must fit what is available
        (else 402), transactional never is refused. Idempotent.
        """
        key = idempotency_key(request)
        data = validated(s.ChargeCreateSerializer, request.data)
        account = get_account(request, data["account"])
        actor = actor_for(request)
        txn = services.charge_create(actor=actor, account=account, idempotency_key=key,
                                     fingerprint=fingerprint(request, request.data), **_charge_kwargs(data))
        # A charge renders from its own rows (balance_after from its posting, available_after from its
        # metadata), which never change: a replay renders the same body, so none is kept.
        return respond(actor=actor, key=key, result=_fresh_charge(txn), status=201,
                       render=lambda txn: s.ChargeSerializer(txn).data, keep=False)


class BatchView(ApiView):
    scopes = {"POST": "charge"}
    user_permissions = {"POST": ["ledger.remove_credits"]}

    @api_schema(
        tags=["charges"], summary="Charge up to 1000 items in order on one account",
        description="Each result has the status the item would have had alone, with `charge` or `error`. "
                    "With `atomic=true` every item is charged or none (the first error is the response).",
        parameters=[key_parameter()], request=s.BatchDocSerializer,
        responses=responses({200: s.BatchResultSerializer}, 402, 404, 409, 422),
    )
    def post(self, request):
        """Charge up to 1000 items in order on one account, locking it once. Idempotent."""
        key = idempotency_key(request)
        data = validated(s.BatchSerializer, request.data)
        account = get_account(request, data["account"])
        atomic = data["atomic"]
        requests, positions, invalid = [], [], {}
        item_serializer = s.ChargeItemSerializer()  # one instance validates every item, as a ListSerializer does
        for index, item in enumerate(data["items"]):
            try:
                valid = item_serializer.run_validation(item)
            except exceptions.ValidationError as error:
                invalid[index] = as_serializer_error(error)
                continue
            requests.append(services.ChargeRequest(**_charge_kwargs(valid)))
            positions.append(index)
        if invalid and atomic:
            raise exceptions.ValidationError({"items": dict(invalid)})
        actor = actor_for(request)
        count = len(data["items"])

        def render(result) -> dict:
            results: list = [None] * count
            for index, errors in invalid.items():
                results[index] = {"status": 400, "error": error_body("invalid", "The item is not valid.",
                                                                     flatten_errors(errors))}
            items = result.items if result is not None else []
            charged = [item.transaction for item in items if item.transaction is not None]
            balances = dict(Posting.objects.filter(transaction__in=charged, account_id__isnull=False)
                            .values_list("transaction_id", "balance_after")) if charged else {}
            for transaction in charged:
                transaction.balance_after = balances[transaction.pk]
            rendered = iter(s.ChargeSerializer(charged, many=True).data)  # one serializer for every charge
            for index, item in zip(positions, items, strict=True):
                if item.transaction is not None:
                    results[index] = {"status": 201, "charge": next(rendered)}
                else:
                    results[index] = {"status": item.status, "error": item.error.as_dict()}
            total = result.total if result is not None else 0
            return {"results": results, "total": s.render_amount(total)}

        if not requests:
            return Response(render(None), status=200)
        result = services.charge_batch(actor=actor, account=account, items=requests, atomic=atomic,
                                       idempotency_key=key, fingerprint=fingerprint(request, request.data))
        return respond(actor=actor, key=key, result=result, status=200, render=render)


class HoldCreateView(ApiView):
    scopes = {"POST": "charge"}
    user_permissions = {"POST": ["ledger.remove_credits"]}

    @api_schema(tags=["holds"], summary="Reserve credits for a scheduled campaign",
                   parameters=[key_parameter()], request=s.HoldCreateSerializer,
                   responses=responses({201: s.HoldSerializer}, 402, 404, 409))
    def post(self, request):
        """Reserve credits for a scheduled campaign until `expires_in_seconds` pass; a charge with `hold` draws
        from it first. Idempotent.
        """
        key = idempotency_key(request)
        data = validated(s.HoldCreateSerializer, request.data)
        account = get_account(request, data["account"])
        actor = actor_for(request)
        hold = services.hold_create(actor=actor, account=account, amount=data["amount"],
                                    expires_in_seconds=data["expires_in_seconds"], reference=data["reference"],
                                    idempotency_key=key, fingerprint=fingerprint(request, request.data))
        return respond(actor=actor, key=key, result=hold, status=201, render=lambda hold: s.HoldSerializer(hold).data)


class HoldDetailView(ApiView):
    @api_schema(tags=["holds"], summary="A hold", parameters=[ID],
                   responses=responses({200: s.HoldSerializer}, 404))
    def get(self, request, id):
        """One hold with what remains of it; an active hold past its expiry shows as expired."""
        return Response(s.HoldSerializer(get_hold(request, id)).data)


class HoldReleaseView(ApiView):
    scopes = {"POST": "charge"}
    user_permissions = {"POST": ["ledger.remove_credits"]}

    @api_schema(tags=["holds"], summary="Release what is left of an active hold",
                   parameters=[ID, key_parameter()], request=None,
                   responses=responses({200: s.HoldSerializer}, 404, 409))
    def post(self, request, id):
        """Release what is left of an active hold at once (409 `hold_not_active` otherwise). Idempotent."""
        key = idempotency_key(request)
        hold = get_hold(request, id)
        actor = actor_for(request)
        hold = services.hold_release(actor=actor, hold=hold, idempotency_key=key,
                                     fingerprint=fingerprint(request, request.data or {}))
        return respond(actor=actor, key=key, result=hold, status=200, render=lambda hold: s.HoldSerializer(hold).data)


@csrf_exempt  # any method: a POST to an unknown path is a 404, not a CSRF failure
def not_found(request, *args, **kwargs):
    """Unknown paths under /api/v1/ answer the JSON 404 of the contract, not an HTML page."""
    return error_response(404, f"No endpoint {request.path}.")
