"""Serializers of the rate-card API: channels, versions with rates, history, estimates."""

from rest_framework import serializers

from ledger.api.fields import AmountField, CountryField, render_amount
from ledger.api.serializers import RequestSerializer, render_datetime
from ratecards.models import Channel, VersionStatus


class ChannelSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Channel.choices)
    name = serializers.CharField()
    unit = serializers.CharField(help_text="What one unit is: message, email, conversation, customer.")
    priced_by_country = serializers.BooleanField()
    categories = serializers.ListField(child=serializers.CharField(), help_text="Categories the channel prices by.")


class RateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    country = CountryField(allow_null=True, required=False, default=None,
                           help_text="ISO 3166-1 alpha-2, or null for the channel's default price.")
    category = serializers.CharField(allow_null=True, required=False, default=None, max_length=32,
                                     help_text="null for any category.")
    unit_price = AmountField(allow_zero=True)


def render_rate(rate) -> dict:
    return {"channel": rate.channel, "country": rate.country or None, "category": rate.category or None,
            "unit_price": render_amount(rate.unit_price)}


class VersionSerializer(serializers.Serializer):
    """A rate card version with its rates."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=VersionStatus.choices)
    rates = serializers.ListField(child=RateSerializer(), min_length=1, max_length=5000)

    def to_representation(self, version) -> dict:
        return {"id": version.pk, "number": version.number, "effective_from": render_datetime(version.effective_from),
                "status": version.status, "rates": [render_rate(rate) for rate in version.rates.all()]}


class RateCardSerializer(serializers.Serializer):
    current = VersionSerializer(allow_null=True, help_text="The version in force now, or null.")
    pending = VersionSerializer(many=True, help_text="Versions that start later, soonest first.")


class RateCardUpdateSerializer(RequestSerializer):
    rates = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=5000,
                                  help_text="The full set of rates of the new version.")
    effective_from = serializers.DateTimeField(allow_null=True, required=False, default=None,
                                               help_text="null: now for a first version, else the next local day.")
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=1000)


class RateCardUpdateDocSerializer(RateCardUpdateSerializer):
    """`RateCardUpdateSerializer` as documented (rates are validated by the rate-card service)."""

    rates = serializers.ListField(child=RateSerializer(), min_length=1, max_length=5000)


class RateChangeSerializer(serializers.Serializer):
    channel = serializers.CharField()
    country = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    old_price = AmountField(allow_null=True, allow_zero=True)
    new_price = AmountField(allow_null=True, allow_zero=True)


class HistoryEntrySerializer(serializers.Serializer):
    """One version in the history: who made it, when, and what changed against the version it replaced."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=VersionStatus.choices)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    changes = RateChangeSerializer(many=True)

    def to_representation(self, entry: dict) -> dict:
        return {
            "id": entry["id"], "number": entry["number"], "effective_from": render_datetime(entry["effective_from"]),
            "status": entry["status"], "created_by": entry["created_by"],
            "created_at": render_datetime(entry["created_at"]), "note": entry["note"],
            "changes": [{**change, "old_price": render_amount(change["old_price"]),
                         "new_price": render_amount(change["new_price"])} for change in entry["changes"]],
        }


class EstimateRequestSerializer(RequestSerializer):
    account = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.CharField(allow_null=True, required=False, default=None, max_length=32)
    audience = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=10**12), required=False,
                                     allow_null=True, default=None, help_text='Recipients by country: {"IN": 12000}.')
    audience_size = serializers.IntegerField(min_value=0, max_value=10**12, required=False, allow_null=True,
                                             default=None, help_text="A plain size, priced at the default price.")

    def validate(self, attrs):
        if (attrs["audience"] is None) == (attrs["audience_size"] is None):
            raise serializers.ValidationError({"audience": ["Give either audience (by country) or audience_size."]})
        return attrs


class EstimateLineSerializer(serializers.Serializer):
    country = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()
    unit_price = AmountField(allow_zero=True)
    amount = AmountField(allow_zero=True)


class EstimateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = AmountField(allow_zero=True)
    lines = EstimateLineSerializer(many=True)
    available = AmountField(allow_negative=True)
    sufficient = serializers.BooleanField()
    shortfall = AmountField(allow_zero=True)

    def to_representation(self, estimate) -> dict:
        return {
            "currency": estimate.currency, "total": render_amount(estimate.total),
            "lines": [{"country": line.country, "quantity": line.quantity, "unit_price": render_amount(line.unit_price),
                       "amount": render_amount(line.amount)} for line in estimate.lines],
            "available": render_amount(estimate.available), "sufficient": estimate.sufficient,
            "shortfall": render_amount(estimate.shortfall),
        }
