"""Service tokens (command, hashing, revocation, throttling), scopes, staff sessions and the error format."""

import hashlib
from io import StringIO

import pytest
from django.contrib.admin.sites import AdminSite
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from apiauth.admin import ServiceTokenAdmin
from apiauth.models import ServiceToken
from apiauth.throttling import ServiceTokenRateThrottle
from ledger.models import Transaction
from tests.factories import funded_account, make_org

from .helpers import role_user, session_client, token_client

pytestmark = pytest.mark.django_db


def test_create_service_token_prints_it_once_and_stores_only_a_hash(anon_client, db):
    out = StringIO()
    call_command("create_service_token", "otp-sender", "--scope", "charge", "--scope", "read", stdout=out,
                 stderr=StringIO())
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
        call_command("create_service_token", "bad", "--scope", "read", "--rate", "lots", stdout=StringIO(),
                     stderr=StringIO())


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


def test_staff_session_within_role_and_orgs(db):
    account = funded_account(name="Mine")
    other = funded_account(name="Theirs")
    finance = session_client(role_user("Finance"))
    assert finance.get(f"/api/v1/accounts/{other.pk}").status_code == 200  # finance reads every org
    denied = finance.post(f"/api/v1/accounts/{account.pk}/credits", {"amount": "1"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="f")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    admin_user = role_user("Org admin")
    account.organization.admins.add(admin_user)
    org_admin = session_client(admin_user)
    assert org_admin.get(f"/api/v1/accounts/{account.pk}").status_code == 200
    hidden = org_admin.get(f"/api/v1/accounts/{other.pk}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert org_admin.get(f"/api/v1/organizations/{other.organization.pk}").status_code == 404
    listed = org_admin.get("/api/v1/organizations").json()["results"]
    assert [o["name"] for o in listed] == ["Mine"]
    staff = session_client(role_user("Platform staff"))
    granted = staff.post(f"/api/v1/accounts/{account.pk}/credits", {"amount": "1"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="s")
    assert granted.status_code == 201 and granted.json()["transaction"]["actor"].startswith("user")
    not_staff = session_client(role_user("Finance", is_staff=False))
    assert not_staff.get(f"/api/v1/accounts/{account.pk}").status_code == 403


def test_unknown_paths_and_methods_use_the_error_format(manage_client, db):
    org = make_org()
    missing = manage_client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    method = manage_client.delete(f"/api/v1/organizations/{org.pk}")
    assert method.status_code == 405 and method.json()["code"] == "method_not_allowed"
    broken = manage_client.post("/api/v1/organizations", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "invalid"


def test_schema_and_docs_are_served_without_a_cdn(anon_client, db):
    schema = anon_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/charges", "/api/v1/charges/batch", "/api/v1/holds/{id}/release", "/api/v1/estimates",
                 "/api/v1/accounts/{id}/ledger", "/api/v1/organizations/{id}/rate-card/history", "/api/v1/transfers"]:
        assert path in spec["paths"], path
    charge = spec["paths"]["/api/v1/charges"]["post"]
    assert {"201", "400", "401", "402", "403", "404", "409", "422", "429"} <= set(charge["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in charge["parameters"])
    docs = anon_client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
