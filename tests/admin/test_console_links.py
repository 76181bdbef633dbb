"""Links between the console's pages: org page -> finance, rate card and alerts; header -> finance; times in the
org's timezone; rate card pages with labels and plain prices; the credit limit form shows the current limits."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ledger import services
from tests.factories import UserFactory


def org_links(response) -> dict:
    block = re.search(r'<p class="console-links" id="org-links">(.*?)</p>', response.content.decode(), re.S)
    if block is None:
        return {}
    return {slug: url for url, slug in re.findall(r'href="([^"]+)" data-link="([^"]+)"', block.group(1))}


def superuser(client):
    user = UserFactory(username="root", is_superuser=True)
    client.force_login(user)
    return user


def test_org_page_links_to_finance_ledger_reports_rate_card_and_alert_settings(client, org):
    superuser(client)
    links = org_links(client.get(reverse("admin:ledger_organization_change", args=[org.pk])))
    assert links == {
        "activity": reverse("finance:activity", args=[org.pk]),
        "finance-ledger": reverse("finance:org_ledger", args=[org.pk]),
        "reports": reverse("finance:reports", args=[org.pk]),
        "rate-card": reverse("admin:ratecards_ratecardversion_organization", args=[org.pk]),
        "alert-settings": reverse("admin:alerts_alertsettings_add") + f"?organization={org.pk}",
        "users-credits": reverse("selfservice:organization_credits", args=[org.pk]),
    }


def test_org_page_links_to_existing_alert_settings(client, org):
    from alerts.models import AlertSettings

    settings = AlertSettings.objects.create(organization=org, low_credit_threshold="250")
    superuser(client)
    links = org_links(client.get(reverse("admin:ledger_organization_change", args=[org.pk])))
    assert links["alert-settings"] == reverse("admin:alerts_alertsettings_change", args=[settings.pk])


def test_org_links_follow_each_role_s_permissions(client, org, finance_user, org_admin_user):
    client.force_login(finance_user)  # reads everything, adds no alert settings
    links = org_links(client.get(reverse("admin:ledger_organization_change", args=[org.pk])))
    assert set(links) == {"activity", "finance-ledger", "reports", "rate-card", "users-credits"}
    client.force_login(org_admin_user)  # its own org: activity, ledger, reports, rate card, and it sets its alerts
    links = org_links(client.get(reverse("admin:ledger_organization_change", args=[org.pk])))
    assert set(links) == {"activity", "finance-ledger", "reports", "rate-card", "alert-settings", "users-credits"}
    for url in links.values():
        assert client.get(url).status_code == 200, url


def test_header_links_to_finance_or_to_my_ledger(client, org, finance_user, sub_user):
    client.force_login(finance_user)
    assert f'href="{reverse("finance:index")}" id="nav-finance"' in client.get(reverse("admin:index")).content.decode()
    client.force_login(sub_user)
    content = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("finance:my_ledger")}" id="nav-my-ledger"' in content
    assert 'id="nav-finance"' not in content


def test_account_page_links_to_its_full_ledger(client, org, finance_user, sub_user):
    marketing = org.accounts.get(name="Marketing")
    client.force_login(finance_user)
    content = client.get(reverse("admin:ledger_account_change", args=[marketing.pk])).content.decode()
    assert f'href="{reverse("finance:account_ledger", args=[marketing.pk])}" id="account-ledger-link"' in content
    client.force_login(sub_user)  # the owner, without view_ledger: their "last 30 days" page
    content = client.get(reverse("admin:ledger_account_change", args=[marketing.pk])).content.decode()
    assert f'href="{reverse("finance:my_account_ledger", args=[marketing.pk])}" id="account-ledger-link"' in content


def test_org_page_shows_times_in_the_org_timezone(client, org):
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    services.charge_create(actor=services.SYSTEM, account=org.master_account, channel="sms", quantity=1,
                           unit_price="1", reference="tz-check", at=moment)
    superuser(client)
    content = client.get(reverse("admin:ledger_organization_change", args=[org.pk])).content.decode()
    local = moment.astimezone(org.tz)
    row = re.search(r'<tr class="ledger-row">\s*<td class="date">([^<]+)</td>(?:(?!</tr>).)*tz-check', content, re.S)
    assert row is not None and row.group(1) == local.strftime("%Y-%m-%d %H:%M IST")


def test_rate_card_pages_show_labels_plain_prices_and_styled_breadcrumbs(client, org):
    from ratecards.services import rate_card_version_create

    rate_card_version_create(actor=services.SYSTEM, organization=org, rates=[
        {"channel": "whatsapp", "country": "IN", "category": "marketing", "unit_price": "0.88"},
        {"channel": "sms", "country": None, "category": None, "unit_price": "0.0079"},
    ])
    superuser(client)
    content = client.get(reverse("admin:ratecards_ratecardversion_organization", args=[org.pk])).content.decode()
    assert '<ol class="breadcrumbs">' in content
    assert f'href="{reverse("admin:ledger_organization_change", args=[org.pk])}"' in content
    assert ">Marketing<" in content and ">marketing<" not in content and ">whatsapp<" not in content
    assert ">₹0.88<" in content and ">₹0.0079<" in content and "0.880000" not in content
    assert "Rows in bold differ" not in content  # nothing pending to compare with
    editor = client.get(reverse("admin:ratecards_ratecardversion_add") + f"?organization={org.pk}")
    html = editor.content.decode()
    assert '<ol class="breadcrumbs">' in html and "admin/css/forms.css" in html
    assert 'value="0.88"' in html and 'value="0.880000"' not in html


def test_credit_limit_form_shows_each_account_s_current_limit(client, org):
    services.credit_limit_set(actor=services.SYSTEM, account=org.master_account, amount="300")
    superuser(client)
    content = client.get(reverse("admin:ledger_organization_credit-limit", args=[org.pk]), follow=True).content.decode()
    assert "Master account (master, credit limit ₹300.00)" in content
    assert '<label for="id_amount" class="required">' in content
