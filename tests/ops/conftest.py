"""Fixtures of the ops suite: a metrics token and a scrape parsed into {(name, labels): value}."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-test-token-0b6f"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def parse(text: str) -> dict:
    """A scrape as {(sample name, frozenset of label pairs): value}."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def scrape(client, metrics_token):
    """GET /metrics with the token; returns the parsed samples."""

    def scrape_now() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
        assert response.status_code == 200, response.content[:500]
        assert response["Content-Type"].startswith("text/plain")
        return parse(response.content.decode())

    return scrape_now


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0.0)
