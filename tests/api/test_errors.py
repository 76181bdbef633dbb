"""Every response under /api/ is the contract's JSON: crafted input is a 400, faults are 500/503, never HTML."""

import base64
import json
import logging

import pytest
from django.db import connection
from django.db.utils import OperationalError
from django.test import Client, override_settings

from ledger.api.parsers import MAX_DEPTH
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _cursor(raw) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CRAFTED_CURSORS = {
    "nulls": _cursor([None, None]),
    "garbage": "!!not-base64~~",
    "not json": _cursor("{oops"),
    "numbers": _cursor([1, 2]),
    "objects": _cursor([{"a": 1}, []]),
    "wrong length": _cursor(["a"]),
    "wrong types": _cursor(["yesterday", "not-an-id"]),
    "nul": _cursor(["a\x00b", "3f0c7d9e-2b8a-4c6d-9e3a-1f0c7d9e2b8a"]),
    "huge": _cursor(["x" * 20_000, "y"]),
    "huge int": _cursor(["2026-01-01T00:00:00+00:00", str(10**30)]),
    "naive datetime": _cursor(["2026-01-01T00:00:00", "1"]),
    "not ascii": "ñ" * 10,
}


@pytest.mark.parametrize("endpoint", ["organizations", "ledger", "lots"])
@pytest.mark.parametrize("cursor", CRAFTED_CURSORS.values(), ids=CRAFTED_CURSORS.keys())
def test_a_crafted_cursor_is_400_invalid(manage_client, account, endpoint, cursor):
    url = {"organizations": "/api/v1/organizations", "ledger": f"/api/v1/accounts/{account.pk}/ledger",
           "lots": f"/api/v1/accounts/{account.pk}/lots"}[endpoint]
    response = manage_client.get(url, {"cursor": cursor})
    assert response.status_code == 400, response.content[:200]
    assert response.json() == {"code": "invalid", "detail": "The request is not valid.",
                               "errors": {"cursor": ["The cursor is not valid."]}}


def test_a_real_cursor_still_pages(manage_client, account):
    for number in range(3):
        manage_client.post(f"/api/v1/accounts/{account.pk}/credits", {"amount": "1"}, format="json",
                           HTTP_IDEMPOTENCY_KEY=f"grant-{number}")
    first = manage_client.get(f"/api/v1/accounts/{account.pk}/lots", {"page_size": 2}).json()
    second = manage_client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 2 and second["next"] is None


def test_nul_in_a_query_parameter_is_400(manage_client, account):
    response = manage_client.get("/api/v1/organizations", {"search": "Ac\x00me"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"search": ["NUL characters are not allowed."]}
    response = manage_client.get(f"/api/v1/accounts/{account.pk}/ledger", {"kind": "charge\x00"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.parametrize("body", [
    {"channel": "sms", "reference": "ref\x00"},
    {"channel": "sms", "ignored": ["deep", {"x": "\x00"}]},
    {"channel": "sms", "ignored": {"key\x00": 1}},
], ids=["field", "ignored field", "key"])
def test_nul_in_a_body_string_is_400(charge_client, account, body):
    response = charge_client.post("/api/v1/charges", {"account": str(account.pk), **body}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="nul")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "The request body is not valid JSON.",
                               "errors": {"non_field_errors": ["Strings may not contain NUL (\\u0000) characters."]}}
    assert account.organization.transactions.filter(kind="charge").count() == 0


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 2_000, 100_000])
def test_deep_json_is_400_wherever_it_is(charge_client, account, depth):
    """Deep nesting is refused by the parser: as the body, and inside a field the serializer ignores."""
    as_body = charge_client.generic("POST", "/api/v1/charges", _nested(depth), content_type="application/json",
                                    HTTP_IDEMPOTENCY_KEY=f"deep-{depth}")
    ignored = f'{{"account": "{account.pk}", "channel": "sms", "ignored": {_nested(depth)}}}'
    in_field = charge_client.generic("POST", "/api/v1/charges", ignored, content_type="application/json",
                                     HTTP_IDEMPOTENCY_KEY=f"deep-field-{depth}")
    for response in (as_body, in_field):
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "nested deeper" in response.json()["errors"]["non_field_errors"][0]


def test_shallow_nesting_in_an_ignored_field_is_accepted(charge_client, account):
    body = {"account": str(account.pk), "channel": "sms", "ignored": json.loads(_nested(MAX_DEPTH - 2))}
    response = charge_client.post("/api/v1/charges", body, format="json", HTTP_IDEMPOTENCY_KEY="shallow")
    assert response.status_code == 201


# --- anything under /api/ is JSON -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/accounts/x/nothing/", "/api/v2/charges",
                                  "/api/"])
def test_unknown_paths_are_404_json_for_any_method(method, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(is_superuser=True))  # a session makes Django's CSRF check apply to POSTs
    response = client.generic(method.upper(), path, "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": f"No endpoint {path}."}


def test_wrong_method_is_405_json(manage_client, account):
    response = manage_client.delete(f"/api/v1/accounts/{account.pk}")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    response = Client().post("/api/v1/health")  # a plain Django view, not DRF
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "detail": "This method is not allowed here."}
    assert response["Allow"] == "GET"


def test_a_body_over_the_size_limit_is_413_json(charge_client, account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"account": str(account.pk), "channel": "sms", "reference": "x" * 20_000})
    response = charge_client.generic("POST", "/api/v1/charges", body, content_type="application/json",
                                     HTTP_IDEMPOTENCY_KEY="big")
    assert response.status_code == 413
    assert response.json() == {"code": "payload_too_large",
                               "detail": "The request body is larger than the server accepts."}
    assert account.organization.transactions.filter(kind="charge").count() == 0


def test_a_body_read_over_the_limit_without_content_length_is_413(settings, rf):
    """Django's own size check (RequestDataTooBig) reaches handler400, which answers 413 under /api/."""
    from django.core.exceptions import RequestDataTooBig

    from ledger.api.errors import handler400

    response = handler400(rf.post("/api/v1/charges"), RequestDataTooBig("too big"))
    assert response.status_code == 413 and json.loads(response.content)["code"] == "payload_too_large"
    assert handler400(rf.post("/admin/x"), RequestDataTooBig("too big"))["Content-Type"].startswith("text/html")


@pytest.fixture
def broken_charge(monkeypatch):
    """Make the charge service raise what a bug raises."""
    from ledger import services

    def boom(**kwargs):
        raise RuntimeError("secret internals: /srv/app/ledger/services.py line 42")

    monkeypatch.setattr(services, "charge_create", boom)


def test_an_unhandled_exception_is_500_json_without_a_stack_trace(charge_client, account, broken_charge, caplog):
    charge_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"},
                                      format="json", HTTP_IDEMPOTENCY_KEY="bug")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "server_error" and "safe to retry" in body["detail"]
    assert "secret internals" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert any("secret internals" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


@override_settings(DEBUG=True)
def test_debug_mode_keeps_stack_traces_out_of_the_api(charge_client, account, broken_charge):
    charge_client.raise_request_exception = False
    response = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"},
                                  format="json", HTTP_IDEMPOTENCY_KEY="bug")
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert "secret internals" not in response.content.decode()


@pytest.fixture
def database_down(monkeypatch):
    """Every new query fails as it does while PostgreSQL restarts (the connection cannot be used)."""

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    def down():
        monkeypatch.setattr(connection, "ensure_connection", refuse)

    return down


def test_database_unavailable_in_an_api_view_is_503_with_retry_after(charge_client, account, database_down):
    charge_client.raise_request_exception = False
    database_down()
    response = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"},
                                  format="json", HTTP_IDEMPOTENCY_KEY="pg-down")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.urls("tests.api.fault_urls")
@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/fault/database", 503, "service_unavailable"),
    ("/api/v1/fault/bug", 500, "server_error"),
])
def test_faults_outside_drf_views_are_json_too(path, status, code):
    client = Client(raise_request_exception=False)
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert ("Retry-After" in response) == (status == 503)


@pytest.mark.urls("tests.api.fault_urls")
def test_the_admin_keeps_django_html_error_pages():
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_superuser=True))
    for path, status in (("/admin/no-such-page/", 404), ("/fault/bug", 500)):
        response = client.get(path)
        assert response.status_code == status
        assert response["Content-Type"].startswith("text/html"), path


def test_an_empty_idempotency_key_is_400_even_where_the_key_is_optional(manage_client):
    response = manage_client.post("/api/v1/organizations", {"name": "Keyless", "currency": "INR"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="")
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]
    assert manage_client.post("/api/v1/organizations", {"name": "Keyless", "currency": "INR"},
                              format="json").status_code == 201
