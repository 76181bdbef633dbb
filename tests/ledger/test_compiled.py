"""CompiledQuery (ledger/compiled.py): the queryset's SQL compiled once, run with new arguments, giving the
same instances as the queryset, with their select_related objects attached (none when the relation is null)
and their annotations set through the ORM's converters."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, ExpressionWrapper, F, IntegerField, OuterRef, Subquery

from ledger import services
from ledger.compiled import CompiledQuery
from ledger.models import Account, MoneyField, Organization
from tests.factories import SYSTEM, make_org, make_subaccount

pytestmark = pytest.mark.django_db

ACCOUNT_WITH_ORG_AND_OWNER = CompiledQuery(
    lambda account_id: Account.objects.select_related("organization", "owner").filter(pk=account_id),
    account_id=uuid.UUID(int=0xC0DE))
ACCOUNTS_OF_ORG_NAMED = CompiledQuery(
    lambda name: Account.objects.filter(organization__name=name).order_by("name"), name="@name@")


def orgs_with_figures(name):
    master = Account.objects.filter(organization=OuterRef("pk"), is_master=True)
    return Organization.objects.filter(name=name).annotate(
        master_balance=Subquery(master.values("balance")[:1], output_field=MoneyField()),
        whole_balance=ExpressionWrapper(Subquery(master.values("balance")[:1]), output_field=IntegerField()),
        account_count=Count("accounts"), doubled_floor=F("spending_floor") * 2)


ORGS_WITH_FIGURES = CompiledQuery(orgs_with_figures, name="@figures@")


def test_compiled_query_returns_what_the_queryset_returns_with_related_objects_attached(django_assert_num_queries):
    org = make_org(name="Acme")
    owner = get_user_model().objects.create_user("sunita")
    team = make_subaccount(org, name="Team", owner=owner)
    for account, expected_owner in ((org.master_account, None), (team, owner)):
        with django_assert_num_queries(1):
            (found,) = ACCOUNT_WITH_ORG_AND_OWNER(account_id=account.pk)
            assert found.organization.name == "Acme"  # attached: no second query
            assert found.owner == expected_owner
        assert found == account and found.balance == account.balance and found.name == account.name
    assert ACCOUNT_WITH_ORG_AND_OWNER(account_id=uuid.uuid4()) == []


def test_compiled_query_is_compiled_once_and_takes_new_arguments_each_call():
    make_org(name="Acme")
    globex = make_org(name="Globex")
    make_subaccount(globex, name="Zeta")
    assert [a.name for a in ACCOUNTS_OF_ORG_NAMED(name="Globex")] == [
        a.name for a in Account.objects.filter(organization__name="Globex").order_by("name")]
    assert len(ACCOUNTS_OF_ORG_NAMED(name="Acme")) == 1
    assert ACCOUNTS_OF_ORG_NAMED(name="'; DROP TABLE ledger_account; --") == []  # a parameter, never SQL


@pytest.mark.usefixtures("postgres_only")  # elsewhere the queryset is evaluated as is
def test_a_sentinel_missing_from_the_compiled_parameters_is_refused():
    broken = CompiledQuery(lambda name: Account.objects.all(), name="@unused@")
    with pytest.raises(RuntimeError):
        broken(name="x")


def test_annotations_come_back_as_attributes_through_the_orms_converters():
    org = make_org(name="Acme")
    services.credits_grant(actor=SYSTEM, account=org.master_account, amount="12.5", expires_in="never")
    make_subaccount(org, name="Team")
    (found,) = ORGS_WITH_FIGURES(name="Acme")
    (expected,) = orgs_with_figures("Acme")
    for name in ("master_balance", "whole_balance", "account_count", "doubled_floor"):
        assert getattr(found, name) == getattr(expected, name), name
        assert type(getattr(found, name)) is type(getattr(expected, name)), name  # the converters ran
    assert found.whole_balance == 12 and type(found.whole_balance) is int  # numeric from PostgreSQL, int here
    assert found.account_count == 2 and found == org and found.name == "Acme"
