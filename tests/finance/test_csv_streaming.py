"""A CSV export of 100,000 entries streams in keyset chunks: a fixed number of queries per chunk, bounded memory."""

import time
import tracemalloc
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import services
from ledger.finance.csv import COPY_CHUNK_SIZE, COPY_FIRST_CHUNK_SIZE
from tests.factories import make_org


def add_charges(account, count):
    """`count` charges in batches of 1000: the legal fast way to write many postings."""
    items = [services.ChargeRequest(channel="sms", unit_price="0.01", traffic="transactional", reference="bulk")]
    for _ in range(count // 1000):
        result = services.charge_batch(actor=services.SYSTEM, account=account, items=items * 1000)
        assert all(item.error is None for item in result.items)


def copy_queries(rows: int) -> int:
    """Queries of a ledger CSV written by PostgreSQL (`copy_lines`): per chunk its bound and its COPY; a first
    chunk of COPY_FIRST_CHUNK_SIZE rows, then COPY_CHUNK_SIZE, the last found by a bound query that finds none."""
    return 2 * (1 + (rows - COPY_FIRST_CHUNK_SIZE) // COPY_CHUNK_SIZE + 1)


def export(client, url):
    """Stream the export to the end; return (lines, queries, peak bytes allocated while streaming)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200 and response.streaming
        assert isinstance(response.streaming_content, types.GeneratorType) or hasattr(
            response.streaming_content, "__next__")
        tracemalloc.start()
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return lines, len(queries), peak


@pytest.mark.slow
def test_csv_export_of_100000_entries_streams(client, finance_user, django_assert_max_num_queries, postgres_only):
    org = make_org(name="Big")
    master = org.master_account
    services.credits_grant(actor=services.SYSTEM, account=master, amount="5000")
    add_charges(master, 1000)
    client.force_login(finance_user)
    url = reverse("finance:account_ledger_csv", args=[master.pk])

    small_lines, small_queries, small_peak = export(client, url)
    assert small_lines == 1 + 1001  # header, the grant, 1000 charges

    started = time.monotonic()
    add_charges(master, 99_000)
    written = time.monotonic() - started
    master.refresh_from_db()
    assert master.balance == 5000 - 1000  # 100,000 charges of 0.01

    further = copy_queries(100_001) - copy_queries(1_001)  # two more queries per further chunk, none per row
    with django_assert_max_num_queries(small_queries + further):
        started = time.monotonic()
        lines, queries, peak = export(client, url)
        streamed = time.monotonic() - started
    assert lines == 1 + 100_001
    assert queries == small_queries + further
    # memory does not grow with rows: 100x the rows, at most a few chunks' worth more at the peak
    assert peak < max(4 * small_peak, 8 * 1024 * 1024), (small_peak, peak)
    print(f"\nwrote 99,000 charges in {written:.1f}s; streamed 100,001 rows in {streamed:.1f}s with {queries} "
          f"queries; peak traced memory {small_peak / 1e6:.1f} MB for 1,001 rows, {peak / 1e6:.1f} MB for 100,001")
