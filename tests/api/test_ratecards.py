"""GET /channels, rate card read/write/history and POST /estimates."""

import pytest

from ratecards.models import RateCardVersion
from tests.factories import funded_account, make_org, make_subaccount

from .helpers import role_user, session_client

pytestmark = pytest.mark.django_db


def test_channels(read_client):
    channels = read_client.get("/api/v1/channels").json()
    assert {c["code"] for c in channels} == {"sms", "email", "whatsapp", "xengage"}
    email = next(c for c in channels if c["code"] == "email")
    assert email["priced_by_country"] is False and email["unit"] == "email"


def test_put_rate_card_first_version_in_force_then_pending(manage_client, read_client, db):
    org = make_org()
    body = {"rates": [{"channel": "sms", "country": None, "category": None, "unit_price": "0.3"},
                      {"channel": "sms", "country": "IN", "unit_price": "0.12"}]}
    created = manage_client.put(f"/api/v1/organizations/{org.pk}/rate-card", body, format="json")
    assert created.status_code == 201, created.json()
    version = created.json()
    assert version["number"] == 1 and version["status"] == "current"
    assert {"channel": "sms", "country": "IN", "category": None, "unit_price": "0.120000"} in version["rates"]
    body["rates"][1]["unit_price"] = "0.15"
    second = manage_client.put(f"/api/v1/organizations/{org.pk}/rate-card/", body, format="json").json()
    assert second["status"] == "pending"
    card = read_client.get(f"/api/v1/organizations/{org.pk}/rate-card").json()
    assert card["current"]["id"] == version["id"] and [v["id"] for v in card["pending"]] == [second["id"]]
    history = read_client.get(f"/api/v1/organizations/{org.pk}/rate-card/history").json()
    assert [h["number"] for h in history] == [2, 1]
    assert history[0]["created_by"] == "provisioning"
    assert history[0]["changes"] == [{"channel": "sms", "country": "IN", "category": None,
                                      "old_price": "0.120000", "new_price": "0.150000"}]


def test_put_rate_card_validation_and_scope(manage_client, read_client, db):
    org = make_org()
    bad = manage_client.put(f"/api/v1/organizations/{org.pk}/rate-card",
                            {"rates": [{"channel": "fax", "unit_price": 1}]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and bad.json()["errors"]
    assert not RateCardVersion.objects.exists()
    denied = read_client.put(f"/api/v1/organizations/{org.pk}/rate-card",
                             {"rates": [{"channel": "sms", "unit_price": "1"}]}, format="json")
    assert denied.status_code == 403


def test_rate_card_of_another_org_is_404_for_an_org_admin(db):
    mine, theirs = make_org(name="Mine"), make_org(name="Theirs")
    user = role_user("Org admin")
    mine.admins.add(user)
    client = session_client(user)
    assert client.get(f"/api/v1/organizations/{mine.pk}/rate-card").json() == {"current": None, "pending": []}
    assert client.get(f"/api/v1/organizations/{theirs.pk}/rate-card").status_code == 404


def test_estimate_by_country_and_by_size(charge_client, account):
    response = charge_client.post("/api/v1/estimates", {"account": str(account.pk), "channel": "sms",
                                                        "audience": {"IN": 500, "AE": 100}}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["lines"] == [
        {"country": "AE", "quantity": 100, "unit_price": "0.500000", "amount": "50.000000"},
        {"country": "IN", "quantity": 500, "unit_price": "0.100000", "amount": "50.000000"},
    ]
    assert (body["total"], body["available"], body["sufficient"], body["shortfall"]) == (
        "100.000000", "100.000000", True, "0.000000")
    by_size = charge_client.post("/api/v1/estimates", {"account": str(account.pk), "channel": "sms",
                                                       "audience_size": 300}, format="json").json()
    assert by_size["total"] == "150.000000" and by_size["sufficient"] is False and by_size["shortfall"] == "50.000000"


def test_estimate_errors(charge_client, read_client, account):
    both = charge_client.post("/api/v1/estimates", {"account": str(account.pk), "channel": "sms",
                                                    "audience": {"IN": 1}, "audience_size": 1}, format="json")
    assert both.status_code == 400 and "audience" in both.json()["errors"]
    no_rate = charge_client.post("/api/v1/estimates", {"account": str(account.pk), "channel": "whatsapp",
                                                       "audience_size": 1}, format="json")
    assert no_rate.status_code == 422 and no_rate.json()["code"] == "no_rate"
    assert read_client.post("/api/v1/estimates", {"account": str(account.pk), "channel": "sms",
                                                  "audience_size": 1}, format="json").status_code == 403
    shared = make_subaccount(account.organization, balance_mode="shared")
    assert charge_client.post("/api/v1/estimates", {"account": str(shared.pk), "channel": "email",
                                                    "audience_size": 10}, format="json").json()["available"] == \
        "100.000000"
    other = funded_account(name="Elsewhere")
    user = role_user("Org admin")
    account.organization.admins.add(user)
    hidden = session_client(user).post("/api/v1/estimates", {"account": str(other.pk), "channel": "sms",
                                                             "audience_size": 1}, format="json")
    assert hidden.status_code == 404
