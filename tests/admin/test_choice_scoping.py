"""List filters, choice lists and autocompletes show an org admin nothing of other orgs.

The test walks every registered ModelAdmin (so a new admin, filter or choice field without scoping
fails it) as an org admin of Alpha who holds every permission of the project's apps: only the
scoping by org, not a missing permission, may keep Bravo out of sight.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.forms import ChoiceField, ModelChoiceField
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertSettings, Notification, WebhookDelivery, WebhookEndpoint
from apiauth.services import service_token_create
from ledger import selectors, services
from ops.models import LedgerCheckRun
from payments.models import AutoRecharge, Payment, ProviderEvent, TopUp
from ratecards.services import rate_card_version_create
from tests.api.helpers import SMS_RATES
from tests.factories import UserFactory, make_org, make_subaccount

from .conftest import user_with_role

pytestmark = pytest.mark.django_db

SYSTEM = services.SYSTEM
MARKER = "Bravo"  # in every name, title, URL and username of the other org
PROJECT_APPS = ["ledger", "ratecards", "alerts", "apiauth", "payments", "ops", "approvals", "auth"]


def _populate(org, owner):
    """One row of every model for an org: accounts, lots, holds, charges, limits, rate card, alerts, webhooks."""
    master = org.master_account
    sub = make_subaccount(org, name=f"{org.name} team", owner=owner)
    services.credits_grant(actor=SYSTEM, account=master, amount="100", purchase_order=f"{org.name} PO")
    services.charge_create(actor=SYSTEM, account=master, channel="sms", quantity=1, unit_price="1",
                           reference=f"{org.name} campaign")
    services.hold_create(actor=SYSTEM, account=master, amount="5", reference=f"{org.name} hold")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="10", comment=f"{org.name} limit")
    rate_card_version_create(actor=SYSTEM, organization=org, rates=SMS_RATES)
    AlertSettings.objects.create(organization=org, low_credit_threshold="5", recipients=[f"{org.name}@example.com"])
    Notification.objects.create(organization=org, account=master, kind="low_balance", title=f"{org.name} is low",
                                message=f"{org.name} runs low")
    endpoint = WebhookEndpoint.objects.create(organization=org, url=f"https://{org.name.lower()}.example/hook",
                                              events=["balance.low"], description=f"{org.name} hook")
    WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={"org": org.name})
    service_token_create(name=f"{org.name} token", scopes=["read"], organizations=[org])
    now = timezone.now()
    top_up = TopUp.objects.create(  # payments' rows as their services leave them (no provider needed here)
        organization=org, account=master, amount="100", tax="18", total="118", currency=org.currency,
        billing_name=f"{org.name} billing", billing_address=f"{org.name} street", billing_country="IN",
        provider="bank_transfer", provider_reference=f"{org.name}-ref", failure_reason=f"{org.name} failed",
        status="failed", closed_at=now, expires_at=now + timedelta(days=1))
    Payment.objects.create(top_up=top_up, organization=org, provider="bank_transfer", status="refund_due",
                           provider_payment_id=f"{org.name}-payment", amount="118", currency=org.currency,
                           note=f"{org.name} to refund")
    ProviderEvent.objects.create(provider="bank_transfer", event_id=f"{org.name}-event", type=f"{org.name} event",
                                 top_up=top_up, payload={"org": org.name}, outcome=f"{org.name} outcome")
    AutoRecharge.objects.create(account=master, threshold="10", amount="100", provider="stripe",
                                payment_method=f"pm_{org.name}", billing={"name": org.name})
    return sub


@pytest.fixture
def alpha_admin(db):
    alpha = make_org(name="Alpha")
    bravo = make_org(name=f"{MARKER} Secret", currency="JPY", timezone_name="Asia/Tokyo")
    user = user_with_role(selectors.ROLE_ORG_ADMIN, "alpha-admin")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=PROJECT_APPS))
    alpha.admins.add(user)
    _populate(alpha, UserFactory(username="alpha-owner"))
    _populate(bravo, UserFactory(username=f"{MARKER.lower()}-owner"))
    bravo.admins.add(UserFactory(username=f"{MARKER.lower()}-admin"))
    LedgerCheckRun.objects.create(source="schedule", started_at=timezone.now() - timedelta(seconds=5),
                                  finished_at=timezone.now(), problems=1,
                                  report=f"account {bravo.master_account.pk} of {bravo.name}: balance differs")
    return user, alpha, bravo


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _leaks(texts, bravo, *, currency: bool = False) -> list[str]:
    """Texts naming Bravo; with `currency`, also its currency (forms list every ISO code, filters must not)."""
    markers = (MARKER, MARKER.lower(), bravo.wallet_id, *(["JPY"] if currency else []))
    return [text for text in map(str, texts) if any(marker in text for marker in markers)]


def _admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_every_list_filter_lists_only_the_users_orgs(alpha_admin):
    user, _, bravo = alpha_admin
    request = _request(user)
    walked = 0
    for model, model_admin in _admins():
        if not model_admin.has_view_permission(request):
            continue
        changelist = model_admin.get_changelist_instance(request)
        for spec in changelist.filter_specs:
            displays = [choice["display"] for choice in spec.choices(changelist)]
            leaks = _leaks(displays, bravo, currency=True)
            assert not leaks, (model._meta.label, spec.title, leaks)
            walked += 1
    assert walked >= 20


def _form_choices(form) -> list[str]:
    labels = []
    for name, field in form.fields.items():
        if isinstance(field, ModelChoiceField):
            labels += [f"{name}: {field.label_from_instance(obj)}" for obj in field.queryset]
        elif isinstance(field, ChoiceField):
            labels += [f"{name}: {label}" for _, label in field.choices]
    return labels


def test_every_form_choice_list_offers_only_the_users_orgs(alpha_admin):
    user, alpha, bravo = alpha_admin
    request = _request(user)
    walked = 0
    for model, model_admin in _admins():
        own = model_admin.get_queryset(request).first()
        for obj in ([None] if model_admin.has_add_permission(request) else []) + ([own] if own else []):
            if obj is not None and not model_admin.has_view_or_change_permission(request, obj):
                continue
            form = model_admin.get_form(request, obj)(instance=obj)
            assert not _leaks(_form_choices(form), bravo), (model._meta.label, obj, _leaks(_form_choices(form), bravo))
            walked += 1
    assert walked >= 15


def test_every_admin_page_and_autocomplete_hides_other_orgs(client, alpha_admin):
    """Changelists, add and change pages as rendered, and every autocomplete of every admin."""
    user, alpha, bravo = alpha_admin
    client.force_login(user)
    request = _request(user)
    for model, model_admin in _admins():
        if not model_admin.has_view_permission(request):
            continue
        info = model._meta.app_label, model._meta.model_name
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        own = model_admin.get_queryset(request).first()
        if own is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[own.pk]))
        for field_name in model_admin.get_autocomplete_fields(request):
            urls.append(reverse("admin:autocomplete") + f"?app_label={info[0]}&model_name={info[1]}"
                                                        f"&field_name={field_name}&term=")
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert not _leaks([response.content.decode()], bravo), url


def test_an_org_admin_sees_only_their_orgs_people(alpha_admin):
    user, alpha, bravo = alpha_admin
    people = set(selectors.users_for(user).values_list("username", flat=True))
    assert people == {"alpha-admin", "alpha-owner"}
    staff = UserFactory(username="root", is_superuser=True)
    assert {"bravo-owner", "bravo-admin"} <= set(selectors.users_for(staff).values_list("username", flat=True))
