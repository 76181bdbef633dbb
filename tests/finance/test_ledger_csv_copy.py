"""The CSV exports PostgreSQL writes with COPY (`copy_lines`) are the bytes of the Python path (`stream_rows`).

The rules written twice, once in SQL for COPY and once in Python, run the same cases through both:
the spreadsheet-formula neutralisation (`ledger_spreadsheet_cell` / `spreadsheet_cell`) and the times
(`ledger_iso_time` / `datetime.isoformat`); then whole ledgers with hostile text go through both paths.
"""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from ledger import services
from ledger.api import views as api_views
from ledger.finance import csv as finance_csv
from ledger.finance.csv import ENTRY_HEADER, entry_lines, entry_rows, spreadsheet_cell, stream_rows
from ledger.finance.selectors import LedgerScope, apply_entry_filters
from ledger.models import Posting
from tests.api.helpers import token_client
from tests.factories import SYSTEM, UserFactory, make_org, make_subaccount

pytestmark = pytest.mark.django_db

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BLANKS = (" ", "\n", "\x0b", "\x0c", "\u00a0")
CELLS = [
    None, "", "plain", "a=b", "=1+1", " =1", "  =1+1", "\n=1", "\r\n@evil", "\u00a0=1", "\u00a0\u00a0plain",
    "@x", "+1", "-2+3", "-12.500000", "12.500000", "-12", "-12.", "-.5", "--1", "-1\n", "-1 ", " -12.5", "-１２",
    "１２", "\t", "\r", "\tx", "\x0b", "\x0c", "\x0b=1", "\x0c+x", "   ", "\n", "=", "＝1+1", "＋1", "－1", "＠SUM(1)",
    " ＝1", "日本語", "=日本", "Zoë, \"quoted\"", "\u2003=1", "'=1", "\u200b=1",
    *TRIGGERS, *(blank + trigger for blank in BLANKS for trigger in TRIGGERS),
    *(blank + "x" for blank in BLANKS), *(trigger + "1" for trigger in TRIGGERS),
]


def _sql_cells(values: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_spreadsheet_cell(v) FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) "
                       "ORDER BY n", [values])
        return [row[0] for row in cursor.fetchall()]


def test_spreadsheet_cell_in_sql_is_the_python_rule(postgres_only):
    assert _sql_cells(CELLS) == [spreadsheet_cell(value) for value in CELLS]
    assert spreadsheet_cell("=1+1") == "'=1+1" and spreadsheet_cell("-12.500000") == "-12.500000"


ZONES = ["Asia/Kolkata", "America/St_Johns", "UTC", "Europe/London", "Pacific/Chatham", "America/Los_Angeles",
         "Asia/Kathmandu"]
MOMENTS = [
    datetime(2026, 12, 7, 3, 9, 5, tzinfo=UTC), datetime(2026, 12, 7, 3, 9, 5, 123000, tzinfo=UTC),
    datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),
    datetime(2000, 2, 29, 18, 30, tzinfo=UTC), datetime(1850, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
]


def test_iso_time_in_sql_is_python_isoformat(postgres_only):
    from zoneinfo import ZoneInfo

    cases = [(moment, zone, utc) for moment in MOMENTS for zone in ZONES for utc in ("+00:00", "Z")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_iso_time(m, z, u) FROM unnest(%s::timestamptz[], %s::text[], %s::text[]) "
                       "WITH ORDINALITY AS t(m, z, u, n) ORDER BY n",
                       [[c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases]])
        written = [row[0] for row in cursor.fetchall()]
    expected = []
    for moment, zone, utc in cases:
        text = moment.astimezone(ZoneInfo(zone)).isoformat()
        expected.append(text[:-6] + utc if text.endswith("+00:00") else text)
    assert written == expected


MEMOS = ["=1+1", "a, b", 'say "hi"', "two\nlines", "cr\r\nlf", "lone\rcr", "", " @x", "-12.500000", "日本語 ✓",
         '"\n"', "\n", ",", '""', "\u00a0+1", "＝SUM(A1)", "\t"]


@pytest.fixture
def tricky_ledger(db):
    """An org (Newfoundland, daylight time in March: -02:30) whose ledger holds formulas, commas, quotes, line breaks and unicode
    in every text column, transfers both ways, a shared subaccount, NULL subaccounts, quantities and prices."""
    org = make_org(name='Ünïcode, "Org"', timezone_name="America/St_Johns")
    master = org.master_account
    own = make_subaccount(org, 'Team "A",\nsecond line')
    shared = make_subaccount(org, "=Shared", balance_mode="shared")
    user = UserFactory(username="@ßob,\"x\"")
    start = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
    services.credits_grant(actor=SYSTEM, account=master, amount="1000", expires_in="never", at=start,
                           comment="+grant, \"first\"", purchase_order="-PO-1")
    for n, memo in enumerate(MEMOS):
        at = start + timedelta(minutes=n, microseconds=(n % 3) * 250001)
        actor = services.Actor(user=user) if n % 3 == 0 else services.Actor(service="=svc" if n % 3 == 1 else "")
        if n % 4 == 0:
            services.transfer_create(actor=actor, from_account=master, to_account=own, amount=f"{n + 1}.5",
                                     comment=memo, at=at)
        elif n % 4 == 1:
            services.charge_create(actor=actor, account=shared, channel="sms", quantity=n, unit_price="0.0079",
                                   reference=memo, category="=cat", at=at)
        elif n % 4 == 2:
            services.charge_create(actor=actor, account=own, channel="whatsapp", unit_price="1", reference=memo,
                                   at=at)
        else:
            services.credits_remove(actor=actor, account=master, amount="0.000001", comment=memo, at=at)
    same = start + timedelta(hours=1)  # one instant for several entries: chunks cut through equal times
    services.charge_batch(actor=SYSTEM, account=master, at=same, items=[
        services.ChargeRequest(channel="sms", unit_price="2", reference=f"=r{n},\n") for n in range(5)])
    return org, master, own, shared


def _python(scope, queryset, show_balance) -> bytes:
    return "".join(stream_rows(ENTRY_HEADER, entry_rows(scope, queryset, show_balance=show_balance))).encode()


def _copied(scope, queryset, show_balance) -> bytes:
    return b"".join(entry_lines(scope, queryset, show_balance=show_balance))


def test_copy_csv_is_the_python_csv_byte_for_byte(postgres_only, tricky_ledger, monkeypatch):
    org, master, own, shared = tricky_ledger
    scopes = [LedgerScope(org), LedgerScope(org, master), LedgerScope(org, own), LedgerScope(org, shared)]
    for scope in scopes:
        for filters in ({}, {"kind": "transfer_out"}, {"kind": "charge"},
                        {"start": datetime(2026, 3, 10, 5, 3, tzinfo=UTC),
                         "end": datetime(2026, 3, 10, 5, 11, tzinfo=UTC)}):
            queryset = apply_entry_filters(scope, scope.postings(), **filters)
            expected = _python(scope, queryset, scope.has_balance)
            assert expected.count(b"\r\n") > 1 or filters, (scope, filters)
            for first, size in ((1, 1), (2, 2), (3, 3), (2, 7), (1000, 10_000)):
                monkeypatch.setattr(finance_csv, "COPY_FIRST_CHUNK_SIZE", first)
                monkeypatch.setattr(finance_csv, "COPY_CHUNK_SIZE", size)
                assert _copied(scope, queryset, scope.has_balance) == expected, (scope.account, filters, size)
    whole = _python(LedgerScope(org), LedgerScope(org).postings(), True)
    for text in ("'=1+1", "'+grant, \"\"first\"\"", "\"two\nlines\"", "cr\r\nlf", "\"lone\rcr\"", "日本語 ✓",
                 "'@ßob,\"\"x\"\"\"", "'=svc", ",system,", "transfer_in", "transfer_out", "-0.000001",
                 "Team \"\"A\"\",\nsecond line", "'=Shared", "-02:30,", ".250001-02:30"):
        assert text.encode() in whole, text


def test_finance_and_self_service_downloads_are_written_by_copy(postgres_only, tricky_ledger, client, monkeypatch):
    org, master, own, shared = tricky_ledger
    client.force_login(UserFactory(username="root", is_superuser=True))
    urls = [reverse("finance:org_ledger_csv", args=[org.pk]), reverse("finance:account_ledger_csv", args=[master.pk]),
            reverse("finance:account_ledger_csv", args=[shared.pk]) + "?kind=charge"]

    def downloads():
        return [b"".join(client.get(url).streaming_content) for url in urls]

    copied = downloads()
    monkeypatch.setattr(finance_csv, "copies_csv", lambda queryset: False)
    assert downloads() == copied
    monkeypatch.undo()
    calls = []
    monkeypatch.setattr(finance_csv, "_copy", lambda queryset: calls.append(1) or b"")
    downloads()
    assert len(calls) == len(urls)  # the copy path served them


def test_api_csv_by_copy_is_the_python_csv(postgres_only, tricky_ledger, monkeypatch):
    org, master, own, shared = tricky_ledger
    client = token_client(["read"], organizations=[org])
    urls = [f"/api/v1/accounts/{account.pk}/ledger.csv" for account in (master, own, shared)]
    urls += [f"/api/v1/accounts/{master.pk}/ledger?format=csv&kind=transfer_out",
             f"/api/v1/accounts/{master.pk}/ledger.csv?since=2026-03-10T05:03:00Z&until=2026-03-10T05:11:00Z"]

    def downloads():
        return [b"".join(client.get(url).streaming_content) for url in urls]

    monkeypatch.setattr(finance_csv, "COPY_CHUNK_SIZE", 4)
    for zone in ("UTC", "Asia/Kathmandu"):  # the zone in force while the file streams: Z, or +05:45
        with timezone.override(zone):
            monkeypatch.setattr(api_views, "copies_csv", finance_csv.copies_csv)
            copied = downloads()
            monkeypatch.setattr(api_views, "copies_csv", lambda queryset: False)
            python = downloads()
        assert copied == python, zone
        assert b"'=1+1" in python[0] and len(python[0].split(b"\r\n")) > 20
        assert (b"Z," if zone == "UTC" else b"+05:45,") in python[0]


def test_a_download_dropped_midway_leaves_no_copy_running(postgres_only, tricky_ledger, monkeypatch):
    """A client going away closes the stream between chunks: the connection is idle and usable."""
    org, master, own, shared = tricky_ledger
    monkeypatch.setattr(finance_csv, "COPY_CHUNK_SIZE", 2)
    scope = LedgerScope(org)
    stream = entry_lines(scope, scope.postings())
    first = next(stream)
    assert first.startswith(b"date,kind,")
    next(stream)
    stream.close()  # what the WSGI server does when the client disconnects
    raw = connection.connection
    assert raw.pgconn.transaction_status in (0, 2)  # IDLE or INTRANS (the test's transaction): no COPY active
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (%%' AND state = 'active' "
                       "AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] == 0
    assert Posting.objects.filter(account=master).count() > 0  # the connection still answers


@pytest.mark.django_db(transaction=True)
def test_a_download_dropped_in_another_thread_leaves_its_connection_usable(postgres_only, monkeypatch):
    """As under gunicorn's threaded workers: the stream runs on the thread's own connection, closed early."""
    org = make_org(name="Threads")
    master = org.master_account
    services.credits_grant(actor=SYSTEM, account=master, amount="100", expires_in="never")
    for n in range(6):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1", reference=f"r{n}")
    outcome = {}
    monkeypatch.setattr(finance_csv, "COPY_CHUNK_SIZE", 2)

    def download():
        try:
            scope = LedgerScope(org)
            stream = entry_lines(scope, scope.postings())
            outcome["first"] = next(stream)
            stream.close()
            outcome["status"] = connection.connection.pgconn.transaction_status
            outcome["after"] = Posting.objects.filter(account=master).count()
        finally:
            connections.close_all()

    thread = threading.Thread(target=download)
    thread.start()
    thread.join(30)
    assert outcome["first"].count(b"\r\n") == 3 and outcome["status"] == 0 and outcome["after"] == 7
    assert Decimal(outcome["first"].split(b"\r\n")[1].split(b",")[2].decode()) == Decimal("-1")
