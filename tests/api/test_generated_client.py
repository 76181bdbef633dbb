"""A client generated from the schema by openapi-python-client reads JSON pages, a CSV ledger and error bodies."""

import csv
import importlib
import io
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import token_client
from tests.factories import funded_account

# GMT+0, GMT-0 and GMT0 make the same Python enum member name: literal enums keep the values as they are.
GENERATOR_CONFIG = "literal_enums: true\npackage_name_override: credits_client\npost_hooks: []\n"


@pytest.fixture
def generated_client(live_server, tmp_path, monkeypatch):
    """The `credits_client` package generated from the served schema, importable."""
    schema = httpx.get(f"{live_server.url}/api/v1/schema", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_text(schema.text)
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run([str(generator), "generate", "--path", "schema.json", "--config", "config.yaml", "--meta", "none",
                    "--output-path", "credits_client"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [module for module in sys.modules if module.startswith("credits_client")]:
        del sys.modules[name]
    return importlib.import_module("credits_client")


@pytest.mark.slow
def test_a_generated_client_reads_pages_csv_and_errors(generated_client, live_server, transactional_db):
    from credits_client.api.accounts import accounts_retrieve
    from credits_client.api.charges import charges_create
    from credits_client.api.ledger import accounts_ledger_csv, accounts_ledger_retrieve
    from credits_client.models import ChargeCreateRequest, Error, PaginatedLedgerEntryList

    account = funded_account("10")
    token = token_client(["charge"], organizations=[account.organization]).plain
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=token)

    page = accounts_ledger_retrieve.sync(account.pk, client=client)
    assert isinstance(page, PaginatedLedgerEntryList)
    assert [(entry.kind, entry.amount) for entry in page.results] == [("grant", "10.000000")]

    text = accounts_ledger_csv.sync(account.pk, client=client)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in rows] == [("grant", "10.000000", "10.000000")]

    missing = accounts_retrieve.sync_detailed(uuid.uuid4(), client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, Error) and missing.parsed.code == "not_found"

    body = ChargeCreateRequest.from_dict({"account": str(account.pk), "channel": "sms"})
    refused = charges_create.sync_detailed(client=client, body=body, idempotency_key="generated-1")
    assert refused.status_code == 422  # no rate card: an error body the client parses
    assert isinstance(refused.parsed, Error) and refused.parsed.code == "no_rate"
    assert refused.headers["RateLimit-Policy"].startswith('"token"')
