"""Serializers of the top-up API: request bodies parse (amounts as decimal strings), responses render the
contract's fields as JSON-safe values. Billing rules (required state in India, GSTIN) are the service's."""

from rest_framework import serializers

from ledger.api.fields import AmountField, CountryField, render_amount
from ledger.api.serializers import RequestSerializer, _Rendered, render_datetime

from ..models import Provider, TopUp, TopUpStatus


class BillingSerializer(RequestSerializer):
    name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=1000)
    country = CountryField(help_text="ISO 3166-1 alpha-2, e.g. IN.")
    state = serializers.CharField(max_length=6, required=False, allow_blank=True, default="",
                                  help_text="ISO 3166-2 subdivision without the country (KA, MH); required in India.")
    tax_id = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                   help_text="GSTIN in India (optional), else a VAT or tax number.")
    email = serializers.EmailField(required=False, allow_blank=True, default="",
                                   help_text="Where the receipt is emailed (besides the org's alert recipients).")


class TopUpCreateSerializer(RequestSerializer):
    amount = AmountField(help_text="Net amount in the org's currency: the credits granted (tax comes on top).")
    billing = BillingSerializer()
    provider = serializers.ChoiceField(choices=Provider.choices, required=False, allow_null=True, default=None,
                                       help_text="Default: the first provider configured for the currency.")


class TaxLineSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="CGST, SGST, IGST, VAT, ...")
    rate = serializers.CharField(help_text="Percent as a decimal string, e.g. \"9\".")
    amount = AmountField()


class TopUpSerializer(_Rendered):
    """A top-up (the contract's fields, plus created_at and paid_at)."""

    id = serializers.UUIDField()
    account = serializers.UUIDField()
    amount = AmountField(help_text="Net amount: the credits granted.")
    tax = AmountField(allow_zero=True)
    tax_lines = TaxLineSerializer(many=True)
    total = AmountField(help_text="amount + tax: what the buyer pays.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=TopUpStatus.choices)
    provider = serializers.ChoiceField(choices=Provider.choices)
    checkout_url = serializers.URLField(allow_null=True, help_text="Where the buyer pays (null once closed).")
    expires_at = serializers.DateTimeField(help_text="A pending top-up expires at this instant.")
    invoice_number = serializers.CharField(allow_null=True, help_text="Set when paid.")
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)

    @staticmethod
    def render(top_up: TopUp) -> dict:
        return {
            "id": str(top_up.pk), "account": str(top_up.account_id), "amount": render_amount(top_up.amount),
            "tax": render_amount(top_up.tax),
            "tax_lines": [{"name": line["name"], "rate": line["rate"], "amount": render_amount(line["amount"])}
                          for line in top_up.tax_lines],
            "total": render_amount(top_up.total), "currency": top_up.currency, "status": top_up.status,
            "provider": top_up.provider,
            "checkout_url": top_up.checkout_url or None if top_up.status == TopUpStatus.PENDING else None,
            "expires_at": render_datetime(top_up.expires_at), "invoice_number": top_up.invoice_number,
            "created_at": render_datetime(top_up.created_at), "paid_at": render_datetime(top_up.paid_at),
        }


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.CharField(help_text="paid, failed, duplicate event, refund due: ..., ignored, ...")
