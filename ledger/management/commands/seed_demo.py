"""manage.py seed_demo: two demo orgs (INR/Kolkata prepaid, USD/New York postpaid) with a month of usage.

Everything goes through the ledger and rate-card services, with past instants, so the demo
ledger is exactly what real traffic would have produced.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone

from ledger import services
from ledger.errors import InsufficientCredits
from ledger.models import Organization
from ratecards.services import rate_card_version_create

SEED = services.Actor(service="seed_demo")

INDIA_RATES = [
    {"channel": "sms", "country": None, "category": None, "unit_price": "0.30"},
    {"channel": "sms", "country": "IN", "category": None, "unit_price": "0.25"},
    {"channel": "sms", "country": "AE", "category": None, "unit_price": "2.10"},
    {"channel": "email", "country": None, "category": None, "unit_price": "0.05"},
    {"channel": "xengage", "country": None, "category": None, "unit_price": "0.90"},
    {"channel": "whatsapp", "country": "IN", "category": "marketing", "unit_price": "0.88"},
    {"channel": "whatsapp", "country": "IN", "category": "utility", "unit_price": "0.13"},
    {"channel": "whatsapp", "country": "IN", "category": "authentication", "unit_price": "0.13"},
    {"channel": "whatsapp", "country": "IN", "category": "service", "unit_price": "0"},
]
US_RATES = [
    {"channel": "sms", "country": None, "category": None, "unit_price": "0.0079"},
    {"channel": "sms", "country": "US", "category": None, "unit_price": "0.0075"},
    {"channel": "sms", "country": "CA", "category": None, "unit_price": "0.0080"},
    {"channel": "sms", "country": "GB", "category": None, "unit_price": "0.0400"},
    {"channel": "email", "country": None, "category": None, "unit_price": "0.0010"},
    {"channel": "whatsapp", "country": None, "category": "marketing", "unit_price": "0.025"},
    {"channel": "whatsapp", "country": "US", "category": "marketing", "unit_price": "0.025"},
    {"channel": "whatsapp", "country": "US", "category": "utility", "unit_price": "0.004"},
    {"channel": "whatsapp", "country": None, "category": "authentication", "unit_price": "0.0135"},
    {"channel": "whatsapp", "country": None, "category": "service", "unit_price": "0"},
]


def _price(rates, channel, country, category):
    for c, k in ((country, category), (country, None), (None, category), (None, None)):
        for rate in rates:
            if (rate["channel"], rate["country"], rate["category"]) == (channel, c, k):
                return Decimal(rate["unit_price"])
    raise LookupError(channel)


class Command(BaseCommand):
    help = "Loads two demo orgs with subaccounts, rate cards, credit lots and a month of realistic usage."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any organization exists.")

    def handle(self, *args, if_empty=False, **options):
        if if_empty and Organization.objects.exists():
            self.stdout.write("Organizations exist already: demo data not loaded.")
            return
        rng = random.Random(20261121)  # noqa: S311 - demo data, not security
        now = timezone.now()
        start = now - timedelta(days=31)

        acme = services.organization_create(actor=SEED, name="Acme Retail India", currency="INR",
                                            timezone_name="Asia/Kolkata")
        acme_master = acme.master_account
        marketing = services.account_create(actor=SEED, organization=acme, name="Marketing", balance_mode="shared")
        support = services.account_create(actor=SEED, organization=acme, name="Support OTP", balance_mode="own")
        self._rate_card(acme, INDIA_RATES)
        services.credits_grant(actor=SEED, account=acme_master, amount="8000", expires_in="3M",
                               comment="Welcome credits", at=start - timedelta(days=20))
        services.credits_grant(actor=SEED, account=acme_master, amount="50000", expires_in="6M",
                               purchase_order="PO-2026-0193", comment="Q4 purchase", at=start)
        services.credit_limit_set(actor=SEED, account=acme_master, amount="5000", comment="Festival season")
        services.transfer_create(actor=SEED, from_account=acme_master, to_account=support, amount="6000",
                                 comment="OTP budget", at=start + timedelta(hours=1))

        globex = services.organization_create(actor=SEED, name="Globex Messaging", currency="USD",
                                              timezone_name="America/New_York", payment_scheme="postpaid",
                                              credit_limit="50000",
                                              spending_policy="all_must_fit")  # the limit binds all traffic
        globex_master = globex.master_account
        eu_team = services.account_create(actor=SEED, organization=globex, name="EU team", balance_mode="own")
        self._rate_card(globex, US_RATES)
        services.credits_grant(actor=SEED, account=eu_team, amount="400", expires_in="1Y", source="purchase",
                               purchase_order="PO-GLX-88", comment="EU prepaid pot", at=start)

        count = 0
        for day in range(31):
            moment = start + timedelta(days=day, hours=10)
            for account, channel, country, category, traffic, quantity, rates in (
                (marketing, "sms", "IN", None, "promotional", rng.randint(800, 2400), INDIA_RATES),
                (acme_master, "email", None, None, "promotional", rng.randint(2000, 9000), INDIA_RATES),
                (acme_master, "whatsapp", "IN", rng.choice(["marketing", "utility", "service"]), "promotional",
                 rng.randint(50, 400), INDIA_RATES),
                (support, "sms", "IN", None, "transactional", rng.randint(100, 600), INDIA_RATES),
                (globex_master, "sms", rng.choice(["US", "CA", "GB"]), None, "promotional", rng.randint(5000, 40000),
                 US_RATES),
                (globex_master, "whatsapp", "US", rng.choice(["marketing", "utility", "authentication"]),
                 "transactional", rng.randint(200, 3000), US_RATES),
                (eu_team, "email", None, None, "promotional", rng.randint(1000, 8000), US_RATES),
            ):
                price = _price(rates, channel, country, category)
                try:
                    services.charge_create(actor=services.Actor(service="campaign-engine"), account=account,
                                           channel=channel, quantity=quantity, country=country, category=category,
                                           traffic=traffic, unit_price=price, reference=f"demo-{day}-{count}",
                                           at=moment + timedelta(minutes=count % 50))
                    count += 1
                except InsufficientCredits:
                    pass
        services.hold_create(actor=services.Actor(service="campaign-engine"), account=marketing, amount="1500",
                             reference="Diwali campaign", expires_in_seconds=3 * 86400)
        services.lots_expire(at=now)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data loaded: {acme.name} (wallet {acme.wallet_id}) and {globex.name} (wallet {globex.wallet_id}), "
            f"{count} charges over 31 days."))

    def _rate_card(self, organization, rates):
        rate_card_version_create(actor=SEED, organization=organization, rates=rates, note="Demo rate card")
