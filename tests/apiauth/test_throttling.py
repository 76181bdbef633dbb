"""Throttles: strangers per client address, RateLimit headers on every counted response, and failing open."""

import logging
import uuid

import pytest
from rest_framework.test import APIClient

from apiauth.throttling import ServiceTokenRateThrottle, StaffSessionRateThrottle, StrangerRateThrottle
from tests.api.helpers import role_user, session_client, token_client
from tests.factories import funded_account

pytestmark = pytest.mark.django_db


def _address() -> str:
    """A fresh documentation address, so counts left in the cache by other runs never meet this test's."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def stranger_rate(monkeypatch):
    monkeypatch.setattr(StrangerRateThrottle, "THROTTLE_RATES", {"stranger": "3/min"})


def test_strangers_are_throttled_per_address(stranger_rate):
    account = funded_account()
    url = f"/api/v1/accounts/{account.pk}"
    address, other_address = _address(), _address()
    client = APIClient(REMOTE_ADDR=address)
    statuses = [client.get(url).status_code, client.get(url, HTTP_AUTHORIZATION="Bearer cst_guess").status_code,
                client.get(url, HTTP_AUTHORIZATION="Bearer cst_guess2").status_code]
    assert statuses == [401, 401, 401]
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer cst_guess3"}):
        throttled = client.get(url, **headers)
        assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
        assert 1 <= int(throttled["Retry-After"]) <= 61
        assert throttled["RateLimit"].startswith('"address";r=0;t=')
    assert APIClient(REMOTE_ADDR=other_address).get(url).status_code == 401  # counted per address
    # a service with a valid token from the same address is not a stranger
    valid = token_client(["read"])
    valid.defaults["REMOTE_ADDR"] = address
    assert valid.get(url).status_code == 200


def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(stranger_rate, settings):
    url = "/api/v1/channels"
    proxy = _address()
    spoofer = APIClient(REMOTE_ADDR=proxy)
    # no trusted proxy: X-Forwarded-For is anyone's to write, so it cannot open new buckets
    assert [spoofer.get(url, HTTP_X_FORWARDED_FOR=_address()).status_code for _ in range(4)] == [401, 401, 401, 429]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    behind = APIClient(REMOTE_ADDR=_address())
    first, second = _address(), _address()
    assert [behind.get(url, HTTP_X_FORWARDED_FOR=f"10.9.9.9, {first}").status_code for _ in range(4)] == [
        401, 401, 401, 429]
    assert behind.get(url, HTTP_X_FORWARDED_FOR=second).status_code == 401  # the client the proxy saw


def test_ratelimit_headers_on_success():
    client = token_client(["read"], throttle_rate="100/min")
    first = client.get("/api/v1/channels")
    assert first.status_code == 200
    assert first["RateLimit-Policy"] == '"token";q=100;w=60'
    assert first["RateLimit"].startswith('"token";r=99;t=')
    assert client.get("/api/v1/channels")["RateLimit"].startswith('"token";r=98;t=')
    staff = session_client(role_user("Platform staff"))
    assert staff.get("/api/v1/channels")["RateLimit-Policy"] == '"session";q=600;w=60'


class BrokenCache:
    """A cache whose server is gone: every call raises, as django-redis does when Redis is down."""

    def get(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    set = add = get


def test_throttles_fail_open_when_the_cache_is_down(monkeypatch, caplog):
    for throttle in (ServiceTokenRateThrottle, StaffSessionRateThrottle, StrangerRateThrottle):
        monkeypatch.setattr(throttle, "cache", BrokenCache())
    account = funded_account()
    with caplog.at_level(logging.WARNING, logger="apiauth.throttling"):
        assert token_client(["read"]).get(f"/api/v1/accounts/{account.pk}").status_code == 200
        assert session_client(role_user("Platform staff")).get(f"/api/v1/accounts/{account.pk}").status_code == 200
        assert APIClient().get(f"/api/v1/accounts/{account.pk}").status_code == 401
    assert sum("cache is unavailable" in record.getMessage() for record in caplog.records) == 3
