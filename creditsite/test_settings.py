"""Settings for the test suite: the real settings with plain HTTP, fast password hashing and a test key."""

import os

# The real settings refuse to start without a key when DEBUG is off; subprocesses of tests inherit it.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-outside-the-test-suite-5b7f0c2e")

from .settings import *  # noqa: E402, F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_TASK_ALWAYS_EAGER = True
# Every test client comes from 127.0.0.1: the stranger throttle's own tests set a small rate.
_rates = {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "stranger": "100000/min"}  # noqa: F405
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": _rates}  # noqa: F405
# Staff sign-in hardening is tested where it is switched on (tests/ops/test_admin_security.py).
AXES_ENABLED = False
ADMIN_REQUIRE_OTP = False
