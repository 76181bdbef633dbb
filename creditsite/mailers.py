"""Email provider settings: Django 6.1's MAILERS for a django-anymail backend, and ANYMAIL from the environment.

Imported by the settings (it touches no model). `EMAIL_URL` keeps describing SMTP or the console;
`EMAIL_PROVIDER` switches to a provider's HTTP API through django-anymail, configured with anymail's
own setting names given as environment variables (`ANYMAIL_MAILGUN_API_KEY`, ...).
"""

import json
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

# The providers anymail ships a backend for (anymail.backends.<name>.EmailBackend).
PROVIDERS = ("amazon_ses", "brevo", "mailersend", "mailgun", "mailjet", "mailtrap", "mandrill", "postal",
             "postmark", "resend", "scaleway", "sendgrid", "sparkpost", "unisender_go")
ENV_PREFIX = "ANYMAIL_"


def provider_mailers(provider: str) -> dict:
    """MAILERS with the default mailer sending through `provider`'s anymail backend."""
    name = provider.strip().lower()
    if name not in PROVIDERS:
        raise ImproperlyConfigured(f"EMAIL_PROVIDER={provider!r} is not one of: {', '.join(PROVIDERS)}.")
    return {"default": {"BACKEND": f"anymail.backends.{name}.EmailBackend", "OPTIONS": {}}}


def _value(text: str):
    """An environment value as anymail expects it: JSON objects, lists and booleans parsed, text kept."""
    if text[:1] in "{[" or text in ("true", "false"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def anymail_settings(environ: Mapping[str, str]) -> dict:
    """The ANYMAIL setting from every `ANYMAIL_<NAME>` environment variable (`ANYMAIL_MAILGUN_API_KEY` ->
    `MAILGUN_API_KEY`), so anymail's documentation applies word for word."""
    return {key[len(ENV_PREFIX):]: _value(value) for key, value in environ.items()
            if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)}
