"""Schemathesis against /api/v1/schema: no 5xx, and every response conforms to the documented schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apiauth.services import service_token_create
from ledger import services
from payments.services import top_up_create
from tests.factories import SYSTEM, funded_account

from .helpers import with_rate_card


@pytest.fixture
def api_schema(db):
    """The schema, loaded from the WSGI app; requests keep the test's database connection (as Django's Client does)."""
    from creditsite.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db):
    _, plain = service_token_create(name="fuzzer", scopes=["manage"], throttle_rate="1000000/min")
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


@pytest.mark.slow
def test_api_conforms_to_its_schema(api_schema, fuzz_token, real_ids):
    """Every operation, 25 generated requests each (deterministic): no 5xx, status/body/headers as documented."""
    from schemathesis.checks import not_a_server_error

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              response_headers_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy(), real=st.booleans())
        @settings(max_examples=30, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case, real):
            if real:
                use_real_ids(case, real_ids)
            case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, checks=checks)

        check()
