"""Per-account monthly totals (ledger_accountmonthtotal), rolled up from the daily totals for closed months (issue 19).

A month rolls up once it ended two local days ago, into rows equal to its daily rows; the finance totals
line and the reports read the same figures with months rolled up as from the postings, and do read the
monthly rows; a posting written into a rolled month (an explicit past instant) unrolls it, one written now
never does; check_ledger notices a tampered monthly row; a change of the org's timezone rolls the months
again; the nightly job rolls up every org.
"""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum

from alerts import jobs
from ledger import daytotals, services
from ledger.finance import reports
from ledger.finance.selectors import LedgerScope, apply_entry_filters, entry_totals, scope_totals
from ledger.invariants import check_invariants
from ledger.models import AccountDayTotal, AccountMonthTotal, RolledMonth
from ledger.selectors import TRANSFER_IN, TRANSFER_OUT
from tests.factories import SYSTEM, make_org
from tests.ledger.test_day_totals import DAY1, every_writer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres_only")]

MARCH, APRIL, MAY, JUNE, DECEMBER = (datetime(2026, month, 1).date() for month in (3, 4, 5, 6, 12))
ROLL_AT = datetime(2026, 7, 10, tzinfo=UTC)  # March to June closed (the tests' entries), July open


def rolled(org) -> list:
    return list(RolledMonth.objects.filter(organization_id=org.pk).order_by("month").values_list("month", flat=True))


def by_account_and_month(model, field):
    rows = model.objects.annotate(m=field).values("account_id", "m", "kind", "channel", "country", "category")
    return {tuple(row.values())[:6]: tuple(row.values())[6:] for row in rows.annotate(
        credit_sum=Sum("credit"), debit_sum=Sum("debit"), entries=Sum("credit_count") + Sum("debit_count"),
        quantity_sum=Sum("quantity"), free=Sum("free_quantity"))}


def months_of_activity(org):
    """every_writer's entries in March and April (its expiry 40 days on), plus charges in May and June."""
    master, sub, shared = every_writer(org, DAY1)
    for day in (60, 61, 95):  # May 9 and 10, June 13
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="0.5", quantity=2,
                               at=DAY1 + timedelta(days=day))
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=sub, amount="3",
                             at=DAY1 + timedelta(days=62))
    return master, sub, shared


def test_closed_months_roll_up_into_their_daily_rows(money_path):
    org = make_org(name="Rolled", timezone_name="Asia/Kolkata")
    months_of_activity(org)
    # June ended on July 1 (local): two days later, and not before, it rolls up with the months before it.
    july = datetime(2026, 7, 1, tzinfo=org.tz)
    assert daytotals.roll_months(org, at=july + timedelta(days=2) - timedelta(seconds=1)) == 3
    assert rolled(org) == [MARCH, APRIL, MAY]
    assert daytotals.roll_months(org, at=july + timedelta(days=2)) == 1
    assert rolled(org) == [MARCH, APRIL, MAY, JUNE]
    september = datetime(2026, 9, 3, tzinfo=org.tz)
    assert daytotals.roll_months(org, at=september) == 2  # July and August: closed, without entries (no rows)
    assert daytotals.roll_months(org, at=september) == 0  # every closed month is rolled up already
    from django.db.models.functions import TruncMonth

    from_days = by_account_and_month(AccountDayTotal, TruncMonth("day"))
    from_months = by_account_and_month(AccountMonthTotal, TruncMonth("month"))
    assert from_months == from_days and len(from_months) > 10
    assert daytotals.mismatches() == [] and check_invariants() == []


def _ranges(tz):
    """Ranges on local day bounds: whole months, partial months at either end, open ends, one day, none."""
    def at(month, day):
        return datetime(2026, month, day, tzinfo=tz)

    return [{}, {"start": at(3, 1)}, {"end": at(6, 1)}, {"start": at(3, 1), "end": at(6, 1)},
            {"start": at(3, 11), "end": at(5, 10)}, {"start": at(4, 1), "end": at(5, 1)},
            {"start": at(3, 10), "end": at(3, 11)}, {"start": at(4, 19)}, {"end": at(5, 10)},
            {"start": at(5, 1), "end": at(4, 1)}, {"start": at(4, 1), "end": at(4, 1)}]  # empty


def test_the_totals_line_reads_the_same_with_months_rolled_up(money_path):
    org = make_org(name="Line", timezone_name="Asia/Kolkata")
    master, sub, _ = months_of_activity(org)
    assert daytotals.roll_months(org, at=ROLL_AT) == 4
    scopes = [LedgerScope(org), LedgerScope(org, master), LedgerScope(org, sub)]
    filters = [{}, {"kind": "charge"}, {"kind": "expiry"}, {"kind": TRANSFER_IN}, {"kind": TRANSFER_OUT},
               {"channel": "sms"}]
    for scope in scopes:
        for period in _ranges(org.tz):
            for values in filters:
                values = {**period, **values}
                queryset = apply_entry_filters(scope, scope.postings(), **values)
                assert scope_totals(scope, queryset, **values) == entry_totals(queryset), (scope, values)
    # The months are read from the monthly rows: a change there shows in the line of a whole month.
    april = {"start": datetime(2026, 4, 1, tzinfo=org.tz), "end": datetime(2026, 5, 1, tzinfo=org.tz)}
    found = daytotals.sources(org, **april)
    assert [rows.model for rows in found] == [AccountMonthTotal]
    before = daytotals.entry_totals(org, **april)
    AccountMonthTotal.objects.filter(month=APRIL, kind="expiry").update(debit=Decimal("-1"))
    assert daytotals.entry_totals(org, **april)["expired"] != before["expired"]


def test_reports_read_the_same_with_months_rolled_up(money_path, monkeypatch):
    org = make_org(name="Reports", timezone_name="Asia/Kolkata")
    months_of_activity(org)
    assert daytotals.roll_months(org, at=ROLL_AT) == 4
    for start, end in ((datetime(2026, 1, 1, tzinfo=org.tz), datetime(2026, 7, 1, tzinfo=org.tz)),
                       (datetime(2026, 3, 11, tzinfo=org.tz), datetime(2026, 6, 1, tzinfo=org.tz))):
        with monkeypatch.context() as patched:
            from_totals = (reports.usage_report(org, start, end), reports.whatsapp_conversations(org, start, end),
                           reports.credits_per_month(org, start, end))
            patched.setattr(daytotals, "usable", lambda: False)
            from_transactions = (reports.usage_report(org, start, end),
                                 reports.whatsapp_conversations(org, start, end),
                                 reports.credits_per_month(org, start, end))
        assert from_totals == from_transactions
    usage = reports.usage_report(org, datetime(2026, 1, 1, tzinfo=org.tz), datetime(2026, 7, 1, tzinfo=org.tz))
    assert [row["month"].month for row in usage["by_month"]] == [3, 5, 6]


def test_a_posting_into_a_rolled_month_unrolls_that_month(money_path):
    org = make_org(name="Late", timezone_name="Asia/Kolkata")
    master, _, _ = months_of_activity(org)
    daytotals.roll_months(org, at=ROLL_AT)
    may = {"start": datetime(2026, 5, 1, tzinfo=org.tz), "end": datetime(2026, 6, 1, tzinfo=org.tz)}
    before = daytotals.entry_totals(org, **may)
    services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1", at=DAY1 + timedelta(days=62))
    assert rolled(org) == [MARCH, APRIL, JUNE]
    assert not AccountMonthTotal.objects.filter(month=MAY).exists()
    assert daytotals.entry_totals(org, **may)["count"] == before["count"] + 1
    assert daytotals.mismatches() == []
    assert daytotals.roll_months(org, at=ROLL_AT) == 1 and rolled(org) == [MARCH, APRIL, MAY, JUNE]
    assert daytotals.entry_totals(org, **may)["count"] == before["count"] + 1
    # A posting written now falls in the current month: no rolled month is touched.
    services.credits_grant(actor=SYSTEM, account=master, amount="5", expires_in="never")
    assert rolled(org) == [MARCH, APRIL, MAY, JUNE]
    assert daytotals.mismatches() == []


def test_check_ledger_finds_a_tampered_monthly_row():
    org = make_org(name="Tampered")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="100", expires_in="never", at=DAY1)
    daytotals.roll_months(org, at=ROLL_AT)
    call_command("check_ledger")  # sound
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_accountmonthtotal SET credit = credit + 1")
    problems = check_invariants()
    assert len(problems) == 1 and problems[0].startswith("invariant 5: monthly totals of account")
    assert ("in 2026-03 (grant) hold 101.000000/0.000000 over 1 entries but the daily totals sum to "
            "100.000000/0.000000 over 1") in problems[0]
    with pytest.raises(CommandError):
        call_command("check_ledger")
    with connection.cursor() as cursor:  # a row of a month not rolled up
        cursor.execute("UPDATE ledger_accountmonthtotal SET credit = credit - 1")
        cursor.execute("INSERT INTO ledger_accountmonthtotal SELECT organization_id, account_id, '2026-12-01', kind, "
                       "channel, country, category, credit, credit_count, debit, debit_count, quantity, "
                       "free_quantity FROM ledger_accountmonthtotal")
    assert DECEMBER not in rolled(org)
    assert [problem.split(" (")[0] for problem in check_invariants()] == [
        f"invariant 5: monthly totals of account {org.master_account.pk} in 2026-12"]
    with connection.cursor() as cursor:  # a rolled month missing its row
        cursor.execute("DELETE FROM ledger_accountmonthtotal")
    assert "hold nothing/nothing over 0 entries but the daily totals sum to 100.000000" in check_invariants()[0]


def test_a_timezone_change_rolls_the_months_again(money_path):
    org = make_org(name="Moving", timezone_name="UTC")
    late = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 01:30 on April 1 in Kolkata
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="never", at=late)
    daytotals.roll_months(org)
    assert rolled(org)[0] == MARCH and AccountMonthTotal.objects.get().month == MARCH
    services.organization_update(actor=SYSTEM, organization=org, timezone="Asia/Kolkata")
    assert rolled(org)[0] == APRIL and AccountMonthTotal.objects.get().month == APRIL
    assert daytotals.mismatches() == []


def test_the_nightly_job_rolls_up_every_org():
    orgs = [make_org(name=f"Nightly {n}") for n in range(3)]
    for org in orgs:
        services.credits_grant(actor=SYSTEM, account=org.master_account, amount="5", expires_in="never", at=DAY1)
    result = jobs.run_job("month_totals_roll", datetime(2026, 4, 3, tzinfo=UTC))
    assert result.error == "" and result.count == 3
    assert RolledMonth.objects.values("month").annotate(n=Count("pk")).get() == {"month": MARCH, "n": 3}
    assert jobs.run_job("month_totals_roll", datetime(2026, 4, 3, tzinfo=UTC)).count == 0
    assert "month_totals_roll" not in jobs.DUE_JOBS
    entry = settings.CELERY_BEAT_SCHEDULE["roll-up-month-totals"]
    assert entry["task"] == "alerts.tasks.roll_up_month_totals"


@pytest.mark.django_db(transaction=True)
def test_a_late_posting_waits_for_a_roll_in_progress_and_unrolls_its_month():
    """The roll holds the org's advisory lock until it commits: a posting into the month being rolled up waits
    for it, then finds the month recorded and drops it (without the lock it would miss the uncommitted record
    and leave a month that lacks the posting)."""
    org = make_org(name="Race")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="100", expires_in="never", at=DAY1)
    params = connection.get_connection_params()
    roller = psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"})
    try:
        roller.execute("SELECT ledger_month_totals_roll(%s, %s)", [org.pk, ROLL_AT])  # open: holds the lock
        errors = []

        def late_charge():
            try:
                services.charge_create(actor=SYSTEM, account=org.master_account, channel="sms", unit_price="1",
                                       at=DAY1 + timedelta(days=1))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        writer = threading.Thread(target=late_charge)
        writer.start()
        writer.join(1.0)
        assert writer.is_alive(), "the late posting waits for the roll's lock"
        roller.commit()
        writer.join(10)
        assert not writer.is_alive() and errors == []
    finally:
        roller.close()
    assert MARCH not in rolled(org) and not AccountMonthTotal.objects.filter(month=MARCH).exists()
    assert daytotals.mismatches() == []
    assert daytotals.roll_months(org, at=ROLL_AT) == 1
    assert daytotals.entry_totals(org)["count"] == 2 and daytotals.mismatches() == []
