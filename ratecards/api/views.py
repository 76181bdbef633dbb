"""Views of the rate-card API: channels, an org's rate card and its history, estimates."""

from drf_spectacular.utils import OpenApiExample
from rest_framework.response import Response

from ledger.api.permissions import actor_for
from ledger.api.schema import api_schema, responses
from ledger.api.views import ID, ApiView, get_account, get_organization, validated
from ratecards import estimates, selectors, services
from ratecards.models import channel_list

from . import serializers as s


class ChannelListView(ApiView):
    @api_schema(tags=["rate cards"], summary="The channels and how they are priced",
                   responses=responses({200: s.ChannelSerializer(many=True)}))
    def get(self, request):
        """The channels (SMS, email, WhatsApp, ...), the unit each counts and whether it is priced by country."""
        return Response(channel_list())


class RateCardView(ApiView):
    scopes = {"GET": "read", "PUT": "manage"}
    user_permissions = {"PUT": ["ratecards.add_ratecardversion"]}

    @api_schema(tags=["rate cards"], summary="The version in force and the pending ones", parameters=[ID],
                   responses=responses({200: s.RateCardSerializer}, 404))
    def get(self, request, id):
        """The rate card version in force now (or null) and the versions that start later, soonest first."""
        organization = get_organization(request, id)
        current = selectors.rate_card_current(organization)
        pending = selectors.rate_card_pending(organization)
        return Response({"current": s.VersionSerializer(current).data if current else None,
                         "pending": s.VersionSerializer(pending, many=True).data})

    @api_schema(
        tags=["rate cards"], summary="Create a new version (a full set of rates)", parameters=[ID],
        description="The org's first version is in force at once; later ones from the start of the next day in "
                    "the org's timezone, or from `effective_from` if later.",
        request=s.RateCardUpdateDocSerializer, responses=responses({201: s.VersionSerializer}, 404),
        examples=[OpenApiExample("SMS with an India price", request_only=True, value={"rates": [
            {"channel": "sms", "country": None, "category": None, "unit_price": "0.30"},
            {"channel": "sms", "country": "IN", "category": None, "unit_price": "0.12"}]})],
    )
    def put(self, request, id):
        """Create a new rate card version with a full set of rates."""
        organization = get_organization(request, id)
        data = validated(s.RateCardUpdateSerializer, request.data)
        version = services.rate_card_version_create(actor=actor_for(request), organization=organization,
                                                    rates=data["rates"], effective_from=data["effective_from"],
                                                    note=data["note"])
        return Response(s.VersionSerializer(version).data, status=201)


class RateCardHistoryView(ApiView):
    @api_schema(tags=["rate cards"], summary="Every version, newest first, with who changed what",
                   parameters=[ID], responses=responses({200: s.HistoryEntrySerializer(many=True)}, 404))
    def get(self, request, id):
        """Every rate card version of the organization, newest first, with who made it and what changed."""
        organization = get_organization(request, id)
        return Response(s.HistoryEntrySerializer(selectors.rate_card_history(organization), many=True).data)


class EstimateView(ApiView):
    scopes = {"POST": "charge"}
    user_permissions = {"POST": []}  # read-only: any staff user who sees the account

    @api_schema(
        tags=["charges"], summary="What a campaign would cost, and whether the account covers it",
        request=s.EstimateRequestSerializer, responses=responses({200: s.EstimateSerializer}, 404, 422),
        examples=[OpenApiExample("SMS campaign", request_only=True,
                                 value={"account": "2b0e8a8e-8d1c-4d67-9c53-2f0b6f5e0a11", "channel": "sms",
                                        "audience": {"IN": 12000, "AE": 300}})],
    )
    def post(self, request):
        """What a campaign would cost on the account, line by line, and whether what is available covers it.
        Give `audience` (recipients by country) or `audience_size`, not both.
        """
        data = validated(s.EstimateRequestSerializer, request.data)
        account = get_account(request, data["account"])
        result = estimates.estimate(account=account, channel=data["channel"], category=data["category"],
                                    audience=data["audience"], audience_size=data["audience_size"])
        return Response(s.EstimateSerializer(result).data)
