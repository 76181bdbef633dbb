"""The org dashboard's deferred panels: placeholders on the page, each panel's fragment at its own URL (scoped like
the page), and every panel in place with `?panels=inline` (the no-script fallback)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from approvals import services as approvals
from ledger.admin.panels import PANEL_HEADER, PANELS
from tests.payments.helpers import start_top_up

from .conftest import user_with_role

pytestmark = pytest.mark.django_db

NAMES = [panel.name for panel in PANELS]


def change_url(org, query=""):
    return reverse("admin:ledger_organization_change", args=[org.pk]) + query


def panel_url(org, name):
    return reverse("admin:ledger_organization_panel", args=[org.pk, name])


@pytest.fixture
def busy_org(org, staff_user):
    """Acme with a request waiting for approval and a top-up started."""
    approvals.approval_request_create(user=staff_user, account=org.master_account, action="remove", amount="5",
                                      reason="Festival refund")
    start_top_up(org.master_account, "500")
    return org


def test_the_page_has_a_placeholder_per_panel_and_none_of_their_content(staff_client, busy_org):
    page = staff_client.get(change_url(busy_org)).content.decode()
    slots = re.findall(r'data-panel="([a-z]+)" data-title="[^"]+" data-panel-url="([^"]+)"', page)
    assert slots == [(name, panel_url(busy_org, name)) for name in NAMES]
    assert "finance-chart" not in page and 'id="pending-approvals"' not in page and 'id="purchases"' not in page
    assert 'href="?panels=inline"' in page  # the way without script


def test_each_panel_is_a_fragment_marked_for_the_script(staff_client, busy_org):
    expected = {"charts": "finance-chart", "approvals": "Festival refund", "purchases": 'id="purchases"'}
    for name in NAMES:
        response = staff_client.get(panel_url(busy_org, name))
        html = response.content.decode()
        assert response.status_code == 200 and response[PANEL_HEADER] == name
        assert expected[name] in html and "<html" not in html


def test_a_panel_opened_as_a_page_leads_to_the_page_with_every_panel(staff_client, busy_org):
    response = staff_client.get(panel_url(busy_org, "purchases"), headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 302
    assert response["Location"] == change_url(busy_org, "?panels=inline#panel-purchases")


def test_inline_renders_the_same_panels_in_the_page(staff_client, busy_org):
    page = staff_client.get(change_url(busy_org, "?panels=inline")).content.decode()
    assert "data-panel-url" not in page
    assert "finance-chart" in page and "Festival refund" in page and 'id="purchases"' in page
    for name in ("approvals", "purchases"):  # charts embed a timestamped SVG; the others render identically
        assert staff_client.get(panel_url(busy_org, name)).content.decode().strip() in page


def test_panels_are_scoped_like_the_page(org_admin_client, busy_org, other_org):
    assert org_admin_client.get(panel_url(busy_org, "purchases")).status_code == 200
    for name in NAMES:
        assert org_admin_client.get(panel_url(other_org, name)).status_code == 404  # not their org
    assert org_admin_client.get(panel_url(busy_org, "nothing")).status_code == 404
    assert org_admin_client.get(reverse("admin:ledger_organization_panel",
                                        args=["not-a-uuid", "charts"])).status_code == 404
    anonymous = Client().get(panel_url(busy_org, "charts"))
    assert anonymous.status_code == 302 and PANEL_HEADER not in anonymous  # the script refuses the login page


def test_a_user_without_view_access_gets_no_panel(client, busy_org):
    from .conftest import login

    outsider = user_with_role("Finance", "fin-nobody")
    outsider.groups.clear()
    login(client, outsider)
    assert client.get(panel_url(busy_org, "charts")).status_code == 404


def test_the_page_reads_its_org_once(staff_client, busy_org):
    staff_client.get(change_url(busy_org))  # warm: sessions, content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(change_url(busy_org)).status_code == 200
    org_reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "ledger_organization"."')]
    assert len(org_reads) == 1, org_reads
