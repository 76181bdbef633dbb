"""Two edits of one org's rate card at the same moment serialize: distinct numbers, one pending version."""

import pytest

from ratecards.models import RateCardVersion
from tests.concurrency import run_in_threads
from tests.factories import make_org

from .helpers import new_version, rate, utc


@pytest.mark.parametrize("has_card", [True, False], ids=["later-edits", "first-versions"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_get_distinct_numbers_and_leave_one_pending(has_card):
    org = make_org(timezone_name="UTC", currency="USD")
    if has_card:
        new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    outcomes = run_in_threads(4, lambda n: new_version(org, [rate("sms", str(n))], at=utc(2026, 5, 1, 12)))
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert errors == []
    versions = list(RateCardVersion.objects.filter(organization=org).order_by("number"))
    assert [v.number for v in versions] == ([1, 2, 3, 4, 5] if has_card else [1, 2, 3, 4])
    statuses = sorted(v.status for v in versions)
    assert statuses == ["cancelled"] * (len(versions) - 2) + ["current", "pending"]
    assert versions[-1].status == "pending"  # the last to take the lock wins
    assert versions[0].status == "current"
