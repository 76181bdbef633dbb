"""Serializers of the API: request bodies validate everything, responses render amounts as strings.

Response serializers build plain JSON-safe dicts (strings, not UUID or Decimal objects), so a
response body can be stored as is for idempotent replays.
"""

import datetime as _dt
from decimal import Decimal
from functools import cache

from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from ledger.currencies import CURRENCIES
from ledger.models import (
    Account,
    BalanceMode,
    ExpiresIn,
    HoldStatus,
    PaymentScheme,
    SpendingPolicy,
    Traffic,
    TransactionKind,
    iana_timezones,
)
from ledger.selectors import entry_kind
from ratecards.models import Channel

from .fields import AmountField, CountryField, PhoneNumberField, QuantityField, render_amount

_datetime = serializers.DateTimeField()


def render_datetime(value) -> str | None:
    return None if value is None else _datetime.to_representation(value)


def datetime_renderer():
    """`render_datetime` for many values at once (CSV exports): the zone and format looked up once.

    The same text as DRF's ISO 8601 rendering (the current zone, `Z` for UTC); any other configured
    format falls back to `render_datetime`.
    """
    output_format = getattr(_datetime, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return render_datetime
    zone = _datetime.default_timezone()
    if zone is None:
        return render_datetime

    def render(value):
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def datetime_zone_name() -> str | None:
    """The IANA name of the zone `datetime_renderer` writes times in, None when it uses another format.

    For CSV exports PostgreSQL writes (`ledger_iso_time`): the same text as `datetime_renderer`.
    """
    output_format = getattr(_datetime, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return None
    zone = _datetime.default_timezone()
    if zone is _dt.UTC:
        return "UTC"
    return getattr(zone, "key", None)


def render_id(value) -> str | None:
    return None if value is None else str(value)


@cache
def timezone_choices() -> list[str]:
    """IANA timezone names (the schema lists them as an enum)."""
    return sorted(iana_timezones())


TIMEZONE_ERROR = '"{input}" is not an IANA timezone such as Asia/Kolkata.'
CURRENCY_ERROR = '"{input}" is not an ISO 4217 currency code.'


def json_type_error(field, value) -> str | None:
    """Why `value` (parsed JSON) has the wrong type for `field`, or None: no coercion of "3" to 3 or 1 to true."""
    if value is None:
        return None  # DRF itself refuses null unless the field allows it
    if isinstance(field, serializers.BooleanField):
        ok, name = isinstance(value, bool), "a boolean"
    elif isinstance(field, serializers.IntegerField):
        ok, name = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(field, serializers.ListField | serializers.ListSerializer):
        ok, name = isinstance(value, list), "a list"
    elif isinstance(field, serializers.DictField | serializers.Serializer):
        ok, name = isinstance(value, dict), "an object"
    elif isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.UUIDField
                    | serializers.DateTimeField):
        ok, name = isinstance(value, str), "a string"
    else:
        return None
    return None if ok else f"Must be {name}."


class RequestSerializer(serializers.Serializer):
    """A request body: every field must arrive as the JSON type the schema states (no coercion)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if name in data and not field.read_only:
                    error = json_type_error(field, data[name])
                    if error is None and isinstance(field, serializers.DictField) and isinstance(data[name], dict):
                        child_errors = {key: message for key, value in data[name].items()
                                        if (message := json_type_error(field.child, value))}
                        error = child_errors or None
                    if error:
                        errors[name] = error if isinstance(error, dict) else [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """The error body of every non-2xx response."""

    code = serializers.CharField(help_text="invalid, not_authenticated, permission_denied, not_found, "
                                           "insufficient_credits, org_blocked, credit_management_disabled, "
                                           "idempotency_conflict, "
                                           "transfer_not_allowed, hold_not_active, top_up_not_pending, no_rate, "
                                           "throttled, ...")
    detail = serializers.CharField(help_text="A human sentence.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Field messages, only for validation errors (`invalid`).")


class _Rendered(serializers.Serializer):
    """A read-only serializer rendering a model with `render(instance)`; fields document the schema."""

    def to_representation(self, instance):
        return self.render(instance)


# --- responses ----------------------------------------------------------------------------------


class AccountSerializer(_Rendered):
    """An account; a shared subaccount shows its master's money fields."""

    id = serializers.UUIDField()
    organization = serializers.UUIDField()
    name = serializers.CharField()
    is_master = serializers.BooleanField()
    balance_mode = serializers.ChoiceField(choices=BalanceMode.choices)
    funding_account = serializers.UUIDField(help_text="The account whose funds are used: itself, or the master.")
    currency = serializers.CharField()
    balance = AmountField(allow_negative=True)
    credit_limit = AmountField(help_text="The credit limit in force (temporary while it lasts).")
    credit_limit_expires_at = serializers.DateTimeField(allow_null=True,
                                                        help_text="When a temporary limit ends; null if permanent.")
    held = AmountField()
    available = AmountField(allow_negative=True)

    def render(self, account: Account) -> dict:
        funding = account.funding_account()
        at = timezone.now()
        return {
            "id": str(account.pk), "organization": str(account.organization_id), "name": account.name,
            "is_master": account.is_master, "balance_mode": account.balance_mode,
            "funding_account": str(funding.pk), "currency": account.organization.currency,
            "balance": render_amount(funding.balance),
            "credit_limit": render_amount(funding.effective_credit_limit(at)),
            "credit_limit_expires_at": render_datetime(funding.credit_limit_expires_at(at)),
            "held": render_amount(funding.held), "available": render_amount(funding.available(at)),
        }


class OrganizationSerializer(_Rendered):
    id = serializers.UUIDField()
    name = serializers.CharField()
    wallet_id = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    payment_scheme = serializers.ChoiceField(choices=PaymentScheme.choices)
    credit_management_enabled = serializers.BooleanField()
    spending_policy = serializers.ChoiceField(choices=SpendingPolicy.choices,
                                              help_text="What may be spent when credits run short (docs/policies.md).")
    spending_floor = AmountField(allow_zero=True, help_text="stop_when_depleted: blocked at or below this.")
    master_account = AccountSerializer()

    def render(self, org) -> dict:
        master = getattr(org, "_master", None) or org.master_account
        master.organization = org
        return {
            "id": str(org.pk), "name": org.name, "wallet_id": org.wallet_id, "currency": org.currency,
            "timezone": org.timezone, "payment_scheme": org.payment_scheme,
            "credit_management_enabled": org.credit_management_enabled, "spending_policy": org.spending_policy,
            "spending_floor": render_amount(org.spending_floor), "master_account": AccountSerializer(master).data,
        }


class LotSerializer(_Rendered):
    id = serializers.IntegerField()
    amount = AmountField()
    remaining = AmountField(allow_zero=True)
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null: never expires.")
    source = serializers.CharField()
    purchase_order = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)

    def render(self, lot) -> dict:
        return {"id": lot.pk, "amount": render_amount(lot.amount), "remaining": render_amount(lot.remaining),
                "granted_at": render_datetime(lot.granted_at), "expires_at": render_datetime(lot.expires_at),
                "source": lot.source, "purchase_order": lot.purchase_order, "comment": lot.comment}


class TransactionSerializer(_Rendered):
    """A ledger transaction in short."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TransactionKind.choices)
    account = serializers.UUIDField(help_text="The account whose funds moved.")
    amount = AmountField(help_text="Always positive.")
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    memo = serializers.CharField(allow_blank=True)

    def render(self, txn) -> dict:
        return {"id": txn.pk, "kind": txn.kind, "account": str(txn.account_id), "amount": render_amount(txn.amount),
                "currency": txn.currency, "created_at": render_datetime(txn.created_at), "actor": txn.actor_label,
                "reference": txn.reference, "memo": txn.memo}


class ChargeSerializer(_Rendered):
    """A charge as `POST /charges` returns it."""

    id = serializers.IntegerField()
    account = serializers.UUIDField(help_text="The account charged (a shared subaccount, or the funding account).")
    funding_account = serializers.UUIDField()
    amount = AmountField(allow_zero=True)
    unit_price = AmountField(allow_zero=True)
    currency = serializers.CharField()
    rate_card_version = serializers.IntegerField(allow_null=True, help_text="Id of the rate card version used.")
    traffic = serializers.ChoiceField(choices=Traffic.choices)
    balance_after = AmountField(allow_negative=True, help_text="The funding account's balance after the charge.")
    available_after = AmountField(allow_negative=True)
    created_at = serializers.DateTimeField()

    def render(self, txn) -> dict:
        balance_after = getattr(txn, "balance_after", None)
        if balance_after is None:
            balance_after = txn.postings.filter(account_id=txn.account_id).values_list("balance_after", flat=True)[0]
        return {
            "id": txn.pk, "account": str(txn.subaccount_id or txn.account_id), "funding_account": str(txn.account_id),
            "amount": render_amount(txn.amount), "unit_price": render_amount(txn.unit_price), "currency": txn.currency,
            "rate_card_version": txn.rate_card_version_id, "traffic": txn.traffic,
            "balance_after": render_amount(balance_after),
            "available_after": render_amount((txn.metadata or {}).get("available_after")),
            "created_at": render_datetime(txn.created_at),
        }


class HoldSerializer(_Rendered):
    id = serializers.UUIDField()
    account = serializers.UUIDField()
    amount = AmountField()
    remaining = AmountField(allow_zero=True)
    status = serializers.ChoiceField(choices=HoldStatus.choices,
                                     help_text="An active hold past its expiry shows as expired.")
    expires_at = serializers.DateTimeField()

    def render(self, hold) -> dict:
        status = hold.status
        if status == HoldStatus.ACTIVE and hold.expires_at <= timezone.now():
            status = HoldStatus.EXPIRED
        return {"id": str(hold.pk), "account": str(hold.subaccount_id or hold.account_id),
                "amount": render_amount(hold.amount), "remaining": render_amount(hold.remaining),
                "status": status, "expires_at": render_datetime(hold.expires_at)}


LEDGER_KINDS = ["grant", "purchase", "removal", "charge", "expiry", "transfer_in", "transfer_out", "hold_capture",
                "refund", "invoice", "reversal", "payment"]


class LedgerEntrySerializer(_Rendered):
    """One posting of the account with its transaction."""

    id = serializers.IntegerField(help_text="The posting id.")
    transaction = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LEDGER_KINDS)
    amount = AmountField(allow_negative=True, help_text="Signed: positive added credits to the account.")
    balance_after = AmountField(allow_negative=True)
    created_at = serializers.DateTimeField()
    actor = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    memo = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)
    category = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField(allow_null=True)
    unit_price = AmountField(allow_null=True, allow_zero=True)
    subaccount = serializers.UUIDField(allow_null=True)

    def render(self, posting) -> dict:
        return ledger_entry(posting)


def ledger_entry(posting) -> dict:
    """A posting and its transaction as one ledger entry (also the CSV row)."""
    txn = posting.transaction
    return {
        "id": posting.pk, "transaction": txn.pk, "kind": entry_kind(txn.kind, posting.amount), "amount": render_amount(posting.amount),
        "balance_after": render_amount(posting.balance_after), "created_at": render_datetime(posting.created_at),
        "actor": txn.actor_label, "reference": txn.reference, "memo": txn.memo, "channel": txn.channel,
        "country": txn.country, "category": txn.category, "quantity": txn.quantity,
        "unit_price": render_amount(txn.unit_price), "subaccount": render_id(txn.subaccount_id),
    }


class CreditsResultSerializer(serializers.Serializer):
    lot = LotSerializer()
    transaction = TransactionSerializer()
    account = AccountSerializer()


class RemovalResultSerializer(serializers.Serializer):
    transaction = TransactionSerializer()
    account = AccountSerializer()


class TransferResultSerializer(serializers.Serializer):
    transaction = TransactionSerializer()
    from_account = AccountSerializer()
    to_account = AccountSerializer()


class BatchItemResultSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status the item would have had alone.")
    charge = ChargeSerializer(required=False)
    error = ErrorSerializer(required=False)


class BatchResultSerializer(serializers.Serializer):
    results = BatchItemResultSerializer(many=True)
    total = AmountField(allow_zero=True, help_text="Sum of the charged amounts.")


# --- requests -----------------------------------------------------------------------------------


class OrganizationCreateSerializer(RequestSerializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.ChoiceField(choices=sorted(CURRENCIES), help_text="ISO 4217 code, e.g. INR.",
                                       error_messages={"invalid_choice": CURRENCY_ERROR})
    timezone = serializers.ChoiceField(choices=timezone_choices(), default="UTC",
                                       error_messages={"invalid_choice": TIMEZONE_ERROR})
    payment_scheme = serializers.ChoiceField(choices=PaymentScheme.choices, default=PaymentScheme.PREPAID)
    credit_management_enabled = serializers.BooleanField(default=True)
    credit_limit = AmountField(allow_zero=True, default=Decimal("0"), help_text="Required above zero for postpaid.")


class OrganizationUpdateSerializer(RequestSerializer):
    name = serializers.CharField(max_length=200, required=False)
    timezone = serializers.ChoiceField(choices=timezone_choices(), required=False,
                                       error_messages={"invalid_choice": TIMEZONE_ERROR})
    credit_management_enabled = serializers.BooleanField(required=False)
    spending_policy = serializers.ChoiceField(choices=SpendingPolicy.choices, required=False,
                                              help_text="manage scope; for staff sessions platform staff only.")
    spending_floor = AmountField(allow_zero=True, required=False)


class AccountCreateSerializer(RequestSerializer):
    name = serializers.CharField(max_length=200)
    balance_mode = serializers.ChoiceField(choices=BalanceMode.choices, default=BalanceMode.OWN)


class CreditLimitSerializer(RequestSerializer):
    amount = AmountField(allow_zero=True)
    temporary_days = serializers.IntegerField(min_value=1, max_value=365, allow_null=True, default=None,
                                              help_text="null: permanent; N: for N days, then the permanent limit.")
    comment = serializers.CharField(allow_blank=True, default="", max_length=1000)


class CreditsSerializer(RequestSerializer):
    amount = AmountField()
    expires_in = serializers.ChoiceField(choices=ExpiresIn.choices, default=ExpiresIn.SIX_MONTHS)
    purchase_order = serializers.CharField(allow_blank=True, default="", max_length=100)
    comment = serializers.CharField(allow_blank=True, default="", max_length=1000)


class RemovalSerializer(RequestSerializer):
    amount = AmountField()
    comment = serializers.CharField(allow_blank=True, default="", max_length=1000)


class TransferSerializer(RequestSerializer):
    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    amount = AmountField()
    comment = serializers.CharField(allow_blank=True, default="", max_length=1000)


class LotFilterSerializer(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None,
                                      help_text="true: only lots with credit left that have not expired.")


class LedgerFilterSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Entries at or after this instant.")
    until = serializers.DateTimeField(required=False, help_text="Entries before this instant (an `until` not after "
                                                                "`since` selects nothing).")
    kind = serializers.ChoiceField(choices=LEDGER_KINDS, required=False)


class ChargeItemSerializer(RequestSerializer):
    """One charge without its account (an item of a batch)."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    quantity = QuantityField(maximum=1_000_000, default=1)
    country = CountryField(required=False, allow_null=True, default=None)
    recipient = PhoneNumberField(required=False, allow_null=True, default=None,
                                 help_text="E.164; its country prices the charge (a given country must match it).")
    category = serializers.CharField(required=False, allow_null=True, default=None, max_length=32)
    traffic = serializers.ChoiceField(choices=Traffic.choices, default=Traffic.PROMOTIONAL)
    reference = serializers.CharField(allow_blank=True, default="", max_length=255)
    hold = serializers.UUIDField(required=False, allow_null=True, default=None,
                                 help_text="A hold of the account to draw from first.")


class ChargeCreateSerializer(ChargeItemSerializer):
    account = serializers.UUIDField()


class BatchSerializer(RequestSerializer):
    account = serializers.UUIDField()
    items = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000)
    atomic = serializers.BooleanField(default=False, help_text="true: every item is charged or none.")


class BatchDocSerializer(RequestSerializer):
    """`BatchSerializer` as documented: items are validated one by one in the view."""

    account = serializers.UUIDField()
    items = serializers.ListField(child=ChargeItemSerializer(), min_length=1, max_length=1000,
                                  help_text="1 to 1000 charges, charged in order.")
    atomic = serializers.BooleanField(default=False, help_text="true: every item is charged or none.")


class HoldCreateSerializer(RequestSerializer):
    account = serializers.UUIDField()
    amount = AmountField()
    expires_in_seconds = serializers.IntegerField(min_value=60, max_value=90 * 86400, default=86400)
    reference = serializers.CharField(allow_blank=True, default="", max_length=255)
