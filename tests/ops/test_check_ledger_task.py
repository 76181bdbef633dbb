"""The nightly ledger check task."""

import pytest

from ledger.models import Account
from ops.tasks import check_ledger
from tests.factories import funded_account

pytestmark = pytest.mark.django_db


def test_nightly_check_is_quiet_on_a_sound_ledger_and_mails_admins_otherwise(settings, mailoutbox, caplog):
    settings.ADMINS = ["ops@example.com"]
    master = funded_account("10")
    assert check_ledger.delay().get() == 0
    assert mailoutbox == []
    Account.objects.filter(pk=master.pk).update(balance=99)  # a cache gone wrong
    assert check_ledger.delay().get() == 2  # invariant 2 (cache) and 3 (lots)
    assert len(mailoutbox) == 1 and "2 invariant violation" in mailoutbox[0].subject
    assert "invariant 2" in mailoutbox[0].body
    assert "Ledger check found 2 violation" in caplog.text
