"""Production safety: no start without SECRET_KEY when DEBUG is off, X-Forwarded-Proto believed only behind a
trusted proxy, admin login lockout (django-axes) and a second factor for staff (django-otp)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ops.middleware import client_address
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _settings_probe(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "TRUSTED_PROXY")}
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "creditsite.settings", **env})


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    refused = _settings_probe("print(settings.SECRET_KEY)", DEBUG="false")
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    deploy = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**{k: v for k, v in os.environ.items() if k != "SECRET_KEY"},
                                                        "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "creditsite.settings"})
    assert deploy.returncode != 0 and "SECRET_KEY is not set" in deploy.stderr
    local = _settings_probe("print(settings.SECRET_KEY)", DEBUG="true")  # make run
    assert local.returncode == 0 and local.stdout.startswith("django-insecure-")
    given = _settings_probe("print(settings.SECRET_KEY)", DEBUG="false", SECRET_KEY="from-the-environment-1234")
    assert given.stdout.strip() == "from-the-environment-1234"


def test_schema_only_commands_run_on_a_clean_clone_without_a_key_and_serving_ones_do_not():
    env = {**{k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")},
           "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "creditsite.settings"}
    schema = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    assert schema.returncode == 0, schema.stderr
    served = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=env)
    assert served.returncode != 0 and "SECRET_KEY is not set" in served.stderr


def test_check_deploy_accepts_an_email_provider_instead_of_smtp():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "creditsite.settings",
                                 "SECRET_KEY": "a-real-production-secret-key-with-plenty-of-entropy-8c1f9e2d7b",
                                 "EMAIL_PROVIDER": "postmark", "ANYMAIL_POSTMARK_SERVER_TOKEN": "pm-token",
                                 "PAYMENTS_SANDBOX": "false"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_forwarded_proto_is_believed_only_behind_a_trusted_proxy():
    code = "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), settings.TRUSTED_PROXY)"
    direct = _settings_probe(code, DEBUG="false", SECRET_KEY="k" * 50)
    assert direct.stdout.strip() == "None False"
    proxied = _settings_probe(code, DEBUG="false", SECRET_KEY="k" * 50, TRUSTED_PROXY="true")
    assert proxied.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https') True"


def test_the_client_address_comes_from_the_proxy_only_when_trusted(settings, rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY = False
    assert client_address(request) == "10.0.0.5"
    settings.TRUSTED_PROXY = True
    assert client_address(request) == "203.0.113.7"  # what our proxy appended, not what the client wrote
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="junk")) == "10.0.0.5"


def test_production_defaults_switch_the_login_throttle_and_otp_on():
    code = "print(settings.AXES_ENABLED, settings.ADMIN_REQUIRE_OTP)"
    assert _settings_probe(code, DEBUG="false", SECRET_KEY="k" * 50).stdout.strip() == "True True"
    assert _settings_probe(code, DEBUG="true").stdout.strip() == "False False"
    assert _settings_probe(code, DEBUG="false", SECRET_KEY="k" * 50, ADMIN_LOGIN_THROTTLE="false",
                           ADMIN_REQUIRE_OTP="false").stdout.strip() == "False False"


@pytest.mark.django_db
def test_a_spoofed_forwarded_proto_does_not_make_a_request_secure(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None  # TRUSTED_PROXY off
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 301  # still redirected
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # TRUSTED_PROXY on
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def _login(client, username, password, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, **extra})


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_admin_login_locks_out_after_repeated_failures(client):
    from axes.utils import reset

    UserFactory(username="ops", password="right-password-1", is_staff=True, is_superuser=True)
    for _ in range(2):
        assert _login(client, "ops", "wrong").status_code == 200  # the form again, with its error
    locked = _login(client, "ops", "wrong")
    assert locked.status_code == 429
    assert _login(client, "ops", "right-password-1").status_code == 429  # even the right password, for now
    assert "_auth_user_id" not in client.session
    other = _login(client, "someone-else", "wrong")  # the lockout is per username and address
    assert other.status_code == 200
    elsewhere = client.post("/admin/login/", {"username": "ops", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    assert elsewhere.status_code == 200
    reset(username="ops")  # what `manage.py axes_reset_username ops` does
    assert _login(client, "ops", "right-password-1").status_code == 302


@pytest.mark.django_db
@override_settings(ADMIN_REQUIRE_OTP=True)
def test_staff_need_a_second_factor_when_otp_is_required(client):
    user = UserFactory(username="finance", password="right-password-1", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    without_code = _login(client, "finance", "right-password-1")
    assert without_code.status_code == 200 and "_auth_user_id" not in client.session
    assert "OTP Token" in without_code.text
    wrong_code = _login(client, "finance", "right-password-1", otp_device=device.persistent_id, otp_token="000000")
    assert wrong_code.status_code == 200 and "_auth_user_id" not in client.session
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # wrong codes slow further tries down (django-otp)
    device.throttle_reset()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    signed_in = _login(client, "finance", "right-password-1", otp_device=device.persistent_id, otp_token=code)
    assert signed_in.status_code == 302, signed_in.text[signed_in.text.find("errornote"):][:400]
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/finance/").status_code == 200


@pytest.mark.django_db
@override_settings(ADMIN_REQUIRE_OTP=True)
def test_an_unverified_session_counts_as_logged_out_everywhere(client):
    user = UserFactory(username="old-session", is_staff=True, is_superuser=True)
    client.force_login(user)  # a session from before OTP was required, or password-only
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/finance/").status_code == 302
    assert client.get("/api/v1/organizations").status_code in (401, 403)


@pytest.mark.django_db
@override_settings(ADMIN_REQUIRE_OTP=True)
def test_a_static_code_lets_the_first_admin_in_once(client):
    user = UserFactory(username="first", password="right-password-1", is_staff=True, is_superuser=True)
    device = StaticDevice.objects.create(user=user, name="bootstrap")
    device.token_set.create(token="boot1234")
    assert _login(client, "first", "right-password-1", otp_device=device.persistent_id,
                  otp_token="boot1234").status_code == 302
    client.logout()
    assert _login(client, "first", "right-password-1", otp_device=device.persistent_id,
                  otp_token="boot1234").status_code == 200  # used up


@pytest.mark.django_db
def test_otp_is_off_by_default_in_tests_and_make_run(client):
    UserFactory(username="dev", password="right-password-1", is_staff=True, is_superuser=True)
    assert _login(client, "dev", "right-password-1").status_code == 302
