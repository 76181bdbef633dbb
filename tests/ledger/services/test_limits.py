"""Credit limits: permanent, temporary for N days, then the permanent one again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger import services
from tests.factories import SYSTEM, funded_account

from .helpers import D, refreshed

pytestmark = pytest.mark.django_db


def test_temporary_limit_falls_back_to_permanent():
    master = funded_account("0")
    at = timezone.now()
    services.credit_limit_set(actor=SYSTEM, account=master, amount="100", at=at)
    services.credit_limit_set(actor=SYSTEM, account=master, amount="500", temporary_days=3, at=at)
    master = refreshed(master)
    assert master.effective_credit_limit(at) == D("500")
    assert master.credit_limit_expires_at(at) == at + timedelta(days=3)
    assert master.effective_credit_limit(at + timedelta(days=3, seconds=1)) == D("100")
    assert services.credit_limits_expire(at=at + timedelta(days=1)) == 0
    assert services.credit_limits_expire(at=at + timedelta(days=4)) == 1
    master = refreshed(master)
    assert master.temporary_credit_limit is None and master.effective_credit_limit() == D("100")
    assert master.credit_limit_changes.count() == 3
