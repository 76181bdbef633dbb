"""The project shell: health endpoint, admin login page, deploy checks, CI's PostgreSQL guard."""

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["cache"] == "ok"
    assert body["broker"] == ("ok" if os.environ.get("REDIS_URL") else "unavailable")
    assert client.get("/api/v1/health/").status_code == 200


@pytest.mark.django_db
def test_health_is_degraded_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": settings.REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True}}}
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "unavailable",
                               "cache": "unavailable"}


@pytest.mark.django_db
def test_health_is_503_when_the_database_is_down(client):
    with mock.patch.object(connection, "cursor", side_effect=Exception("connection refused")):
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.mark.django_db
def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Credits back office" in response.content


def _manage(*args, env=None):
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, **(env or {})}, timeout=120)


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     env={"DEBUG": "false", "DJANGO_SETTINGS_MODULE": "creditsite.settings",
                          "EMAIL_URL": "smtp+tls://alerts:pw@smtp.example.com:587", "PAYMENTS_SANDBOX": "false",
                          "SECRET_KEY": "a-real-production-secret-key-with-plenty-of-entropy-8c1f9e2d7b"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_refuses_the_sandbox_payment_provider():
    result = _manage("check", "--deploy", env={"DEBUG": "false", "DJANGO_SETTINGS_MODULE": "creditsite.settings",
                                               "PAYMENTS_SANDBOX": "true"})
    assert result.returncode != 0 and "payments.E001" in result.stdout + result.stderr


def test_ci_refuses_to_test_on_sqlite(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/site/test_site.py::test_admin_login_page_renders",
                             "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "CI": "true", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert result.returncode != 0
    assert "must run the tests on PostgreSQL" in result.stdout + result.stderr
