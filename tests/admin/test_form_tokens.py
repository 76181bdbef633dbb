"""One money form shown to a person moves money at most once: reload, Back, resubmit, two tabs, deliberate repeats."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts import jobs
from ledger.models import ConsoleFormToken, CreditLimitChange, Transaction
from tests.admin.forms import action_url
from tests.concurrency import run_in_threads

from .conftest import user_with_role


def open_form(client, org, slug):
    """Open an action form as the dashboard's button does: (its own URL, its signed token)."""
    opened = client.get(action_url(org, slug))
    assert opened.status_code == 302
    page = client.get(opened["Location"])
    assert page.status_code == 200
    return opened["Location"], page.context["form"]["form_token"].value()


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def grants(org, amount):
    return Transaction.objects.filter(organization=org, kind="grant", amount=Decimal(amount)).count()


def grant(client, org, signed, amount="1234", **extra):
    return client.post(action_url(org, "add-credits"), {
        "account": org.master_account.pk, "amount": amount, "expires_in": "6M", "form_token": signed, **extra})


@pytest.mark.django_db
class TestOneForm:
    def test_reload_of_a_submitted_form_shows_what_it_did_never_a_fresh_form(self, staff_client, org):
        form_url, signed = open_form(staff_client, org, "add-credits")
        assert grant(staff_client, org, signed).status_code == 302
        txn = Transaction.objects.get(organization=org, kind="grant", amount=Decimal("1234"))

        again = staff_client.get(form_url)  # reload, or Back re-rendering the form's page
        assert again.status_code == 200
        assert "form" not in again.context and b'id="action-form"' not in again.content
        html = again.content.decode()
        assert "This form was already submitted" in html and "(the grant of ₹1,234.00 to Master account)" in html
        assert reverse("admin:ledger_transaction_change", args=[txn.pk]) in html
        assert f'href="{action_url(org, "add-credits")}"' in html  # "Open a new form"
        assert "no-store" in again["Cache-Control"]

    def test_resubmitting_a_used_form_moves_nothing_and_links_the_entry(self, staff_client, org):
        _, signed = open_form(staff_client, org, "add-credits")
        grant(staff_client, org, signed)
        for _ in range(3):  # the page restored by Back submitted again, a browser retry, a reload of the POST
            response = grant(staff_client, org, signed)
            assert response.status_code == 302
        assert grants(org, "1234") == 1
        txn = Transaction.objects.get(organization=org, kind="grant", amount=Decimal("1234"))
        message = messages_of(response)[-1]
        assert message.startswith("Already done: this form was submitted")
        assert reverse("admin:ledger_transaction_change", args=[txn.pk]) in message

    def test_back_then_a_new_form_with_the_same_values_asks_before_granting_again(self, staff_client, org):
        _, first = open_form(staff_client, org, "add-credits")
        grant(staff_client, org, first)
        _, second = open_form(staff_client, org, "add-credits")
        asked = grant(staff_client, org, second)
        assert asked.status_code == 200
        html = asked.content.decode()
        assert "The same grant of ₹1,234.00 to Master account was made" in html
        assert "ago by you" in html and 'id="confirm-duplicate"' in html and 'id="submit-action"' not in html
        assert grants(org, "1234") == 1
        earlier = ConsoleFormToken.objects.get(claimed_at__isnull=False)
        assert asked.context["duplicate"] == earlier

        confirmed = grant(staff_client, org, second, confirm_duplicate=str(earlier.pk))
        assert confirmed.status_code == 302
        assert grants(org, "1234") == 2  # a deliberate second grant, confirmed
        assert grant(staff_client, org, second, confirm_duplicate=str(earlier.pk)).status_code == 302
        assert grants(org, "1234") == 2  # and that form, too, acts once

    def test_other_values_or_an_older_identical_action_need_no_confirmation(self, staff_client, org):
        _, signed = open_form(staff_client, org, "add-credits")
        grant(staff_client, org, signed)
        _, other_amount = open_form(staff_client, org, "add-credits")
        assert grant(staff_client, org, other_amount, amount="999").status_code == 302
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            _, later = open_form(staff_client, org, "add-credits")
            assert grant(staff_client, org, later).status_code == 302
        assert grants(org, "1234") == 2 and grants(org, "999") == 1

    def test_another_users_identical_action_is_not_a_duplicate(self, staff_client, org):
        _, signed = open_form(staff_client, org, "add-credits")
        grant(staff_client, org, signed)
        colleague = Client()
        colleague.force_login(user_with_role("Platform staff", "colleague"))
        _, theirs = open_form(colleague, org, "add-credits")
        assert grant(colleague, org, theirs).status_code == 302
        assert grants(org, "1234") == 2

    def test_a_token_of_another_user_or_action_or_a_forged_one_moves_nothing(self, staff_client, org):
        colleague = Client()
        colleague.force_login(user_with_role("Platform staff", "colleague"))
        _, theirs = open_form(colleague, org, "add-credits")
        _, removal = open_form(staff_client, org, "remove-credits")
        for signed in (theirs, removal, "forged", removal.split(":")[0] + ":bad-signature"):
            response = grant(staff_client, org, signed)
            assert response.status_code == 400
            assert "This form had expired: nothing was done" in str(response.context["form"].non_field_errors())
            fresh = response.context["form"]["form_token"].value()
            assert fresh != signed
        assert grants(org, "1234") == 0
        assert grant(staff_client, org, fresh).status_code == 302  # the form as shown again works, once
        assert grants(org, "1234") == 1

    def test_a_refused_submission_gives_the_form_back_for_a_correction(self, staff_client, org):
        _, signed = open_form(staff_client, org, "remove-credits")
        data = {"account": org.master_account.pk, "form_token": signed, "comment": "correction"}
        refused = staff_client.post(action_url(org, "remove-credits"), {**data, "amount": "5000"})
        assert refused.status_code == 400
        assert staff_client.post(action_url(org, "remove-credits"), {**data, "amount": "400"}).status_code == 302
        assert staff_client.post(action_url(org, "remove-credits"), {**data, "amount": "400"}).status_code == 302
        assert Transaction.objects.filter(organization=org, kind="removal").count() == 1

    @pytest.mark.parametrize(("slug", "values", "prompt"), [
        ("remove-credits", {"amount": "100"}, "The same removal of ₹100.00 from Master account"),
        ("credit-limit", {"amount": "300"}, "The same credit limit of ₹300.00 (permanent) on Master account"),
        ("transfer", {"amount": "100", "to": "Marketing"}, "The same transfer of ₹100.00 from Master account to "
                                                           "Marketing"),
    ])
    def test_every_money_form_asks_before_repeating_itself(self, staff_client, org, slug, values, prompt):
        if slug == "transfer":
            data = {"from_account": org.master_account.pk, "to_account": org.accounts.get(name=values["to"]).pk,
                    "amount": values["amount"], "comment": "why"}
        else:
            data = {"account": org.master_account.pk, "amount": values["amount"], "comment": "why"}

        def count():
            if slug == "credit-limit":
                return CreditLimitChange.objects.count()
            return Transaction.objects.filter(organization=org, kind={"remove-credits": "removal",
                                                                      "transfer": "transfer"}[slug]).count()

        _, first = open_form(staff_client, org, slug)
        assert staff_client.post(action_url(org, slug), {**data, "form_token": first}).status_code == 302
        assert staff_client.post(action_url(org, slug), {**data, "form_token": first}).status_code == 302
        _, second = open_form(staff_client, org, slug)
        asked = staff_client.post(action_url(org, slug), {**data, "form_token": second})
        assert asked.status_code == 200 and prompt in asked.content.decode()
        assert count() == 1
        earlier = asked.context["duplicate"]
        staff_client.post(action_url(org, slug), {**data, "form_token": second, "confirm_duplicate": str(earlier.pk)})
        assert count() == 2

    def test_old_tokens_are_purged_with_the_idempotency_keys(self, staff_client, org, settings):
        open_form(staff_client, org, "add-credits")
        later = timezone.now() + settings.IDEMPOTENCY_KEY_RETENTION + timedelta(days=1)
        assert ConsoleFormToken.objects.count() == 1
        assert jobs.run_job("idempotency_keys_purge", later).error == ""
        assert ConsoleFormToken.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_tabs_submitting_one_form_at_once_move_money_once(staff_user, org):
    """Duplicated tab (or a double click): the same form sent twice at the same moment."""
    setup = Client()
    setup.force_login(staff_user)
    _, signed = open_form(setup, org, "add-credits")
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(staff_user)
    responses = run_in_threads(2, lambda index: grant(tabs[index], org, signed))
    assert [response.status_code for response in responses] == [302, 302]
    assert grants(org, "1234") == 1
    said = sorted(messages_of(response)[0][:14] for response in responses)
    assert said == ["Added ₹1,234.0", "Already done: "]


@pytest.mark.django_db(transaction=True)
def test_two_tabs_with_two_forms_of_the_same_grant_at_once_grant_once_and_ask_once(staff_user, org):
    tabs = [Client(), Client()]
    signed = []
    for tab in tabs:
        tab.force_login(staff_user)
        signed.append(open_form(tab, org, "add-credits")[1])
    responses = run_in_threads(2, lambda index: grant(tabs[index], org, signed[index]))
    assert sorted(response.status_code for response in responses) == [200, 302]
    asked = next(response for response in responses if response.status_code == 200)
    assert "The same grant of ₹1,234.00 to Master account was made" in asked.content.decode()
    assert grants(org, "1234") == 1
