"""Schemathesis against /api/v1/schema: no 5xx, every response as documented, and the schema tells the truth.

Positive data (requests the schema calls valid) must never be refused as `invalid` (402 and 422 are
answers about money and prices, not about the request's form); negative data (requests the schema
calls invalid) must always be refused. The few rules JSON Schema cannot state are named in
`UNSTATABLE` and such requests are left out of the positive run; the descriptions document them.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apiauth.services import service_token_create
from ledger import services
from payments.services import top_up_create
from tests.factories import SYSTEM, funded_account

from .helpers import with_rate_card

# Statuses that accept a well-formed request: success, and answers about the objects, money and prices.
ACCEPTED = ["2xx", "401", "402", "403", "404", "409", "422", "429"]


def unstatable(case) -> str | None:
    """Why a schema-valid request may still be refused by a rule JSON Schema cannot state, or None."""
    query, body = case.query or {}, case.body if isinstance(case.body, dict) else {}
    if "cursor" in query:
        return "a cursor is opaque: only one from a `next` URL is valid"
    if case.path.endswith("/estimates") and (body.get("audience") is None) == (body.get("audience_size") is None):
        return "estimates take audience or audience_size, exactly one"
    if case.path.endswith("/estimates") and body.get("audience"):
        return "audience keys are ISO 3166-1 country codes"
    if any(isinstance(item, dict) and item.get("recipient") for item in [body, *body.get("items", [])]):
        return "a recipient must be a valid phone number (phonenumbers), more than its E.164 shape"
    items = [body, *[item for item in body.get("items", []) if isinstance(item, dict)]]
    if any(item.get("category") for item in items):
        return "a category is one of its channel's categories (WhatsApp has four; SMS and email have none)"
    if any(item.get("hold") for item in items):
        return "a hold is a hold of the charged account (another one is a field error of the body)"
    if body.get("payment_scheme") == "postpaid":
        return "a postpaid organization needs a credit limit above zero"
    if "/payments/webhooks/" in case.path:
        return "a payment webhook carries its provider's signature over the raw body"
    if case.path.endswith("/top-ups") and case.method.upper() == "POST":
        return ("a top-up's net amount is within its currency's limits, and the billing state is a subdivision "
                "of the billing country (and matches the GSTIN)")
    if case.path.endswith("/rate-card") and case.method.upper() == "PUT":
        return "rates are checked as a set by the rate-card service (countries of the channel, duplicates)"
    return None


@pytest.fixture
def api_schema(db):
    """The schema, loaded from the WSGI app; requests keep the test's database connection (as Django's Client does)."""
    from creditsite.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema", application, config=SchemathesisConfig.from_dict(
            {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db):
    _, plain = service_token_create(name="fuzzer", scopes=["manage"], all_organizations=True,
                                    throttle_rate="1000000/min")
    return plain


@pytest.fixture
def real_ids(db) -> dict:
    """Ids of real objects, so half the requests reach the services instead of 404."""
    account = funded_account("1000")
    with_rate_card(account.organization)
    hold = services.hold_create(actor=SYSTEM, account=account, amount="10")
    top_up = top_up_create(actor=SYSTEM, account=account, amount="500", provider="sandbox",
                           billing={"name": "Fuzz", "address": "1 Road", "country": "IN", "state": "KA"},
                           base_url="http://testserver/")
    return {"accounts": str(account.pk), "organizations": str(account.organization_id), "holds": str(hold.pk),
            "top-ups": str(top_up.pk)}


def use_real_ids(case, ids: dict) -> None:
    """Point the path id and body account fields of a generated request at real objects."""
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = ids[case.path.split("/")[3]]
    if isinstance(case.body, dict):
        for field in ("account", "from_account"):
            if field in case.body:
                case.body[field] = ids["accounts"]


CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
               response_headers_conformance]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "checks"), [
    (GenerationMode.POSITIVE, [*CONFORMANCE, positive_data_acceptance]),
    (GenerationMode.NEGATIVE, [not_a_server_error, content_type_conformance, negative_data_rejection]),
], ids=["positive", "negative"])
def test_api_conforms_to_its_schema(api_schema, fuzz_token, real_ids, mode, checks):
    """Every operation, 30 generated requests each (deterministic): as documented, and valid exactly as documented."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 24

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
        @settings(max_examples=30, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case, real):
            token = {"Authorization": f"Bearer {fuzz_token}"}
            if mode is GenerationMode.NEGATIVE:  # keep the invalid part: no real ids, a generated token stays
                token = {} if "Authorization" in (case.headers or {}) else token
            elif real:
                use_real_ids(case, real_ids)
            if mode is GenerationMode.POSITIVE and unstatable(case):
                return
            case.call_and_validate(headers=token, checks=checks)

        check()
