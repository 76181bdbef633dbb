"""Settings for the test suite: the real settings with plain HTTP and fast password hashing."""

from .settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_TASK_ALWAYS_EAGER = True
# Every test client comes from 127.0.0.1: the stranger throttle's own tests set a small rate.
_rates = {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "stranger": "100000/min"}  # noqa: F405
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": _rates}  # noqa: F405
