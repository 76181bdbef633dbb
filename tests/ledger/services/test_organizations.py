"""Organizations and accounts: the postpaid rule at creation, on switching and on limits."""

import pytest

from ledger import services
from ledger.errors import InvalidOperation
from tests.factories import SYSTEM, make_org

pytestmark = pytest.mark.django_db


def test_postpaid_requires_a_credit_limit():
    with pytest.raises(InvalidOperation):
        make_org(payment_scheme="postpaid", credit_limit="0")
    org = make_org(payment_scheme="postpaid", credit_limit="1000")
    with pytest.raises(InvalidOperation):
        services.credit_limit_set(actor=SYSTEM, account=org.master_account, amount="0")
    prepaid = make_org("Prepaid")
    with pytest.raises(InvalidOperation):
        services.organization_update(actor=SYSTEM, organization=prepaid, payment_scheme="postpaid")
