"""Structured logs: one JSON line per request with its request id (also in X-Request-ID), one line for a 403,
money actions with their fields, secrets scrubbed wherever they appear."""

import io
import json
import logging
import logging.config
import uuid

import pytest
from django.contrib.auth.models import Permission

from creditsite.logs import logging_config, scrub, scrub_text
from ledger import services
from ops.logs import money_action_log
from tests.api.helpers import token_client
from tests.factories import UserFactory, funded_account

pytestmark = pytest.mark.django_db


class JsonLines:
    """What the production log handler writes (the project's JSON formatter), read back line by line."""

    def __init__(self):
        config = logging_config(log_format="json", level="INFO", eager_tasks=True)
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(
            logging.config.DictConfigurator(config).configure_custom(dict(config["formatters"]["structured"])))

    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def of(self, request_id: str) -> list[dict]:
        return [line for line in self.all() if line.get("request_id") == request_id]


@pytest.fixture
def logs():
    lines = JsonLines()
    root = logging.getLogger()
    root.addHandler(lines.handler)
    yield lines
    root.removeHandler(lines.handler)


def test_a_request_gets_an_id_in_its_response_header_and_its_one_log_line(client, logs):
    response = client.get("/api/v1/health")
    request_id = response["X-Request-ID"]
    assert uuid.UUID(request_id)
    [line] = logs.of(request_id)
    assert line["event"] == "request_finished" and line["code"] == 200 and line["route"] == "health"
    assert line["level"] == "info" and "duration_ms" in line and line["timestamp"].endswith("Z")


def test_an_incoming_request_id_is_kept_when_well_formed(client):
    assert client.get("/api/v1/health", HTTP_X_REQUEST_ID="lb-7f3a9c2e1b")["X-Request-ID"] == "lb-7f3a9c2e1b"
    for crafted in ("short", "x" * 200, "a b c d e f g h", 'inject"\n{"level":"error"}'):
        replaced = client.get("/api/v1/health", HTTP_X_REQUEST_ID=crafted)["X-Request-ID"]
        assert replaced != crafted and uuid.UUID(replaced)


def test_a_403_in_the_admin_logs_one_line_without_a_traceback(client, logs):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(staff)
    response = client.get("/admin/auth/user/")  # no permission on users
    assert response.status_code == 403
    assert len(logs.all()) == 1  # not Django's "Forbidden (Permission denied)" with its traceback as well
    [line] = logs.of(response["X-Request-ID"])
    assert (line["event"], line["code"], line["level"]) == ("request_finished", 403, "warning")
    assert "exception" not in line and "Traceback" not in logs.text()


def test_a_403_in_the_api_logs_one_line(logs):
    account = funded_account("10")
    client = token_client(["read"])
    response = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 403
    assert len(logs.all()) == 1
    [line] = logs.of(response["X-Request-ID"])
    assert line["code"] == 403 and "Traceback" not in logs.text()
    assert client.plain not in logs.text()  # the bearer token never reaches a log line


def test_money_actions_log_their_fields_and_never_a_token(logs, service_actor):
    money_action_log(kind="charge", organization_id="org-1", account_id="acc-1", amount="12.500000",
                     currency="INR", idempotency_key="campaign-42-msg-7", actor=service_actor, transaction_id=9)
    [line] = [line for line in logs.all() if line["event"] == "money_moved"]
    assert {key: line[key] for key in ("kind", "organization", "account", "amount", "currency", "idempotency_key",
                                       "actor", "transaction")} == {
        "kind": "charge", "organization": "org-1", "account": "acc-1", "amount": "12.500000", "currency": "INR",
        "idempotency_key": "campaign-42-msg-7", "actor": "service:campaign-engine", "transaction": "9"}


def test_a_service_charge_logs_its_money_action_after_the_commit(logs, service_actor, money_path,
                                                               django_capture_on_commit_callbacks):
    """The ledger's money_moved event, connected in ops.signals, writes the line (with the caller's key)."""
    account = funded_account("10")
    with django_capture_on_commit_callbacks(execute=True):
        txn = services.charge_create(actor=service_actor, account=account, channel="sms", quantity=2,
                                     unit_price="0.25", idempotency_key="campaign-42-msg-8")
        assert not [line for line in logs.all() if line["event"] == "money_moved"]  # nothing before the commit
    [line] = [line for line in logs.all() if line["event"] == "money_moved"]
    assert {key: line[key] for key in ("kind", "organization", "account", "amount", "currency", "idempotency_key",
                                       "actor", "transaction")} == {
        "kind": "charge", "organization": str(account.organization_id), "account": str(account.pk),
        "amount": "0.500000", "currency": "INR", "idempotency_key": "campaign-42-msg-8",
        "actor": "service:campaign-engine", "transaction": str(txn.pk)}


def test_a_batch_logs_one_line_per_kind_and_channel_with_its_count_and_total(logs, service_actor,
                                                                          django_capture_on_commit_callbacks):
    account = funded_account("10")
    items = [services.ChargeRequest(channel="sms", unit_price="0.25"), services.ChargeRequest(channel="sms", unit_price="0.5"),
             services.ChargeRequest(channel="email", unit_price="0.1"), services.ChargeRequest(channel="sms", unit_price="99")]
    with django_capture_on_commit_callbacks(execute=True):
        result = services.charge_batch(actor=service_actor, account=account, items=items, idempotency_key="b-1")
    assert [item.transaction is not None for item in result.items] == [True, True, True, False]
    lines = sorted((line for line in logs.all() if line["event"] == "money_moved"), key=lambda line: line["amount"])
    assert [(line["kind"], line["amount"], line.get("count", 1), line["transaction"], line["idempotency_key"])
            for line in lines] == [("charge", "0.100000", 1, str(result.items[2].transaction.pk), "b-1"),
                                   ("charge", "0.750000", 2, None, "b-1")]


def test_secrets_are_scrubbed_from_log_lines(logs):
    logging.getLogger("creditsite.test").warning(
        "retrying with Authorization: Bearer cst_abcdefghijklmnop1234 for card 4111 1111 1111 1111",
        extra={"password": "hunter22", "billing_address": "1 Main St", "card_number": "4111111111111111",
               "rate_card_version": 3, "idempotency_key": "k-1", "headers": {"Cookie": "sessionid=abc"}})
    [line] = [line for line in logs.all() if line.get("logger") == "creditsite.test"]
    text = json.dumps(line)
    for secret in ("cst_abcdefghijklmnop1234", "4111 1111 1111 1111", "hunter22", "1 Main St", "4111111111111111",
                   "sessionid=abc"):
        assert secret not in text
    assert line["rate_card_version"] == 3 and line["idempotency_key"] == "k-1"  # names, not secrets, are kept
    assert line["event"] == "retrying with Authorization: Bearer cst_[redacted] for card [redacted]"


def test_card_numbers_are_masked_but_ids_and_amounts_are_not():
    assert scrub_text("card 4111-1111-1111-1111 declined") == "card [redacted] declined"
    kept = ("task a264b85d-88aa-4deb-a123-456789012345 done", "order 1234567890123 (not a card: checksum)",
            "amount 12345678901234.500000", "+919812345678")
    for text in kept:
        assert scrub_text(text) == text
    # whole values of the money lines skip the patterns; a bare card number is still masked
    for plain in ("a264b85d-88aa-4deb-a123-456789012345", "-0.010000", "5599", "2026-12-07T00:17:07.516925Z"):
        assert scrub_text(plain) == plain
    for card in ("4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111"):
        assert scrub_text(card) == "[redacted]"


def test_scrub_walks_nested_data():
    scrubbed = scrub({"data": {"items": [{"token": "t", "amount": "5"}], "Authorization": "Basic dXNlcjpwYXNz"},
                      "note": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"})
    assert scrubbed == {"data": {"items": [{"token": "[redacted]", "amount": "5"}], "Authorization": "[redacted]"},
                        "note": "whsec_[redacted]"}


def test_console_format_for_make_run_is_readable():
    config = logging_config(log_format="console", level="INFO", eager_tasks=True)
    formatter = logging.config.DictConfigurator(config).configure_custom(dict(config["formatters"]["structured"]))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    rendered = formatter.format(record)
    assert "hello world" in rendered and not rendered.startswith("{")
    with pytest.raises(ValueError):
        logging_config(log_format="xml", level="INFO", eager_tasks=True)


def test_secrets_are_scrubbed_from_structlog_arguments_and_tracebacks(logs):
    import structlog

    log = structlog.get_logger("creditsite.test")
    log.warning("retrying with %s", "Bearer cst_abcdefghijklmnop1234", token="cst_zyxwvutsrqponmlk9876")
    try:
        raise RuntimeError("provider said: card 4111 1111 1111 1111 refused, whsec_c2VjcmV0c2VjcmV0c2VjcmV0")
    except RuntimeError:
        log.exception("payment failed")
        logging.getLogger("creditsite.test").exception("payment failed (stdlib)")
    lines = [line for line in logs.all() if line.get("logger") == "creditsite.test"]
    assert [line["event"] for line in lines] == ["retrying with Bearer cst_[redacted]", "payment failed",
                                                 "payment failed (stdlib)"]
    text = logs.text()
    for secret in ("cst_abcdefghijklmnop1234", "cst_zyxwvutsrqponmlk9876", "4111 1111 1111 1111",
                   "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"):
        assert secret not in text
    assert all("RuntimeError" in json.dumps(line["exception"]) for line in lines[1:])  # the traceback is kept
