"""Redis stopped or frozen under a real gunicorn: charges, holds, reads and the admin keep working, quickly.

The server runs the production settings (django-redis cache, Redis broker, DEBUG off) against the
test database and a throwaway redis-server of its own (port 6391), which the tests kill or
SIGSTOP. Before the fix every API request answered 500 (the throttle read the cache) and a frozen
Redis made each one hang.
"""

import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from alerts import jobs
from alerts.models import Notification
from ledger.models import Hold, Transaction
from tests.admin.conftest import user_with_role
from tests.api.helpers import with_rate_card
from tests.factories import funded_account
from tests.servers import Gunicorn, RedisServer, platform_token, request, server_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_PORT, WEB_PORT = 6391, 8111
BOUND_SECONDS = 3.0  # what one request may take while Redis is gone (its socket timeouts are 0.5-1 s)


def database_url() -> str:
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_server():
    server = RedisServer(REDIS_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def web(redis_server, tmp_path):
    env = server_env(database_url(), redis_server.url, CONN_MAX_AGE=0, SECRET_KEY=settings.SECRET_KEY)
    server = Gunicorn(WEB_PORT, env, workers=1,
                      log=tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


@pytest.fixture
def setup(transactional_db):
    account = funded_account("100", currency="USD", timezone_name="UTC")
    with_rate_card(account.organization)
    staff = user_with_role("Platform staff", "outage-staff")
    session = SessionStore()
    backends = settings.AUTHENTICATION_BACKENDS
    model_backend = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_id"] = str(staff.pk)
    session["_auth_user_backend"] = model_backend if model_backend in backends else backends[0]
    session["_auth_user_hash"] = staff.get_session_auth_hash()
    session.create()
    return {"account": account, "token": platform_token(f"outage-{uuid.uuid4().hex[:6]}", ["manage"]), "cookie": f"sessionid={session.session_key}"}


def timed(port, method, path, body=None, headers=None):
    started = time.monotonic()
    status, response_headers, content = request(port, method, path, body, headers, timeout=30)
    return status, content, time.monotonic() - started


def exercise(port, setup, label: str) -> list[float]:
    """A charge, a hold, a balance read and the admin org page; each must succeed within BOUND_SECONDS."""
    account, auth = setup["account"], {"Authorization": f"Bearer {setup['token']}"}
    calls = [
        ("POST", "/api/v1/charges", {"account": str(account.pk), "channel": "sms", "quantity": 2,
                                     "traffic": "transactional", "reference": label}, 201),
        ("POST", "/api/v1/holds", {"account": str(account.pk), "amount": "1", "reference": label}, 201),
        ("GET", f"/api/v1/accounts/{account.pk}", None, 200),
    ]
    durations = []
    for method, path, body, expected in calls:
        headers = {**auth, "Idempotency-Key": f"{label}-{path}"} if method == "POST" else auth
        status, content, seconds = timed(port, method, path, body, headers)
        assert status == expected, f"{label}: {method} {path} answered {status}: {content[:300]!r}"
        durations.append(seconds)
    status, content, seconds = timed(port, "GET", f"/admin/ledger/organization/{account.organization_id}/change/",
                                     headers={"Cookie": setup["cookie"]})
    assert status == 200 and b"balance-value" in content, f"{label}: admin page answered {status}"
    durations.append(seconds)
    assert max(durations) < BOUND_SECONDS, f"{label}: request durations {durations}"
    return durations


def health(port):
    import json

    status, _, content = request(port, "GET", "/api/v1/health", timeout=30)
    return status, json.loads(content)


def test_everything_works_with_redis_up(web, setup):
    exercise(web.port, setup, "up")
    assert health(web.port) == (200, {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"})


def test_redis_stopped_charges_holds_reads_and_admin_keep_working(web, redis_server, setup):
    exercise(web.port, setup, "before")
    redis_server.stop()
    for round_ in range(3):
        exercise(web.port, setup, f"stopped-{round_}")
    status, body = health(web.port)
    assert status == 200
    assert body == {"status": "degraded", "database": "ok", "broker": "unavailable", "cache": "unavailable"}
    account = setup["account"]
    assert Transaction.objects.filter(account=account, kind="charge").count() == 4
    assert Hold.objects.filter(account=account).count() == 4
    account.refresh_from_db()
    assert account.balance == Decimal("100") - 4 * Decimal("1.0")  # 2 SMS at the 0.5 default price each time

    redis_server.start()  # back: the service finds it again by itself
    time.sleep(settings.REDIS_RETRY_AFTER_SECONDS + 0.5)
    exercise(web.port, setup, "after")
    assert health(web.port)[1]["status"] == "ok"


def test_redis_frozen_requests_stay_bounded(web, redis_server, setup):
    exercise(web.port, setup, "before")
    redis_server.freeze()
    try:
        for round_ in range(3):
            exercise(web.port, setup, f"frozen-{round_}")
        started = time.monotonic()
        status, body = health(web.port)
        assert time.monotonic() - started < BOUND_SECONDS
        assert status == 200 and body["status"] == "degraded" and body["broker"] == "unavailable"
    finally:
        redis_server.thaw()
    assert Transaction.objects.filter(account=setup["account"], kind="charge").count() == 4


def test_low_credit_alert_goes_out_once_redis_is_back(web, redis_server, setup):
    """With Redis down no alert check can be queued; the catch-up job finds the account afterwards."""
    account, auth = setup["account"], {"Authorization": f"Bearer {setup['token']}"}
    redis_server.stop()
    status, _, content = request(web.port, "POST", "/api/v1/charges", {
        "account": str(account.pk), "channel": "sms", "quantity": 196, "traffic": "transactional"},
        {**auth, "Idempotency-Key": "drain"})
    assert status == 201, content
    assert not Notification.objects.filter(account=account).exists()
    redis_server.start()
    result = jobs.run_job("alert_checks_catch_up")
    assert result.count >= 1 and not result.error
    assert Notification.objects.filter(account=account, kind="low_balance").count() == 1
    assert jobs.run_job("alert_checks_catch_up").count == 0  # checked: no longer stale
