"""Who may call the API: staff sessions within their role and orgs; unknown paths and the schema."""

import pytest

from tests.factories import funded_account, make_org

from .helpers import role_user, session_client

pytestmark = pytest.mark.django_db


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
