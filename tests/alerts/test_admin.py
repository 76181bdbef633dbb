"""Admin: org admins edit only their own org's alert settings; notices and the webhook delivery log."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from alerts.models import AlertSettings, Notification, WebhookDelivery, WebhookEndpoint, generate_secret
from alerts.services import alert_settings_get_or_create
from tests.factories import UserFactory, make_org


@pytest.fixture
def orgs(db):
    own = make_org(name="Own org", currency="INR")
    other = make_org(name="Other org", currency="USD", timezone_name="UTC")
    return own, other


@pytest.fixture
def org_admin(orgs, client):
    user = UserFactory(username="orgadmin", is_staff=True, is_superuser=False)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="alerts",
        codename__in=["view_alertsettings", "add_alertsettings", "change_alertsettings", "view_notification",
                      "change_notification"]))
    orgs[0].admins.add(user)
    client.force_login(user)
    return user


def _form(settings, **changes):
    data = {"low_credit_threshold": str(settings.low_credit_threshold), "recipients": "\n".join(settings.recipients),
            "expiry_warning_days": settings.expiry_warning_days, "runway_alert_days": settings.runway_alert_days,
            "email_enabled": "on"}
    data.update(changes)
    return data


def test_org_admin_sees_and_edits_only_their_own_org(orgs, org_admin, client):
    own, other = (alert_settings_get_or_create(organization=org) for org in orgs)

    listing = client.get("/admin/alerts/alertsettings/")
    assert listing.status_code == 200
    assert "Own org" in listing.text and "Other org" not in listing.text
    assert client.get(f"/admin/alerts/alertsettings/{other.pk}/change/").status_code == 302  # "does not exist"

    bad = client.post(f"/admin/alerts/alertsettings/{own.pk}/change/",
                      _form(own, recipients="ops@example.com, not-an-email"))
    assert bad.status_code == 200
    assert "&#x27;not-an-email&#x27; is not a valid email address." in bad.text
    own.refresh_from_db()
    assert own.recipients == []

    ok = client.post(f"/admin/alerts/alertsettings/{own.pk}/change/",
                     _form(own, recipients="ops@example.com,\ncfo@example.com", low_credit_threshold="250"))
    assert ok.status_code == 302
    own.refresh_from_db()
    assert own.recipients == ["ops@example.com", "cfo@example.com"]
    assert own.low_credit_threshold == Decimal("250")
    assert own.history.first().history_user == org_admin

    forbidden = client.post(f"/admin/alerts/alertsettings/{other.pk}/change/", _form(other, recipients="x@y.com"))
    assert forbidden.status_code == 302
    other.refresh_from_db()
    assert other.recipients == []


def test_org_admin_adds_settings_for_their_org_with_the_currency_default(orgs, org_admin, client):
    own, other = orgs
    form = client.get("/admin/alerts/alertsettings/add/")
    assert "Own org" in form.text and "Other org" not in form.text
    refused = client.post("/admin/alerts/alertsettings/add/", {"organization": other.pk, "recipients": "",
                                                               "expiry_warning_days": 7, "runway_alert_days": 7})
    assert refused.status_code == 200
    assert not AlertSettings.objects.filter(organization=other).exists()
    response = client.post("/admin/alerts/alertsettings/add/", {"organization": own.pk, "recipients": "",
                                                                "expiry_warning_days": 7, "runway_alert_days": 7})
    assert response.status_code == 302
    assert AlertSettings.objects.get(organization=own).low_credit_threshold == Decimal("100")


def test_notices_are_scoped_and_dismissed_from_the_admin(orgs, org_admin, client):
    own, other = orgs
    mine = Notification.objects.create(organization=own, kind="low_balance", title="Mine is low", message="m")
    Notification.objects.create(organization=other, kind="low_balance", title="Theirs is low", message="t")
    listing = client.get(f"/admin/alerts/notification/?organization__id__exact={own.pk}&dismissed_at__isempty=1")
    assert listing.status_code == 200
    assert "Mine is low" in listing.text and "Theirs is low" not in listing.text

    response = client.post("/admin/alerts/notification/", {"action": "dismiss", "_selected_action": [mine.pk]})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.dismissed_at is not None


def test_delivery_log_and_endpoints_for_staff(orgs, admin_client):
    own, _ = orgs
    endpoint = WebhookEndpoint.objects.create(organization=own, url="https://hooks.example.com/credits",
                                              events=["balance.low"])
    WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={"event": "balance.low"},
                                   status="failed", attempts=8, response_status=500, error="HTTP 500")
    log = admin_client.get("/admin/alerts/webhookdelivery/")
    assert log.status_code == 200
    assert "hooks.example.com" in log.text and "HTTP 500" not in log.text  # error shows on the detail page
    assert admin_client.get("/admin/alerts/webhookendpoint/").status_code == 200
    form = {"organization": own.pk, "url": "https://hooks.example.com/two",
            "events": ["balance.low", "ratecard.activated"], "is_active": "on", "secret": "abc", "description": ""}
    refused = admin_client.post("/admin/alerts/webhookendpoint/add/", form)
    assert refused.status_code == 200 and "Use whsec_ followed by" in refused.text  # not a Standard Webhooks secret
    add = admin_client.post("/admin/alerts/webhookendpoint/add/", {**form, "secret": generate_secret()})
    assert add.status_code == 302
    assert WebhookEndpoint.objects.get(url="https://hooks.example.com/two").events == ["balance.low",
                                                                                      "ratecard.activated"]


def test_role_groups_get_their_alerts_permissions(db):
    from django.contrib.auth.models import Group

    def codenames(name):
        return set(Group.objects.get(name=name).permissions.filter(content_type__app_label="alerts")
                   .values_list("codename", flat=True))

    assert {"view_alertsettings", "change_alertsettings", "view_notification"} <= codenames("Org admin")
    assert "view_webhookendpoint" not in codenames("Org admin")
    assert codenames("Finance") == {"view_alertsettings", "view_notification", "view_webhookendpoint",
                                    "view_webhookdelivery", "view_accountthreshold"}
    assert {"add_accountthreshold", "change_accountthreshold"} <= codenames("Org admin")
    assert "change_webhookendpoint" in codenames("Platform staff")
