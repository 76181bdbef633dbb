"""Logging setup: structlog over the standard library, JSON lines or readable lines, secrets scrubbed.

Imported by the settings (it touches no model). Every log record, ours or a library's, goes through
one ProcessorFormatter: the request or task context (request_id, task_id) is merged in, secrets are
masked, and the line is rendered as JSON (production) or for people (`make run`).
"""

import functools
import logging
import re
from collections.abc import Mapping

import structlog

DEBUG = logging.DEBUG
REDACTED = "[redacted]"

# Keys whose values never reach a log line or an error report: a key is split into words
# (`HTTP_AUTHORIZATION`, `service_token`, `card_number`, `billing_address`) and matched word by word,
# so `rate_card_version` or `idempotency_key` stay readable.
SENSITIVE_WORDS = {"password", "passwd", "pwd", "secret", "secrets", "token", "tokens", "authorization", "auth",
                   "cookie", "cookies", "session", "sessionid", "csrftoken", "csrfmiddlewaretoken", "signature",
                   "cvv", "cvc", "iban", "billing", "otp", "dsn", "apikey", "pan"}
CARD_WORDS = {"number", "no", "cvv", "cvc", "expiry", "exp", "holder", "details", "data"}
SENSITIVE_PHRASES = ("api_key", "api-key", "payment_method", "payment_details", "private_key")
# Values that are secrets whatever key they sit under: service tokens, bearer credentials, webhook
# secrets, and card numbers (13-19 digits, spaces or dashes between, Luhn-valid, not inside an id).
SENSITIVE_TEXT = [
    (re.compile(r"\bcst_[A-Za-z0-9_\-]{8,}"), "cst_" + REDACTED),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE), r"\1 " + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}"), "whsec_" + REDACTED),
    (re.compile(r"(?<![\w.\-])(?:\d[ \-]?){12,18}\d(?![\w.\-])"), "card"),
    # query-string and form parameters: ?token=...&password=...
    (re.compile(r"\b([\w\-]*(?:token|password|passwd|secret|signature|api[_\-]?key|auth)[\w\-]*)=([^&\s\"']+)",
                re.IGNORECASE), r"\1=" + REDACTED),
]
# Keys that name things, not secrets: kept although one of their words is in SENSITIVE_WORDS.
SAFE_KEYS = {"token_name", "token_prefix", "otp_required"}


@functools.lru_cache(maxsize=4096)
def sensitive_key(key: str) -> bool:
    """True if a field of this name holds a secret or payment data."""
    lowered = key.lower()
    if lowered in SAFE_KEYS:
        return False
    words = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(words & SENSITIVE_WORDS or any(phrase in lowered for phrase in SENSITIVE_PHRASES)
                or ("card" in words and (words & CARD_WORDS or lowered == "card")))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return REDACTED if luhn_valid(digits) else match.group(0)


# A cheap first look: text without any of these cannot hold what SENSITIVE_TEXT masks.
MAYBE_SENSITIVE = re.compile(r"cst_|whsec_|bearer|basic|token|=|\d{4}", re.IGNORECASE)
# Whole values that cannot hold it either although they have digits (most fields of the money lines): a UUID,
# an integer of up to 12 digits (too short for a card number), a decimal (a card number is never followed by
# a point), an ISO 8601 instant.
PLAIN_VALUE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                         r"|-?\d{1,12}|-?\d+\.\d+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def scrub_text(text: str) -> str:
    """Mask secrets that appear inside free text (a message, a URL, an exception string)."""
    if not MAYBE_SENSITIVE.search(text) or PLAIN_VALUE.fullmatch(text):
        return text
    for pattern, replacement in SENSITIVE_TEXT:
        text = pattern.sub(_card if replacement == "card" else replacement, text)
    return text


def scrub(value, key: str = "", depth: int = 0):
    """A copy of `value` with sensitive keys' values and secret-looking text masked (nested dicts and lists)."""
    if key and sensitive_key(key):
        return REDACTED if value not in (None, "", [], {}) else value
    if depth > 8:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: scrub(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, "", depth + 1) for item in value)
    return value


def scrub_processor(logger, method_name, event_dict):
    """structlog processor: mask secrets in every field of a log event."""
    return {key: scrub(value, key if key != "event" else "") for key, value in event_dict.items()}


class DropClientErrorTracebacks(logging.Filter):
    """Drop Django's own line for a 4xx response (the request line already says it), tracebacks included.

    `django.request` logs "Forbidden (Permission denied)" with the whole traceback for every 403;
    django-structlog's request_finished line records the request once, with its status.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        return not (isinstance(status, int) and 400 <= status < 500)


def _timestamper():
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _timestamper(),
        structlog.stdlib.ExtraAdder(),
    ]


def structlog_configure() -> None:
    """Route structlog loggers through the standard library, so one formatter renders every line."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            scrub_processor,  # last: the message with its arguments, the stack
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def scrub_exception_processor(logger, method_name, event_dict):
    """structlog processor: mask secrets in the rendered traceback (`exception`), the one field the formatter adds
    to an event that the structlog chain or the foreign pre-chain has already scrubbed."""
    if "exception" in event_dict:
        event_dict["exception"] = scrub(event_dict["exception"])
    return event_dict


def _renderer(log_format: str):
    # Tracebacks are rendered first, so that secrets in exception messages are scrubbed too; every other field
    # was scrubbed once before, last in the structlog chain or in the foreign pre-chain.
    if log_format == "json":
        return [structlog.processors.dict_tracebacks, scrub_exception_processor, structlog.processors.JSONRenderer()]
    return [structlog.processors.format_exc_info, scrub_exception_processor,
            structlog.dev.ConsoleRenderer(colors=False)]


def logging_config(*, log_format: str, level: str, eager_tasks: bool) -> dict:
    """The LOGGING dict: one console handler, JSON or readable lines, 4xx noise from django.request dropped."""
    if log_format not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be json or console, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(log_format)],
                "foreign_pre_chain": [*_shared_processors(), scrub_processor],
            },
        },
        "filters": {"drop_client_errors": {"()": "creditsite.logs.DropClientErrorTracebacks"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"filters": ["drop_client_errors"]},
            # Eager tasks (no Redis) would log every task run inline with the request.
            "celery.app.trace": {"level": "WARNING" if eager_tasks else "INFO"},
            "axes": {"level": "WARNING"},
        },
    }
