"""The console's side of approvals: money forms above the threshold send a request, the queue and the decision
page (scoped: another org's request is not listed and is a 404), the org page's list, thresholds in the admin,
required reasons on removals, transfers and credit limits, and the timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalRequest, ApprovalStatus, ApprovalThreshold
from ledger.models import CreditLimitChange, Transaction
from tests.admin.forms import action_url, master, token

from .conftest import ensure_approval_roles, login, staff, threshold, user_with_role

pytestmark = pytest.mark.django_db





def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def client_for(user):
    return login(Client(), user)


def request_url(req):
    return reverse("admin:approvals_approvalrequest_change", args=[req.pk])


QUEUE_URL = "/admin/approvals/approvalrequest/"


@pytest.fixture
def maker_client(maker):
    return client_for(maker)


@pytest.fixture
def checker_client(checker):
    return client_for(checker)


def grant(client, org, amount, comment="Festival top-up"):
    return client.post(action_url(org, "add-credits"), {
        "account": master(org).pk, "amount": amount, "expires_in": "6M", "purchase_order": "PO-9",
        "comment": comment, "form_token": token(client, org, "add-credits")})


# --- the money forms ----------------------------------------------------------------------------


def test_a_grant_above_the_threshold_is_sent_for_approval_and_one_at_it_is_made(maker_client, org):
    threshold("INR", "10000")
    opened = maker_client.get(action_url(org, "add-credits"), follow=True)
    assert "Above ₹10,000.00 this action is sent for approval by a second person." in opened.content.decode()
    response = grant(maker_client, org, "10000")
    assert response.status_code == 302 and master(org).balance == Decimal("11000")
    response = grant(maker_client, org, "10000.01")
    assert response.status_code == 302
    assert master(org).balance == Decimal("11000")
    req = ApprovalRequest.objects.get()
    assert (req.action, req.amount, req.status, req.reason) == ("grant", Decimal("10000.01"), "pending",
                                                                 "Festival top-up")
    assert req.params == {"expires_in": "6M", "purchase_order": "PO-9"}
    assert any(text.startswith("Sent for approval: Add ₹10,000.01 to Master account") and "nothing has changed"
               in text for text in messages_of(response))


def test_the_same_form_sent_twice_makes_one_request(maker_client, org):
    threshold("INR", "100")
    data = {"account": master(org).pk, "amount": "500", "comment": "Refund of a duplicate charge",
            "form_token": token(maker_client, org, "remove-credits")}
    assert maker_client.post(action_url(org, "remove-credits"), data).status_code == 302
    second = maker_client.post(action_url(org, "remove-credits"), data)
    assert second.status_code == 302 and any("Already done" in text for text in messages_of(second))
    assert ApprovalRequest.objects.count() == 1 and master(org).balance == Decimal("1000")


def test_a_credit_limit_above_the_threshold_waits_and_other_currencies_do_not(maker_client, org, other_org):
    threshold("INR", "100")
    response = maker_client.post(action_url(org, "credit-limit"), {
        "account": master(org).pk, "amount": "5000", "temporary_days": "7", "comment": "Diwali",
        "form_token": token(maker_client, org, "credit-limit")})
    assert response.status_code == 302 and master(org).credit_limit == 0
    assert ApprovalRequest.objects.get().params == {"temporary_days": 7}
    response = maker_client.post(action_url(other_org, "credit-limit"), {  # USD has no threshold
        "account": master(other_org).pk, "amount": "5000", "comment": "Q4",
        "form_token": token(maker_client, other_org, "credit-limit")})
    assert response.status_code == 302 and master(other_org).credit_limit == Decimal("5000")
    assert ApprovalRequest.objects.count() == 1


def test_transfers_never_wait_for_approval(maker_client, org):
    threshold("INR", "1")
    response = maker_client.post(action_url(org, "transfer"), {
        "from_account": master(org).pk, "to_account": org.accounts.get(name="Marketing").pk, "amount": "300",
        "comment": "team budget", "form_token": token(maker_client, org, "transfer")})
    assert response.status_code == 302 and not ApprovalRequest.objects.exists()
    assert Transaction.objects.filter(kind="transfer").count() == 1


# --- required reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize(("slug", "values"), [
    ("remove-credits", {"amount": "10"}),
    ("credit-limit", {"amount": "10"}),
    ("transfer", {"amount": "10", "to": "Marketing"}),
])
@pytest.mark.parametrize("comment", ["", "   "])
def test_removals_limits_and_transfers_need_a_reason(maker_client, org, slug, values, comment):
    data = {"amount": values["amount"], "comment": comment, "form_token": token(maker_client, org, slug)}
    if slug == "transfer":
        data |= {"from_account": master(org).pk, "to_account": org.accounts.get(name=values["to"]).pk}
    else:
        data["account"] = master(org).pk
    response = maker_client.post(action_url(org, slug), data)
    assert response.status_code == 400
    assert response.context["form"].errors["comment"] == ["This field is required."]
    assert '<label for="id_comment" class="required">Reason:</label>' in response.content.decode()
    assert master(org).balance == Decimal("1000") and master(org).credit_limit == 0
    assert not CreditLimitChange.objects.exists() and not Transaction.objects.exclude(kind="grant").exists()


def test_a_grant_needs_no_reason(maker_client, org):
    response = grant(maker_client, org, "10", comment="")
    assert response.status_code == 302 and master(org).balance == Decimal("1010")


# --- the decision page and the queue ------------------------------------------------------------------


def test_approve_on_the_request_page_moves_the_money_and_the_page_then_says_who_decided(maker, checker_client, org):
    threshold("INR", "100")
    req = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                           reason="Festival", params={"expires_in": "6M"})
    page = checker_client.get(request_url(req))
    assert page.status_code == 200 and 'id="approve"' in page.content.decode()
    response = checker_client.post(request_url(req), {"decision": "approve", "reason": "ok"})
    assert response.status_code == 302 and master(org).balance == Decimal("6000")
    after = checker_client.get(request_url(req)).content.decode()
    assert "Approved by checker" in after and 'id="approve"' not in after and 'id="approval-transaction"' in after
    again = checker_client.post(request_url(req), {"decision": "approve"})  # a second tab, Back and resend
    assert again.status_code == 400 and "already approved by checker" in again.content.decode()
    assert master(org).balance == Decimal("6000")


def test_reject_without_a_reason_is_a_form_error_and_with_one_is_recorded(maker, checker_client, org):
    req = services.approval_request_create(user=maker, account=master(org), action="remove", amount="500")
    response = checker_client.post(request_url(req), {"decision": "reject", "reason": ""})
    assert response.status_code == 400 and "Give a reason." in response.content.decode()
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING
    response = checker_client.post(request_url(req), {"decision": "reject", "reason": "No ticket"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == ApprovalStatus.REJECTED and req.decision_reason == "No ticket"
    assert master(org).balance == Decimal("1000")


def test_the_requester_sees_no_buttons_and_a_crafted_post_is_refused(maker, maker_client, org):
    req = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                           params={"expires_in": "6M"})
    page = maker_client.get(request_url(req)).content.decode()
    assert 'id="approve"' not in page and 'id="own-request"' in page
    response = maker_client.post(request_url(req), {"decision": "approve"})
    assert response.status_code == 400 and "another person must approve" in response.content.decode()
    assert master(org).balance == Decimal("1000")
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING


def test_finance_sees_the_queue_but_may_not_decide(maker, org):
    ensure_approval_roles()
    req = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                           params={"expires_in": "6M"})
    finance = client_for(user_with_role("Finance", "fin"))
    assert str(req.pk) in finance.get(QUEUE_URL).content.decode()
    page = finance.get(request_url(req))
    assert page.status_code == 200 and 'id="approve"' not in page.content.decode()
    assert finance.post(request_url(req), {"decision": "approve"}).status_code == 403
    assert master(org).balance == Decimal("1000")


def test_an_org_admin_of_another_org_neither_sees_nor_opens_the_request(maker, org, other_org):
    ensure_approval_roles()
    req = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                           params={"expires_in": "6M"})
    theirs = services.approval_request_create(user=maker, account=master(other_org), action="grant", amount="70",
                                              params={"expires_in": "6M"})
    admin = user_with_role("Org admin", "globex-admin")
    other_org.admins.add(admin)
    client = client_for(admin)
    queue = client.get(QUEUE_URL)
    assert queue.status_code == 200
    listed = {row.pk for row in queue.context["cl"].result_list}
    assert listed == {theirs.pk}
    assert client.get(request_url(req)).status_code == 404
    assert client.post(request_url(req), {"decision": "approve"}).status_code == 404
    assert client.get(request_url(theirs)).status_code == 200
    assert master(org).balance == Decimal("1000")


def test_the_queue_lists_pending_first_and_the_org_page_lists_its_pending_requests(maker, checker_client, org):
    pending = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                               reason="Festival", params={"expires_in": "6M"})
    decided = services.approval_request_create(user=maker, account=master(org), action="remove", amount="5")
    services.approval_reject(approval_id=decided.pk, user=staff("third"), reason="no")
    overdue = services.approval_request_create(user=maker, account=master(org), action="remove", amount="6",
                                               at=timezone.now() - timedelta(days=8))
    services.approval_requests_expire()
    queue = checker_client.get(QUEUE_URL)
    assert [row.pk for row in queue.context["cl"].result_list] == [pending.pk]
    everything = checker_client.get(QUEUE_URL + "?status=all")
    assert {row.pk for row in everything.context["cl"].result_list} == {pending.pk, decided.pk, overdue.pk}
    ApprovalRequest.objects.filter(pk=overdue.pk).update(status="pending", decided_at=None)  # the job not run yet
    page = checker_client.get(reverse("admin:ledger_organization_panel", args=[org.pk, "approvals"])).content.decode()
    assert 'id="pending-approvals"' in page and f'data-request="{pending.pk}"' in page
    assert f'data-request="{decided.pk}"' not in page and "Festival" in page
    assert f'data-request="{overdue.pk}"' not in page  # past its time: not offered for a decision


def test_platform_staff_set_a_threshold_in_the_admin(org):
    ensure_approval_roles()
    client = client_for(staff("priya"))
    response = client.post(reverse("admin:approvals_approvalthreshold_add"), {"currency": "INR", "amount": "25000"})
    assert response.status_code == 302
    assert ApprovalThreshold.objects.get(currency="INR").amount == Decimal("25000")
    assert services.approval_needed(organization=org, action="grant", amount=Decimal("25000.01"))
    finance = client_for(user_with_role("Finance", "fin"))
    assert finance.get(reverse("admin:approvals_approvalthreshold_add")).status_code == 403


def test_the_timeline_shows_who_asked_who_decided_and_why(maker, checker, org):
    ensure_approval_roles()
    req = services.approval_request_create(user=maker, account=master(org), action="grant", amount="5000",
                                           reason="Festival top-up", params={"expires_in": "6M"})
    services.approval_approve(approval_id=req.pk, user=checker, reason="Invoice checked")
    client = client_for(checker)
    response = client.get(reverse("finance:activity", args=[org.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Approval requested" in text and "Festival top-up" in text
    assert "Approved" in text and "Invoice checked" in text and "requested by maker" in text
