"""Reports: usage by channel, country, category and month; WhatsApp conversations; credits; top-ups; charts."""

import csv
import io
from decimal import Decimal

from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from ledger import services
from ledger.finance import charts, reports

D = Decimal


def test_usage_report_by_channel_country_category_and_month(client, book, finance_user):
    services.charge_create(actor=services.SYSTEM, account=book.master, channel="sms", quantity=3, country="AE",
                           unit_price="1")
    client.force_login(finance_user)
    response = client.get(reverse("finance:reports", args=[book.org.pk]))
    assert response.status_code == 200
    usage = response.context["usage"]
    assert {row["channel"]: (row["quantity"], row["amount"]) for row in usage["by_channel"]} == {
        "email": (4, D("1")), "sms": (13, D("8")), "whatsapp": (2, D("2.5"))}
    assert {row["country"]: row["amount"] for row in usage["by_country"]} == {"": D("1"), "AE": D("3"),
                                                                              "IN": D("7.5")}
    assert {row["category"]: row["quantity"] for row in usage["by_category"]} == {"": 17, "marketing": 2}
    assert usage["total"] == D("11.5")
    assert sum(row["amount"] for row in usage["by_month"]) == usage["total"]
    # months are local months: every row's month starts at local midnight of the 1st
    for row in usage["rows"]:
        local = row["month"].astimezone(book.org.tz)
        assert (local.day, local.hour) == (1, 0)
    content = response.content.decode()
    assert 'id="usage-by-channel"' in content and "whatsapp" in content


def test_whatsapp_conversations(db, book):
    start = timezone.now()
    for category, quantity, price in (("service", 3, "0"), ("utility", 1, "0.8"), ("authentication", 5, "0.2"),
                                      ("marketing", 2, "0")):
        services.charge_create(actor=services.SYSTEM, account=book.master, channel="whatsapp", quantity=quantity,
                               country="IN", category=category, unit_price=price)
    rows = reports.whatsapp_conversations(book.org, start, None)
    assert len(rows) == 1
    row = rows[0]
    # free: service (3) + zero-priced marketing (2); business: utility, authentication, marketing; user: service
    assert (row["free"], row["business_initiated"], row["user_initiated"], row["total"]) == (5, 8, 3, 11)
    assert row["amount"] == D("1.8")


def test_credits_granted_and_expired_per_month_and_topups(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:reports", args=[book.org.pk]))
    credits = response.context["credits"]
    assert sum(row["granted"] for row in credits) == D("1030")
    assert sum(row["purchases"] for row in credits) == D("1000")
    assert sum(row["expired"] for row in credits) == D("30")
    assert sum(row["expired_lots"] for row in credits) == 1
    assert sum(row["removed"] for row in credits) == D("50")
    topups = response.context["topups"]
    assert [(txn.kind, amount) for txn, amount in topups] == [("removal", D("-50")), ("grant", D("30")),
                                                              ("purchase", D("1000"))]
    assert topups[2][0].lot.purchase_order == "PO-1"
    assert "PO-1" in response.content.decode()
    response = client.get(reverse("finance:topups_csv", args=[book.org.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["kind"], row["amount"], row["purchase_order"]) for row in rows] == [
        ("removal", "-50.000000", ""), ("grant", "30.000000", ""), ("purchase", "1000.000000", "PO-1")]
    assert rows[2]["expires_at"] and rows[2]["comment"] == "first top-up"


def test_report_date_range(client, book, finance_user):
    client.force_login(finance_user)
    url = reverse("finance:reports", args=[book.org.pk])
    response = client.get(url, {"date_from": book.day(12).isoformat(), "date_to": book.day(1).isoformat()})
    assert [row["channel"] for row in response.context["usage"]["by_channel"]] == ["email"]
    assert [txn.kind for txn, _ in response.context["topups"]] == ["removal"]
    response = client.get(url, {"date_from": book.day(1).isoformat(), "date_to": book.day(12).isoformat()})
    assert response.status_code == 400 and "must not be before" in response.content.decode()


def test_usage_export_of_six_months(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:usage_csv", args=[book.org.pk]))
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted((row["channel"], row["subaccount"], row["quantity"], row["amount"]) for row in rows) == [
        ("email", "", "4", "1.000000"), ("sms", "", "10", "5.000000"), ("whatsapp", "Support", "2", "2.500000")]
    assert all(len(row["month"]) == 7 and row["currency"] == "INR" for row in rows)


def test_org_charts_render_svg_without_cdn(db, book, finance_user):
    request = RequestFactory().get("/")
    request.user = finance_user
    html = Template('{% include "finance/_org_charts.html" %}').render(
        Context({"organization": book.org, "request": request}))
    assert html.count("<svg") == 2 and "<polyline" in html and "<rect" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # no CDN, no external asset
    assert "₹941.50" in html  # the balance today
    assert reverse("finance:org_ledger", args=[book.org.pk]) in html
    series = charts.balance_series(book.org, days=60)
    assert len(series) == 60 and series[-1][1] == D("941.5")
    by_day = dict(series)
    assert by_day[book.day(51)] == 0 and by_day[book.day(50)] == D("1000") and by_day[book.day(40)] == D("1025")
    assert charts.usage_by_channel(book.org) == [("WhatsApp", D("2.5")), ("Email", D("1"))]


def test_org_charts_hide_links_from_users_without_ledger_access(db, book):
    request = RequestFactory().get("/")
    request.user = book.sub_user
    html = Template('{% include "finance/_org_charts.html" %}').render(
        Context({"organization": book.org, "request": request}))
    assert "<svg" in html and reverse("finance:org_ledger", args=[book.org.pk]) not in html


def test_topups_are_paged_newest_first_with_a_cursor(client, book, finance_user, monkeypatch):
    """The report shows a page of top-ups and removals and links to the older ones; every one is on one page."""
    monkeypatch.setattr("ledger.finance.views.TOPUPS_PAGE_SIZE", 2)
    client.force_login(finance_user)
    url = reverse("finance:reports", args=[book.org.pk])
    response = client.get(url)
    assert [txn.kind for txn, _ in response.context["topups"]] == ["removal", "grant"]
    cursor = response.context["topups_next"]
    assert cursor and f"topups_after={cursor}" in response.content.decode()
    response = client.get(url, {"topups_after": cursor})
    assert [txn.kind for txn, _ in response.context["topups"]] == ["purchase"]
    assert response.context["topups_next"] is None and 'class="newer"' in response.content.decode()
    response = client.get(url, {"topups_after": "not-a-cursor"})
    assert [txn.kind for txn, _ in response.context["topups"]] == ["removal", "grant"]
