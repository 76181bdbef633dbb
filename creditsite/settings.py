"""Settings, read from the environment with django-environ (see the README's configuration table).

With nothing set the project runs on an embedded default: a SQLite file under var/, console
email and Celery tasks run eagerly. With DATABASE_URL and REDIS_URL set it runs on PostgreSQL
and Redis.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from creditsite import logs, mailers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# --- Production safety: the signing key (issue 13) ------------------------------------------------
# With DEBUG off the key must come from the environment: a committed fallback would sign production
# sessions with a key anyone can read. `make run` sets DEBUG; the test settings set a key.
SECRET_KEY = env.str("SECRET_KEY", default="")
# Commands that only read the models (no session, token or link is signed) run on a clean clone without a key.
SCHEMA_ONLY_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate", "help"}
if not SECRET_KEY and not DEBUG and sys.argv[0].endswith("manage.py") and sys.argv[1:2] \
        and sys.argv[1] in SCHEMA_ONLY_COMMANDS:
    SECRET_KEY = "unusable-schema-only-" + "x" * 40  # noqa: S105 - placeholder, nothing is signed
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set. Set it in the environment (or .env) for any run "
                                   "with DEBUG off; see the README's configuration table.")
    SECRET_KEY = "django-insecure-local-only-key-1f0c7d9e2b8a4c6d"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A reverse proxy (TLS terminator, load balancer) in front that sets X-Forwarded-For: only then is it trusted.
TRUSTED_PROXY = env.bool("TRUSTED_PROXY", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "ledger",
    "ratecards",
    "alerts",
    "apiauth",
    "payments",
    "approvals",
    "demo",
]

MIDDLEWARE = [
    "ledger.api.errors.ApiErrorMiddleware",  # outermost: every response under /api/ is the contract's JSON
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "creditsite.urls"
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's form renderer with its commonest widget and label templates written in Python (creditsite/formrenderer.py).
FORM_RENDERER = "creditsite.formrenderer.FormRenderer"

WSGI_APPLICATION = "creditsite.wsgi.application"

# Database: SQLite under var/ when DATABASE_URL is unset (zero-setup `make run`); PostgreSQL otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue on the database lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that asks the socket, not the server (creditsite/db/base.py).
        DATABASES["default"]["ENGINE"] = "creditsite.db"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and cache. Without it tasks run eagerly and the cache is in-process.
# Redis is not on the money path: when it is unreachable the cache fails open (a miss; throttles let
# requests through) within REDIS_SOCKET_TIMEOUT, then skips Redis for REDIS_RETRY_AFTER_SECONDS
# (creditsite.resilience), and enqueues after a commit are logged and left to the catch-up jobs.
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_RETRY_AFTER_SECONDS = env.float("REDIS_RETRY_AFTER_SECONDS", default=10.0)
if REDIS_URL:
    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT, "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                    "IGNORE_EXCEPTIONS": True, "REDIS_CLIENT_CLASS": "creditsite.resilience.FailFastRedis"},
    }}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
# Publishing from a web request waits at most about a second for an unreachable broker.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# A task a worker took but did not acknowledge (the worker was killed) goes back to its queue after
# this many seconds. It must exceed the longest task (a million-lot expiry takes about a minute, the
# nightly ledger check a few) and every retry countdown (capped below it: alerts.webhooks.backoff_seconds).
# Workers look for such tasks every 10 s (kombu scans only every 10th look unless the throttle is 1).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    "unacked_restore_interval": 10, "unacked_restore_throttle": 1,
    "socket_connect_timeout": 1, "socket_timeout": 1, "socket_keepalive": True,
}
# One queue per kind of work, so a burst of alert emails never delays the scheduled jobs (README, "Production").
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "alerts.tasks.run_due_jobs": {"queue": "jobs"},
    "alerts.tasks.purge_idempotency_keys": {"queue": "jobs"},
    "alerts.tasks.roll_up_month_totals": {"queue": "jobs"},
    "ops.tasks.check_ledger": {"queue": "jobs"},
    "alerts.tasks.check_account_alerts": {"queue": "alerts"},
    "alerts.tasks.send_alert_email": {"queue": "alerts"},
    "alerts.tasks.deliver_webhook": {"queue": "webhooks"},
    "payments.tasks.expire_top_ups": {"queue": "jobs"},
    "payments.tasks.top_up_paid_notify": {"queue": "alerts"},
    "payments.tasks.refund_due_notify": {"queue": "alerts"},
    # calls to payment providers (checkout close, saved-card charges of auto-recharge, sandbox events)
    "payments.tasks.provider_checkout_close": {"queue": "payments"},
    "payments.tasks.send_sandbox_event": {"queue": "payments"},
    "payments.tasks.auto_recharge_check": {"queue": "payments"},
    "payments.tasks.auto_recharge_charge": {"queue": "payments"},
    "payments.tasks.auto_recharge_catch_up": {"queue": "payments"},
}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Jobs run often and act on whatever is due by each org's own clock (orgs live in many timezones).
CELERY_BEAT_SCHEDULE: dict = {
    "run-due-jobs": {"task": "alerts.tasks.run_due_jobs", "schedule": timedelta(minutes=15)},
    "purge-idempotency-keys": {"task": "alerts.tasks.purge_idempotency_keys", "schedule": crontab(minute=7, hour=3)},
    # Before the ledger check, which compares the monthly totals with the daily ones.
    "roll-up-month-totals": {"task": "alerts.tasks.roll_up_month_totals", "schedule": crontab(minute=17, hour=2)},
    "check-ledger": {"task": "ops.tasks.check_ledger", "schedule": crontab(minute=37, hour=4)},
}
CELERY_BEAT_SCHEDULE["expire-top-ups"] = {"task": "payments.tasks.expire_top_ups", "schedule": timedelta(minutes=5)}
CELERY_BEAT_SCHEDULE["expire-approval-requests"] = {"task": "approvals.tasks.expire_approval_requests",
                                                    "schedule": timedelta(minutes=15)}
CELERY_TASK_ROUTES["approvals.tasks.expire_approval_requests"] = {"queue": "jobs"}
CELERY_BEAT_SCHEDULE["auto-recharge-catch-up"] = {"task": "payments.tasks.auto_recharge_catch_up",
                                                  "schedule": timedelta(minutes=15)}
ADMINS = env.list("ADMINS", default=[])  # addresses mailed when the nightly ledger check fails

# Email
# Email: EMAIL_URL (smtp://user:pass@host:587, smtp+tls://..., consolemail://) becomes Django 6.1's MAILERS.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"), "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"), "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS", False), "use_ssl": _email.get("EMAIL_USE_SSL", False), "timeout": 10,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _smtp_options.items() if v not in (None, "")}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="credits@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format on every page (ledger/times.py): 2026-12-02 00:00 IST.
FORMAT_MODULE_PATH = ["creditsite.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ledger.api.parsers.SafeJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apiauth.authentication.ServiceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ledger.api.permissions.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apiauth.throttling.ServiceTokenRateThrottle",
        "apiauth.throttling.StaffSessionRateThrottle",
        "apiauth.throttling.StrangerRateThrottle",
    ],
    "EXCEPTION_HANDLER": "ledger.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "service_token": env.str("API_TOKEN_RATE", default="6000/min"),
        "user": env.str("API_SESSION_RATE", default="600/min"),
        "stranger": env.str("API_STRANGER_RATE", default="60/min"),
        # provider webhooks, per provider and client address (Stripe and Razorpay post from a few addresses)
        "payment_webhook": env.str("PAYMENT_WEBHOOK_RATE", default="1200/min"),
    },
    # The client address of a request (strangers are throttled by it): REMOTE_ADDR, or the entry our proxy
    # appends to X-Forwarded-For when one is trusted. Never trust the header without a proxy: anyone can set it.
    "NUM_PROXIES": 1 if TRUSTED_PROXY else 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Credits API",
    "DESCRIPTION": "Internal service API v1: balances, estimates, holds, charges, transfers and ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ledger.api.schema.strip_trailing_slashes",
        "ledger.api.schema.closed_request_bodies",
    ],
    "ENUM_NAME_OVERRIDES": {
        "LedgerKindEnum": "ledger.api.serializers.LEDGER_KINDS",
        "ChannelEnum": "ratecards.models.Channel",
        "HoldStatusEnum": "ledger.models.HoldStatus",
        "RateCardVersionStatusEnum": "ratecards.models.VersionStatus",
    },
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Idempotency keys are kept at least this long before the purge job removes them.
# Where a money rule has two implementations, which one runs: "database" (on PostgreSQL: ledger_charge() for
# single charges, one set-based statement for lot expiry) or "python" (the code path SQLite always takes).
# Both apply the same rules (tests compare them); "python" exists for those tests and for debugging.
# A web process keeps the service tokens it has seen while their version in Redis is unchanged (apiauth.token_cache),
# and reads them again after this many seconds in any case; 0: read the token row on every request.
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=60)
LEDGER_MONEY_PATH = env.str("LEDGER_MONEY_PATH", default="database")
# Lot expiry on PostgreSQL 15+ compresses the full-page images of its own WAL with this method (SET LOCAL per
# chunk) when its role may set wal_compression (a superuser, or GRANT SET ON PARAMETER wal_compression);
# "" leaves the server's setting alone. See docs/jobs-and-alerts.md, "Lot expiry at scale".
LEDGER_EXPIRY_WAL_COMPRESSION = env.str("LEDGER_EXPIRY_WAL_COMPRESSION", default="lz4")
IDEMPOTENCY_KEY_RETENTION = timedelta(days=env.int("IDEMPOTENCY_KEY_RETENTION_DAYS", default=8))

# --- Payments (buying credits): provider keys, routes, the seller on tax invoices (README, "Configuration").
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="")
RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="")
RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="")
RAZORPAY_API_BASE = env.str("RAZORPAY_API_BASE", default="https://api.razorpay.com")
# The built-in sandbox provider serves when no real provider has keys (or when switched on explicitly).
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=not (STRIPE_SECRET_KEY or RAZORPAY_KEY_ID))
SANDBOX_WEBHOOK_SECRET = env.str("SANDBOX_WEBHOOK_SECRET", default="sandbox-local-only-secret")
SANDBOX_WEBHOOK_URL = env.str("SANDBOX_WEBHOOK_URL", default="")  # default: this site's webhook endpoint
PAYMENT_ROUTES = env.str("PAYMENT_ROUTES", default="INR=razorpay,stripe,bank_transfer;*=stripe,bank_transfer")
BANK_TRANSFER_DETAILS = env.str("BANK_TRANSFER_DETAILS", default="")
TOP_UP_PENDING_HOURS = env.int("TOP_UP_PENDING_HOURS", default=24)
BANK_TRANSFER_PENDING_DAYS = env.int("BANK_TRANSFER_PENDING_DAYS", default=14)
PAYMENTS_SELLER = {
    "code": env.str("SELLER_CODE", default="default"),
    "name": env.str("SELLER_NAME", default="Credits Platform Pvt Ltd"),
    "address": env.str("SELLER_ADDRESS", default="12 MG Road, Bengaluru 560001, India"),
    "tax_id": env.str("SELLER_TAX_ID", default="29AAACC1234F1Z4"),
    "country": env.str("SELLER_COUNTRY", default="IN"),
    "state": env.str("SELLER_STATE", default="KA"),
    "invoice_prefix": env.str("SELLER_INVOICE_PREFIX", default="CR"),
    "financial_year_start_month": env.int("SELLER_FINANCIAL_YEAR_START_MONTH", default=0),  # 0: April in India
    "timezone": env.str("SELLER_TIMEZONE", default=""),
}

# Production hardening: on whenever DEBUG is off, so `manage.py check --deploy` passes.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Production safety: proxy, admin login throttle, second factor (issue 13) ---------------------
# TRUSTED_PROXY: a proxy we run sits in front and sets X-Forwarded-Proto and X-Forwarded-For. Only
# then are those headers believed (HTTPS detection here, client addresses for throttles and logs);
# without a proxy any client could send them. (TRUSTED_PROXY is read once, near the top.)
if TRUSTED_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "ops.apps.CreditsAdminConfig"
INSTALLED_APPS += ["axes", "django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
                  "ops.security.VerifiedStaffMiddleware")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # turns a lockout into its 429 page; last, as axes asks
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# django-axes: after ADMIN_LOGIN_FAILURE_LIMIT failed logins for one username from one address, that
# pair is locked out for ADMIN_LOGIN_COOLOFF_MINUTES. On by default whenever DEBUG is off.
AXES_ENABLED = env.bool("ADMIN_LOGIN_THROTTLE", default=not DEBUG)
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.middleware.client_address"  # REMOTE_ADDR, or the proxy's when TRUSTED_PROXY
AXES_VERBOSE = False  # no start-up banner in the logs
# django-otp: staff sign in with password and a TOTP code (or a one-time static code); a session
# without a verified device counts as logged out. On by default whenever DEBUG is off.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Credits back office")

# --- Operations: logs, metrics, error reports, email providers (issue 18) -------------------------
INSTALLED_APPS += ["django_structlog", "anymail", "ops"]
MIDDLEWARE.insert(0, "ops.middleware.RequestIdMiddleware")
MIDDLEWARE.insert(1, "ops.middleware.RequestMetricsMiddleware")
MIDDLEWARE.insert(2, "django_structlog.middlewares.RequestMiddleware")

# Logs: one line per request (django-structlog's request_finished) with its request id, which is
# returned as X-Request-ID and travels in the headers of the Celery tasks the request enqueues.
# JSON lines in production, readable lines with DEBUG (make run); LOG_FORMAT overrides.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = logs.logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"),
                              eager_tasks=CELERY_TASK_ALWAYS_EAGER)
logs.structlog_configure()
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # ops.middleware.RequestIdMiddleware vets it first
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logs.DEBUG  # request_started: only the finished line counts
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # ops.middleware binds `ip` (TRUSTED_PROXY-aware)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics at /metrics for Prometheus, for a bearer token only (no token set: the endpoint is off).
# Under gunicorn set PROMETHEUS_MULTIPROC_DIR (docs/operations.md): every worker process writes its
# counters there and a scrape of any one adds them up; state (queues, ledger check, webhooks,
# top-ups) is read from PostgreSQL and Redis at scrape time.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)  # a Celery host's own exporter
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="127.0.0.1")
METRICS_TOPUP_MODEL = env.str("METRICS_TOPUP_MODEL", default="payments.TopUp")

# Error reports: Sentry when SENTRY_DSN is set, with secrets and payment data scrubbed.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from ops.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"),
                traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))

# Email through a provider's API (django-anymail) instead of SMTP: EMAIL_PROVIDER names the backend
# (mailgun, amazon_ses, postmark, sendgrid, brevo, ...), its settings come from ANYMAIL_* variables.
# Bounces and complaints arrive at /anymail/<provider>/tracking/ (basic auth ANYMAIL_WEBHOOK_SECRET).
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="")
if EMAIL_PROVIDER:
    MAILERS = mailers.provider_mailers(EMAIL_PROVIDER)
ANYMAIL = mailers.anymail_settings(os.environ)
ALERT_EMAIL_SKIP_BOUNCED = env.bool("ALERT_EMAIL_SKIP_BOUNCED", default=True)
