"""Two approvers racing on PostgreSQL, each on its own connection: one movement of money, one refusal."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from approvals import services
from approvals.models import ApprovalRequest, ApprovalStatus
from ledger.models import Transaction
from tests.concurrency import run_in_threads
from tests.factories import SYSTEM, make_org

from .conftest import staff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.mark.parametrize("action", ["grant", "remove", "credit_limit"])
def test_two_approvers_at_once_move_the_money_once_and_one_is_refused(action):
    org = make_org(name="Race Retail")
    master = org.master_account
    ledger_services = services.ledger_services
    ledger_services.credits_grant(actor=SYSTEM, account=master, amount="1000", expires_in="never")
    maker, approvers = staff("maker"), [staff("checker-a"), staff("checker-b"), staff("checker-c")]
    req = services.approval_request_create(user=maker, account=master, action=action, amount="700",
                                           reason="race", params={"expires_in": "6M"} if action == "grant" else {})

    def approve(index):
        return services.approval_approve(approval_id=req.pk, user=approvers[index])

    results = run_in_threads(len(approvers), approve)
    approved = [result for result in results if isinstance(result, ApprovalRequest)]
    refused = [result for result in results if isinstance(result, services.ApprovalRefused)]
    assert len(approved) == 1 and len(refused) == len(approvers) - 1, results
    assert all("already approved" in str(exc) for exc in refused)
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED and req.decided_by == approved[0].decided_by
    master.refresh_from_db()
    if action == "grant":
        assert master.balance == Decimal("1700")
        assert Transaction.objects.filter(kind="grant", actor_user=maker).count() == 1
    elif action == "remove":
        assert master.balance == Decimal("300")
        assert Transaction.objects.filter(kind="removal").count() == 1
    else:
        assert master.credit_limit == Decimal("700")
        assert master.credit_limit_changes.count() == 1
    call_command("check_ledger")


def test_an_approval_racing_the_expiry_job_either_moves_the_money_or_expires_never_both():
    org = make_org(name="Race Retail")
    master = org.master_account
    maker, checker = staff("maker"), staff("checker")
    req = services.approval_request_create(user=maker, account=master, action="grant", amount="50",
                                           params={"expires_in": "never"})
    ApprovalRequest.objects.filter(pk=req.pk).update(expires_at=req.requested_at)  # due now

    def act(index):
        if index == 0:
            return services.approval_approve(approval_id=req.pk, user=checker)
        return services.approval_requests_expire()

    run_in_threads(2, act)
    req.refresh_from_db()
    master.refresh_from_db()
    assert req.status == ApprovalStatus.EXPIRED  # past its time: the approval is refused either way
    assert master.balance == 0 and not Transaction.objects.filter(kind="grant").exists()
