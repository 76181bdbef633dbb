"""Service tokens: the command, hashing, revocation, scopes and per-token throttling."""

import hashlib
import importlib
from io import StringIO

import pytest
from django.contrib.admin.sites import AdminSite
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apiauth import token_cache
from apiauth.admin import ServiceTokenAdmin
from apiauth.models import ServiceToken
from apiauth.services import service_token_revoke
from apiauth.throttling import ServiceTokenRateThrottle
from ledger.models import Transaction
from tests.api.helpers import role_user, token_client
from tests.factories import funded_account, make_org

pytestmark = pytest.mark.django_db


def test_create_service_token_prints_it_once_and_stores_only_a_hash(anon_client, db):
    out = StringIO()
    call_command("create_service_token", "otp-sender", "--scope", "charge", "--scope", "read", "--all-orgs",
                 stdout=out, stderr=StringIO())
    plain = out.getvalue().strip()
    token = ServiceToken.objects.get(name="otp-sender")
    assert plain.startswith("cst_") and len(plain) > 40
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest() and plain not in token.token_hash
    assert token.prefix == plain[:12] and token.scopes == ["charge", "read"]
    response = anon_client.get("/api/v1/channels", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    with pytest.raises(CommandError):
        call_command("create_service_token", "bad", "--scope", "read", "--all-orgs", "--rate", "lots",
                     stdout=StringIO(), stderr=StringIO())


def test_no_bad_or_revoked_token_is_401(anon_client, db):
    account = funded_account()
    url = f"/api/v1/accounts/{account.pk}"
    response = anon_client.get(url)
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated",
                               "detail": "Send `Authorization: Bearer <token>` or log in as staff."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert anon_client.get(url, HTTP_AUTHORIZATION="Bearer nope").json()["code"] == "not_authenticated"
    client = token_client(["read"])
    assert client.get(url).status_code == 200
    site = AdminSite()
    admin = ServiceTokenAdmin(ServiceToken, site)
    request = RequestFactory().post("/")
    request.user = role_user("Platform staff", is_superuser=True)
    admin.message_user = lambda *args, **kwargs: None
    admin.revoke(request, ServiceToken.objects.filter(pk=client.token.pk))
    assert ServiceToken.objects.get(pk=client.token.pk).revoked_at is not None
    assert client.get(url).status_code == 401


def test_a_token_kept_by_a_web_process_is_refused_at_once_when_revoked_or_changed_elsewhere(db):
    """Each process keeps the tokens it has seen while their version in Redis is unchanged; a revoke or an edit
    in another process writes a new version, so the kept token is read again and refused (or changed) at once."""
    account = funded_account()
    url = f"/api/v1/accounts/{account.pk}"
    client = token_client(["read"])
    assert client.get(url).status_code == 200  # the version is written
    assert client.get(url).status_code == 200  # from here on the token is kept in this process
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert not any("apiauth_servicetoken" in q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"])
    token_hash = client.token.token_hash
    kept = token_cache._tokens[token_hash]
    ServiceToken.objects.filter(pk=client.token.pk).update(scopes=["charge"])  # an edit elsewhere ...
    token_cache.token_changed(token_hash)  # ... writes a new version
    token_cache._tokens[token_hash] = kept  # this process still keeps the old token
    refused = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"}, format="json")
    assert refused.status_code != 403  # the new scope counts at once
    kept = token_cache._tokens[token_hash]
    service_token_revoke(token=client.token)  # a revoke in the admin of another process
    token_cache._tokens[token_hash] = kept
    response = client.get(url)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert token_hash not in token_cache._tokens


def test_without_the_token_cache_every_request_reads_the_token(db, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    account = funded_account()
    client = token_client(["read"])
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/accounts/{account.pk}").status_code == 200
        assert any("apiauth_servicetoken" in q["sql"] for q in queries.captured_queries)
    ServiceToken.objects.filter(pk=client.token.pk).update(revoked_at=timezone.now())
    assert client.get(f"/api/v1/accounts/{account.pk}").status_code == 401


@pytest.mark.parametrize(("scopes", "allowed"), [
    (["read"], {"get"}),
    (["charge"], {"get", "charge"}),
    (["manage"], {"get", "charge", "credits"}),
])
def test_scopes(scopes, allowed, db):
    account = funded_account()
    client = token_client(scopes)
    calls = {
        "get": lambda: client.get(f"/api/v1/accounts/{account.pk}"),
        "charge": lambda: client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"},
                                      format="json", HTTP_IDEMPOTENCY_KEY="k"),
        "credits": lambda: client.post(f"/api/v1/accounts/{account.pk}/credits", {"amount": "1"}, format="json",
                                       HTTP_IDEMPOTENCY_KEY="c"),
    }
    for name, call in calls.items():
        response = call()
        if name in allowed:
            assert response.status_code != 403, name
        else:
            assert response.status_code == 403, name
            assert response.json()["code"] == "permission_denied"
            assert "scope" in response.json()["detail"]
    if "charge" not in allowed:
        assert not Transaction.objects.filter(kind="charge").exists()


def test_per_token_throttling_is_429(db, monkeypatch):
    client = token_client(["read"], throttle_rate="2/min")
    other = token_client(["read"])
    statuses = [client.get("/api/v1/channels").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/channels")
    assert response.json()["code"] == "throttled" and int(response["Retry-After"]) >= 1
    assert other.get("/api/v1/channels").status_code == 200  # counted per token
    monkeypatch.setattr(ServiceTokenRateThrottle, "THROTTLE_RATES", {"service_token": "1/min"})
    default_rate = token_client(["read"])  # the default rate (API_TOKEN_RATE) applies without a token rate
    assert [default_rate.get("/api/v1/channels").status_code for _ in range(2)] == [200, 429]


def _create(*args) -> ServiceToken:
    out = StringIO()
    call_command("create_service_token", *args, stdout=out, stderr=StringIO())
    return ServiceToken.objects.get(token_hash=hashlib.sha256(out.getvalue().strip().encode()).hexdigest())


def test_create_service_token_for_listed_orgs_or_all_orgs():
    first, second, _ = make_org(name="First"), make_org(name="Second"), make_org(name="Third")
    token = _create("otp-sender", "--scope", "charge", "--org", str(first.pk), "--org", second.wallet_id)
    assert not token.all_organizations
    assert set(token.organizations.all()) == {first, second} == set(token.visible_organizations())
    everywhere = _create("billing", "--scope", "read", "--all-orgs")
    assert everywhere.all_organizations and everywhere.visible_organizations().count() == 3
    for args in ([], ["--all-orgs", "--org", str(first.pk)], ["--org", "W-NOPE"],
                 ["--org", "0b7a1c8e-1d4f-4b6a-8a61-000000000000"]):
        with pytest.raises(CommandError):
            call_command("create_service_token", "bad", "--scope", "read", *args, stdout=StringIO(),
                         stderr=StringIO())
    assert not ServiceToken.objects.filter(name="bad").exists()


def test_the_admin_sets_the_orgs_of_a_token():
    first, second = make_org(name="First"), make_org(name="Second")
    token = token_client(["read"], organizations=[first]).token
    admin = ServiceTokenAdmin(ServiceToken, AdminSite())
    request = RequestFactory().get("/")
    request.user = role_user("Platform staff", is_superuser=True)
    form_class = admin.get_form(request, token)
    base = {"name": token.name, "scopes": '["read"]', "throttle_rate": ""}
    neither = form_class({**base, "organizations": []}, instance=token)
    assert not neither.is_valid() and "organizations" in neither.errors
    both = form_class({**base, "all_organizations": "on", "organizations": [first.pk]}, instance=token)
    assert not both.is_valid() and "organizations" in both.errors
    narrowed = form_class({**base, "organizations": [second.pk]}, instance=token)
    assert narrowed.is_valid(), narrowed.errors
    narrowed.save()
    assert list(token.visible_organizations()) == [second]
    assert admin.organizations_col(token) == "Second"


def test_tokens_made_before_org_lists_keep_every_org():
    """The migration that adds org lists marks the existing tokens all-orgs (README: narrow them)."""
    from django.apps import apps

    migration = importlib.import_module("apiauth.migrations.0002_organizations_of_tokens")
    token = token_client(["read"], organizations=[make_org()]).token
    migration.existing_tokens_keep_every_org(apps, None)
    token.refresh_from_db()
    assert token.all_organizations
