"""manage.py seed_demo: two demo orgs (INR/Kolkata prepaid, USD/New York postpaid) with a month of usage.

Everything goes through the ledger, rate-card and alert services, with past instants, so the demo
ledger is exactly what real traffic would have produced. Demo users (`priya.ops`, platform staff,
`femi.finance`, finance, `arjun.acme`, Acme's org admin, and `sunita.sales`, a subaccount user of Acme
with individual user credits; no password until `manage.py changepassword` gives one) leave actions
with reasons on the activity timeline; a rate card change is pending, an account has its own
low-credit threshold, a lot has expired and the alert banners are raised; INR actions above 25,000 need
approval and one grant waits in the approval queue.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.utils import timezone

from alerts import services as alert_services
from alerts.bounces import email_event_record
from alerts.models import AccountThreshold, WebhookEndpoint
from apiauth.services import service_token_create
from approvals.models import ApprovalThreshold
from approvals.services import approval_request_create
from ledger import services
from ledger.errors import InsufficientCredits
from ledger.history import history_actor
from ledger.models import Organization
from ledger.selectors import ROLE_FINANCE, ROLE_ORG_ADMIN, ROLE_PLATFORM_STAFF, ROLE_SUBACCOUNT_USER
from ops.models import CheckSource
from ops.services import ledger_check_run
from payments import auto_recharge
from payments import services as payments
from payments.providers.base import Event
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


INDIA_RATES_NEXT = [{**rate, "unit_price": "0.27"} if (rate["channel"], rate["country"]) == ("sms", "IN") else rate
                    for rate in INDIA_RATES]


def _demo_user(username, role, first_name, last_name):
    """A staff user of one role without a usable password (`manage.py changepassword` to log in as them)."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "first_name": first_name, "last_name": last_name,
                                     "email": f"{username}@example.com"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


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
                                            timezone_name="Asia/Calcutta")
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
        loyalty = services.account_create(actor=SEED, organization=acme, name="Loyalty", balance_mode="own")
        services.credits_grant(actor=SEED, account=loyalty, amount="2000", expires_in="1M",
                               purchase_order="PO-2026-0101", comment="Loyalty pilot", at=start - timedelta(days=15))
        services.credits_grant(actor=SEED, account=loyalty, amount="1500", expires_in="1M",
                               purchase_order="PO-2026-0188", comment="Loyalty pilot, second wave",
                               at=now - timedelta(days=10))
        services.lots_expire(at=now)
        self._purchases(acme, support, now)
        self._operations_demo(acme)
        self._staff_actions(acme, globex, support)
        self._approvals(acme)
        self._rate_card(acme, INDIA_RATES_NEXT, note="SMS to India up from 0.25 to 0.27")
        self._alerts(acme, globex, support)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data loaded: {acme.name} (wallet {acme.wallet_id}) and {globex.name} (wallet {globex.wallet_id}), "
            f"{count} charges over 31 days."))
        # API tokens: one limited to Acme (Globex's ids answer 404 to it), one platform-wide; shown once.
        _, acme_token = service_token_create(name="acme-otp-sender", scopes=["charge"], organizations=[acme])
        _, platform_token = service_token_create(name="provisioning", scopes=["manage"], all_organizations=True)
        self.stdout.write("Demo users (no password: `manage.py changepassword NAME` gives one): priya.ops (platform "
                          "staff), femi.finance (finance), arjun.acme (org admin of Acme), sunita.sales (subaccount "
                          "user of Acme: My credits, transfers with the conditions tick).")
        self.stdout.write(f"Demo API tokens (shown once): acme-otp-sender (charge, {acme.name} only) {acme_token}; "
                          f"provisioning (manage, all orgs) {platform_token}")

    def _purchases(self, acme, support, now):
        """A paid top-up with its tax invoice, a pending one (its banner shows on Acme's pages), an auto-recharge."""
        if not settings.PAYMENTS_SANDBOX:
            self.stdout.write("The sandbox payment provider is off: no demo top-ups.")
            return
        billing = {"name": "Acme Retail India Pvt Ltd", "address": "4 Brigade Road, Bengaluru 560025",
                   "country": "IN", "state": "KA", "tax_id": "29AAACC1234F1Z4", "email": "accounts@acme.example"}
        base_url = "http://127.0.0.1:8000/"
        paid = payments.top_up_create(actor=SEED, account=acme.master_account, amount="5000", billing=billing,
                                      provider="sandbox", base_url=base_url, at=now - timedelta(days=3))
        payments.payment_event_process(provider="sandbox", at=now - timedelta(days=3), event=Event(
            event_id="demo-paid", type="payment.succeeded", outcome="succeeded", payload={"demo": True},
            top_up_id=str(paid.pk), payment_id="sbx_pay_demo_1", amount=paid.total, currency=paid.currency))
        payments.top_up_create(actor=SEED, account=acme.master_account, amount="2500",
                               billing={**billing, "state": "MH", "address": "1 Marine Drive, Mumbai 400020",
                                        "tax_id": ""}, provider="sandbox", base_url=base_url)
        auto_recharge.auto_recharge_save(account=support, threshold="1000", mode="fixed_amount", amount="2000",
                                         max_per_day=2, provider="sandbox", payment_method="pm_sandbox_ok",
                                         billing=billing)

    def _operations_demo(self, organization):
        """A webhook endpoint to send a test event to, a reported bounce, and a first ledger check run."""
        WebhookEndpoint.objects.create(
            organization=organization, url="https://hooks.example.com/credits", events=["balance.low"],
            description="Demo: point it at a receiver, then use the action 'Send a test event'.")
        email_event_record(recipient="old-finance@acme.example", event="bounced", provider="Postmark",
                           reason="smtp;550 5.1.1 mailbox does not exist (demo)")
        ledger_check_run(source=CheckSource.COMMAND)

    def _rate_card(self, organization, rates, note="Demo rate card"):
        rate_card_version_create(actor=SEED, organization=organization, rates=rates, note=note)

    def _staff_actions(self, acme, globex, support):
        """What people did today (after the month of usage): a top-up, a correction, a limit and a setting
        change, each with why."""
        priya = _demo_user("priya.ops", ROLE_PLATFORM_STAFF, "Priya", "Ops")
        _demo_user("femi.finance", ROLE_FINANCE, "Femi", "Finance")
        acme.admins.add(_demo_user("arjun.acme", ROLE_ORG_ADMIN, "Arjun", "Acme admin"))
        staff = services.Actor(user=priya)
        services.credits_grant(actor=staff, account=acme.master_account, amount="12000", expires_in="6M",
                               purchase_order="PO-2026-0211", comment="Festival top-up, invoice INV-8841")
        services.credits_remove(actor=staff, account=support, amount="250",
                                comment="Duplicate OTP budget transfer")
        services.credit_limit_set(actor=staff, account=globex.master_account, amount="60000", temporary_days=14,
                                  comment="Black Friday volume, approved by CFO")
        services.organization_update(actor=staff, organization=acme, timezone="Asia/Kolkata",
                                     reason="The canonical IANA name of the billing timezone")
        self._individual_credits(acme)

    def _individual_credits(self, acme):
        """Individual user credits on Acme (001): `sunita.sales` owns the Sales subaccount and moves its credits
        herself, after ticking the conditions Arjun (the org admin) wrote; users may also send each other credits."""
        arjun = get_user_model().objects.get(username="arjun.acme")
        services.organization_update(
            actor=services.Actor(user=arjun), organization=acme, individual_user_credits=True,
            user_to_user_transfers=True, reason="Sales reps manage their own budgets",
            transfer_conditions="Transfers take effect at once and cannot be undone. Credits keep their expiry "
                                "dates. Budgets above INR 10,000 need your manager's approval first.")
        sunita = _demo_user("sunita.sales", ROLE_SUBACCOUNT_USER, "Sunita", "Sales")
        sales = services.account_create(actor=SEED, organization=acme, name="Sales (Sunita)", balance_mode="own",
                                        owner=sunita)
        services.transfer_create(actor=services.Actor(user=arjun), from_account=acme.master_account,
                                 to_account=sales, amount="3000", comment="Sales budget for December")
        services.transfer_create(actor=services.Actor(user=sunita), from_account=sales,
                                 to_account=acme.master_account, amount="500", comment="Unused: back to the pool")

    def _approvals(self, acme):
        """Approvals above INR 25,000 and Priya's grant of INR 40,000 waiting for a second person (the queue)."""
        priya = get_user_model().objects.get(username="priya.ops")
        threshold = ApprovalThreshold(currency="INR", amount=Decimal("25000"))
        history_actor(threshold, services.Actor(user=priya), "Four eyes on large INR grants, removals and limits")
        threshold.save()
        approval_request_create(user=priya, account=acme.master_account, action="grant", amount="40000",
                                reason="Annual plan prepayment, invoice INV-9012",
                                params={"expires_in": "1Y", "purchase_order": "PO-2026-0240"})

    def _alerts(self, acme, globex, support):
        """Alert settings with recipients, Support OTP's own threshold, and the alerts they raise."""
        priya = services.Actor(user=get_user_model().objects.get(username="priya.ops"))
        alert_settings = alert_services.alert_settings_get_or_create(organization=acme)
        alert_settings.recipients = ["finance@acme.example"]
        history_actor(alert_settings, priya, "Finance wants the low-credit emails")
        alert_settings.save()
        threshold = AccountThreshold(account=support, low_credit_threshold=Decimal("6000"))
        history_actor(threshold, priya, "OTP traffic must never stop: warn a week ahead")
        threshold.save()
        for account in (*acme.accounts.all(), *globex.accounts.all()):
            alert_services.account_alerts_check(account_id=account.pk)
