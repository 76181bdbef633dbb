"""The money action screens: each form's happy path, validation errors, double submits and role checks."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.http import urlencode

from ledger import services
from ledger.models import CreditLimitChange, CreditLot, Transaction
from tests.admin.forms import action_url, master, token

pytestmark = pytest.mark.django_db



def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]




def sub(org, name="Marketing"):
    return org.accounts.get(name=name)


# --- add credits --------------------------------------------------------------------------------


def test_add_credits_form_defaults_to_6m_and_carries_a_one_time_token(staff_client, org):
    opened = staff_client.get(action_url(org, "add-credits"))
    assert opened.status_code == 302 and "?form=" in opened["Location"]  # each opening is a form instance
    response = staff_client.get(opened["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # never shown again from the cache by Back
    form = response.context["form"]
    assert form["expires_in"].initial == "6M"
    assert form["account"].initial == master(org).pk
    signed = form["form_token"].value()
    assert opened["Location"].endswith(urlencode({"form": signed}))
    assert staff_client.get(opened["Location"]).context["form"]["form_token"].value() == signed  # reload: same form
    assert token(staff_client, org, "add-credits") != signed  # opening it again: a new form
    html = response.content.decode()
    assert 'type="hidden" name="form_token"' in html
    assert 'value="6M"' in html and "checked" in html


def test_add_credits_happy_path(staff_client, staff_user, org):
    response = staff_client.post(action_url(org, "add-credits"), {
        "account": master(org).pk, "amount": "250.50", "expires_in": "3M", "purchase_order": "PO-77",
        "comment": "Q3 top-up", "form_token": token(staff_client, org, "add-credits")})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:ledger_organization_change", args=[org.pk])
    assert master(org).balance == Decimal("1250.50")
    lot = CreditLot.objects.filter(account=master(org)).latest("granted_at")
    assert lot.amount == Decimal("250.50") and lot.purchase_order == "PO-77" and lot.created_by == staff_user
    txn = Transaction.objects.filter(organization=org, kind="grant").latest("created_at")
    assert txn.actor_user == staff_user and txn.metadata["expires_in"] == "3M"
    assert messages_of(response) == ["Added ₹250.50 to Master account (expires: 3 months, PO PO-77)."]
    entry = LogEntry.objects.get(object_id=str(org.pk))
    assert entry.user == staff_user and "Added ₹250.50" in entry.get_change_message()


def test_add_credits_to_an_own_subaccount(staff_client, org):
    response = staff_client.post(action_url(org, "add-credits"), {
        "account": sub(org).pk, "amount": "5", "expires_in": "never", "form_token": token(staff_client, org, "add-credits")})
    assert response.status_code == 302
    assert sub(org).balance == Decimal("5")
    assert CreditLot.objects.get(account=sub(org)).expires_at is None


def test_add_credits_double_submit_adds_once(staff_client, org):
    data = {"account": master(org).pk, "amount": "100", "expires_in": "6M",
            "form_token": token(staff_client, org, "add-credits")}
    first = staff_client.post(action_url(org, "add-credits"), data)
    second = staff_client.post(action_url(org, "add-credits"), data)
    assert first.status_code == second.status_code == 302
    assert master(org).balance == Decimal("1100")
    assert Transaction.objects.filter(organization=org, kind="grant").count() == 2  # fixture grant + one
    assert any("Already done" in message for message in messages_of(second))
    assert LogEntry.objects.filter(object_id=str(org.pk)).count() == 1


def test_a_used_form_sent_again_with_other_values_moves_nothing(staff_client, org):
    used = token(staff_client, org, "add-credits")
    staff_client.post(action_url(org, "add-credits"),
                      {"account": master(org).pk, "amount": "100", "expires_in": "6M", "form_token": used})
    response = staff_client.post(action_url(org, "add-credits"),
                                 {"account": master(org).pk, "amount": "999", "expires_in": "6M", "form_token": used})
    assert response.status_code == 302
    assert any("Already done" in message for message in messages_of(response))
    assert master(org).balance == Decimal("1100")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"amount": "0"}, "amount", "greater than or equal to 0.000001"),
    ({"amount": "-5"}, "amount", "greater than or equal to 0.000001"),
    ({"amount": "abc"}, "amount", "Enter a number"),
    ({"amount": "1.1234567"}, "amount", "decimal places"),
    ({"amount": ""}, "amount", "required"),
    ({"expires_in": "5Y"}, "expires_in", "Select a valid choice"),
    ({"purchase_order": "P" * 101}, "purchase_order", "at most 100 characters"),
])
def test_add_credits_validation_errors(staff_client, org, data, field, message):
    payload = {"account": master(org).pk, "amount": "10", "expires_in": "6M",
               "form_token": token(staff_client, org, "add-credits"), **data}
    response = staff_client.post(action_url(org, "add-credits"), payload)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert master(org).balance == Decimal("1000")


def test_add_credits_refuses_a_shared_or_foreign_account(staff_client, org, other_org):
    for account in (sub(org, "Support"), master(other_org)):
        response = staff_client.post(action_url(org, "add-credits"), {
            "account": account.pk, "amount": "10", "expires_in": "6M", "form_token": token(staff_client, org, "add-credits")})
        assert response.status_code == 400
        assert "Select a valid choice" in " ".join(response.context["form"].errors["account"])
    assert master(other_org).balance == Decimal("50")


# --- remove credits -----------------------------------------------------------------------------


def test_remove_credits_happy_path(staff_client, org):
    response = staff_client.post(action_url(org, "remove-credits"), {
        "account": master(org).pk, "amount": "400", "comment": "correction", "form_token": token(staff_client, org, "remove-credits")})
    assert response.status_code == 302
    assert master(org).balance == Decimal("600")
    txn = Transaction.objects.get(organization=org, kind="removal")
    assert txn.memo == "correction"
    assert messages_of(response) == ["Removed ₹400.00 from Master account."]


def test_remove_more_than_the_positive_balance_is_a_form_error(staff_client, org):
    response = staff_client.post(action_url(org, "remove-credits"), {
        "account": master(org).pk, "amount": "1000.01", "comment": "why", "form_token": token(staff_client, org, "remove-credits")})
    assert response.status_code == 400
    assert "At most the positive balance (₹1,000.00)" in " ".join(response.context["form"].errors["amount"])
    assert master(org).balance == Decimal("1000")


def test_remove_service_error_becomes_a_form_error(staff_client, org, monkeypatch):
    """A race (balance spent between the form check and the service) shows the service's message."""
    from ledger.errors import InsufficientCredits

    def refuse(**kwargs):
        raise InsufficientCredits("Cannot remove", errors={"amount": ["At most the positive balance (3) can be removed."]})

    monkeypatch.setattr(services, "credits_remove", refuse)
    response = staff_client.post(action_url(org, "remove-credits"), {
        "account": master(org).pk, "amount": "10", "comment": "why", "form_token": token(staff_client, org, "remove-credits")})
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["At most the positive balance (3) can be removed."]


def test_ledger_error_without_fields_is_a_non_field_error(staff_client, org, monkeypatch):
    from ledger.errors import CreditManagementDisabled

    def refuse(**kwargs):
        raise CreditManagementDisabled()

    monkeypatch.setattr(services, "transfer_create", refuse)
    response = staff_client.post(action_url(org, "transfer"), {
        "from_account": master(org).pk, "to_account": sub(org).pk, "amount": "1", "comment": "why", "form_token": token(staff_client, org, "transfer")})
    assert response.status_code == 400
    assert "switched off" in str(response.context["form"].non_field_errors())


def test_remove_credits_double_submit_removes_once(staff_client, org):
    data = {"account": master(org).pk, "amount": "100", "comment": "why", "form_token": token(staff_client, org, "remove-credits")}
    staff_client.post(action_url(org, "remove-credits"), data)
    staff_client.post(action_url(org, "remove-credits"), data)
    assert master(org).balance == Decimal("900")


# --- credit limit -------------------------------------------------------------------------------


def test_set_permanent_credit_limit(staff_client, staff_user, org):
    response = staff_client.post(action_url(org, "credit-limit"), {
        "account": master(org).pk, "amount": "300", "temporary_days": "", "comment": "why", "form_token": token(staff_client, org, "credit-limit")})
    assert response.status_code == 302
    account = master(org)
    assert account.credit_limit == Decimal("300") and account.temporary_credit_limit is None
    change = CreditLimitChange.objects.get(account=account)
    assert change.actor_user == staff_user and change.temporary_days is None
    assert messages_of(response) == ["Set the credit limit of Master account to ₹300.00 (permanent)."]


def test_set_temporary_credit_limit(staff_client, org):
    response = staff_client.post(action_url(org, "credit-limit"), {
        "account": master(org).pk, "amount": "150", "temporary_days": "7", "comment": "why", "form_token": token(staff_client, org, "credit-limit")})
    assert response.status_code == 302
    account = master(org)
    assert account.temporary_credit_limit == Decimal("150") and account.credit_limit == Decimal("0")
    assert account.effective_credit_limit() == Decimal("150")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"amount": "-1"}, "amount", "greater than or equal to 0"),
    ({"temporary_days": "0"}, "temporary_days", "greater than or equal to 1"),
    ({"temporary_days": "366"}, "temporary_days", "less than or equal to 365"),
    ({"temporary_days": "x"}, "temporary_days", "Enter a whole number"),
])
def test_credit_limit_validation_errors(staff_client, org, data, field, message):
    payload = {"account": master(org).pk, "amount": "10", "comment": "why", "form_token": token(staff_client, org, "credit-limit"),
               **data}
    response = staff_client.post(action_url(org, "credit-limit"), payload)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert master(org).credit_limit == Decimal("0")


def test_postpaid_needs_a_credit_limit(staff_client):
    from tests.factories import make_org

    postpaid = make_org(name="Post Co", payment_scheme="postpaid", credit_limit="500")
    response = staff_client.post(action_url(postpaid, "credit-limit"), {
        "account": master(postpaid).pk, "amount": "0", "comment": "why", "form_token": token(staff_client, postpaid, "credit-limit")})
    assert response.status_code == 400
    assert "postpaid organization needs a credit limit" in " ".join(response.context["form"].errors["amount"])
    assert master(postpaid).credit_limit == Decimal("500")


# --- transfers ----------------------------------------------------------------------------------


def test_transfer_between_accounts_of_the_org(staff_client, org):
    response = staff_client.post(action_url(org, "transfer"), {
        "from_account": master(org).pk, "to_account": sub(org).pk, "amount": "300", "comment": "team budget",
        "form_token": token(staff_client, org, "transfer")})
    assert response.status_code == 302
    assert master(org).balance == Decimal("700") and sub(org).balance == Decimal("300")
    assert messages_of(response) == ["Transferred ₹300.00 from Master account to Marketing."]


def test_transfer_choices_exclude_shared_subaccounts(staff_client, org):
    form = staff_client.get(action_url(org, "transfer"), follow=True).context["form"]
    names = {account.name for account in form.fields["to_account"].queryset}
    assert names == {"Master account", "Marketing"}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"to_account": "SELF"}, "to_account", "different account"),
    ({"amount": "1000.5"}, "amount", "At most ₹1,000.00 can be transferred"),
    ({"amount": "0"}, "amount", "greater than or equal to 0.000001"),
    ({"to_account": "SHARED"}, "to_account", "Select a valid choice"),
])
def test_transfer_validation_errors(staff_client, org, data, field, message):
    targets = {"SELF": master(org).pk, "SHARED": sub(org, "Support").pk}
    payload = {"from_account": master(org).pk, "to_account": sub(org).pk, "amount": "10",
               "comment": "why", "form_token": token(staff_client, org, "transfer")}
    payload.update({name: targets.get(value, value) for name, value in data.items()})
    response = staff_client.post(action_url(org, "transfer"), payload)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert master(org).balance == Decimal("1000")


def test_transfer_double_submit_moves_once(staff_client, org):
    data = {"from_account": master(org).pk, "to_account": sub(org).pk, "amount": "100",
            "comment": "why", "form_token": token(staff_client, org, "transfer")}
    staff_client.post(action_url(org, "transfer"), data)
    staff_client.post(action_url(org, "transfer"), data)
    assert master(org).balance == Decimal("900") and sub(org).balance == Decimal("100")


def test_org_admin_transfers_between_own_subaccounts(org_admin_client, org_admin_user, org):
    response = org_admin_client.post(action_url(org, "transfer"), {
        "from_account": master(org).pk, "to_account": sub(org).pk, "amount": "50", "comment": "why", "form_token": token(org_admin_client, org, "transfer")})
    assert response.status_code == 302
    assert sub(org).balance == Decimal("50")
    assert Transaction.objects.get(kind="transfer").actor_user == org_admin_user


# --- credit management --------------------------------------------------------------------------


def test_credit_management_off_and_on(staff_client, org):
    response = staff_client.post(action_url(org, "credit-management"), {"enabled": "off", "form_token": token(staff_client, org, "credit-management")})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.credit_management_enabled is False
    assert messages_of(response) == ["Credit management switched off."]
    assert org.history.first().history_user.username == "pat-staff"
    again = staff_client.post(action_url(org, "credit-management"), {"enabled": "off", "form_token": token(staff_client, org, "credit-management")})
    assert any("Already done" in message for message in messages_of(again))
    staff_client.post(action_url(org, "credit-management"), {"enabled": "on", "form_token": token(staff_client, org, "credit-management")})
    org.refresh_from_db()
    assert org.credit_management_enabled is True
    assert LogEntry.objects.filter(object_id=str(org.pk)).count() == 2


def test_credit_management_requires_a_choice(staff_client, org):
    response = staff_client.post(action_url(org, "credit-management"), {"enabled": "maybe", "form_token": token(staff_client, org, "credit-management")})
    assert response.status_code == 400
    assert "Select a valid choice" in " ".join(response.context["form"].errors["enabled"])


# --- permissions per role -----------------------------------------------------------------------

ALL_SLUGS = ["add-credits", "remove-credits", "credit-limit", "transfer", "credit-management"]


def valid_payload(org, slug):
    receiver = org.accounts.filter(name="Marketing").first() or master(org)
    return {
        "add-credits": {"account": master(org).pk, "amount": "10", "expires_in": "6M"},
        "remove-credits": {"account": master(org).pk, "amount": "10", "comment": "why"},
        "credit-limit": {"account": master(org).pk, "amount": "10", "comment": "why"},
        "transfer": {"from_account": master(org).pk, "to_account": receiver.pk, "amount": "10", "comment": "why"},
        "credit-management": {"enabled": "off"},
    }[slug] | {"form_token": "not-a-token"}  # refused before any token is looked at


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_finance_cannot_open_or_post_any_money_form(finance_client, org, slug):
    assert finance_client.get(action_url(org, slug)).status_code == 403
    assert finance_client.post(action_url(org, slug), valid_payload(org, slug)).status_code == 403
    assert master(org).balance == Decimal("1000") and master(org).credit_limit == 0
    org.refresh_from_db()
    assert org.credit_management_enabled is True


@pytest.mark.parametrize("slug", ["add-credits", "remove-credits", "credit-limit", "credit-management"])
def test_org_admin_cannot_use_staff_only_forms(org_admin_client, org, slug):
    assert org_admin_client.post(action_url(org, slug), valid_payload(org, slug)).status_code == 403
    assert master(org).balance == Decimal("1000")


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_org_admin_cannot_reach_another_orgs_forms(org_admin_client, org, other_org, slug):
    response = org_admin_client.post(action_url(other_org, slug), valid_payload(other_org, slug))
    assert response.status_code == 404
    assert b"Globex" not in response.content
    assert master(other_org).balance == Decimal("50")


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_subaccount_user_cannot_use_any_money_form(sub_client, org, slug):
    assert sub_client.post(action_url(org, slug), valid_payload(org, slug)).status_code in (403, 404)
    assert master(org).balance == Decimal("1000")


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_anonymous_is_sent_to_login(client, org, slug):
    response = client.post(action_url(org, slug), valid_payload(org, slug))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_unknown_org_is_404(staff_client):
    assert staff_client.get(action_url(type("O", (), {"pk": uuid.uuid4()}), "add-credits")).status_code == 404
    bad = reverse("admin:ledger_organization_add-credits", args=["not-a-uuid"])
    assert staff_client.get(bad).status_code == 404
