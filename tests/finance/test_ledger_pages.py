"""Ledger pages: entries, totals and balances that reconcile, each filter, keyset pages, roles, read-only."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import services
from ledger.models import Posting, Transaction
from tests.factories import UserFactory, make_org

from .conftest import local_noon

D = Decimal


def entries(response):
    """(kind, amount, balance_after) of each row on a page, in order."""
    return [(row.kind, row.amount, row.balance_after) for row in response.context["rows"]]


def summary(response):
    recon, totals = response.context["reconciliation"], response.context["totals"]
    return {"opening": recon.opening, "closing": recon.closing, "in": totals.credits_in, "out": totals.credits_out,
            "expired": totals.expired, "net": totals.net, "count": totals.count, "reconciles": recon.reconciles}


def test_account_ledger_lists_every_entry_with_details(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:account_ledger", args=[book.master.pk]))
    assert response.status_code == 200
    assert entries(response) == [
        ("removal", D("-50"), D("742.5")),
        ("charge", D("-2.5"), D("792.5")),
        ("transfer_out", D("-200"), D("795")),
        ("charge", D("-5"), D("995")),
        ("purchase", D("1000"), D("1000")),
    ]
    whatsapp = response.context["rows"][1]
    assert (whatsapp.channel, whatsapp.country, whatsapp.category, whatsapp.quantity, whatsapp.unit_price,
            whatsapp.subaccount, whatsapp.actor) == ("whatsapp", "IN", "marketing", 2, D("1.25"), "Support",
                                                     "wa-gateway")
    assert whatsapp.date.hour == 12  # shown in the org's timezone (Asia/Kolkata), not UTC
    sms = response.context["rows"][3]
    assert (sms.reference, sms.quantity, sms.unit_price) == ("camp-1", 10, D("0.5"))
    assert summary(response) == {"opening": 0, "closing": D("742.5"), "in": D("1000"), "out": D("257.5"),
                                 "expired": 0, "net": D("742.5"), "count": 5, "reconciles": True}
    content = response.content.decode()
    assert "Transfer out" in content and "PO-1" in content and "742.50" in content
    assert 'class="breadcrumbs"' in content and "Acme" in content


def test_org_ledger_totals_and_balances_reconcile(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]))
    assert [kind for kind, _, _ in entries(response)] == [
        "removal", "charge", "expiry", "charge", "transfer_in", "transfer_out", "charge", "grant", "purchase"]
    assert summary(response) == {"opening": 0, "closing": D("941.5"), "in": D("1230"), "out": D("258.5"),
                                 "expired": D("30"), "net": D("941.5"), "count": 9, "reconciles": True}
    rows = response.context["rows"]
    assert sum(row.amount for row in rows) == response.context["totals"].net


def test_date_range_opening_and_closing_balances(client, book, finance_user):
    client.force_login(finance_user)
    url = reverse("finance:account_ledger", args=[book.master.pk])
    response = client.get(url, {"date_from": book.day(38).isoformat(), "date_to": book.day(15).isoformat()})
    assert entries(response) == [("charge", D("-2.5"), D("792.5")), ("transfer_out", D("-200"), D("795"))]
    result = summary(response)
    assert (result["opening"], result["closing"], result["net"]) == (D("995"), D("792.5"), D("-202.5"))
    assert result["opening"] + result["net"] == result["closing"] and result["reconciles"]
    # the boundaries are local days: an entry at local noon of date_to is in, one of date_to + 1 is not
    response = client.get(url, {"date_from": book.day(40).isoformat(), "date_to": book.day(40).isoformat()})
    assert entries(response) == [("charge", D("-5"), D("995"))]
    assert summary(response)["opening"] == D("1000") and summary(response)["closing"] == D("995")


def test_org_range_reconciles_across_accounts(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]),
                          {"date_from": book.day(36).isoformat(), "date_to": book.day(12).isoformat()})
    result = summary(response)
    # opening: master 995 + own 30; closing: master 792.5 + own 200
    assert (result["opening"], result["closing"]) == (D("1025"), D("992.5"))
    assert result["net"] == D("-32.5") and result["expired"] == D("30") and result["reconciles"]


@pytest.mark.parametrize(("kind", "expected"), [
    ("transfer_out", [("transfer_out", D("-200"))]),
    ("transfer_in", [("transfer_in", D("200"))]),
    ("expiry", [("expiry", D("-30"))]),
    ("purchase", [("purchase", D("1000"))]),
    ("charge", [("charge", D("-1")), ("charge", D("-2.5")), ("charge", D("-5"))]),
])
def test_kind_filter(client, book, finance_user, kind, expected):
    client.force_login(finance_user)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]), {"kind": kind})
    assert [(k, amount) for k, amount, _ in entries(response)] == expected
    recon = response.context["reconciliation"]
    assert recon.shown_net == sum(amount for _, amount in expected)
    assert recon.opening + recon.shown_net + recon.hidden_net == recon.closing == D("941.5")
    assert recon.reconciles


def test_kind_filter_on_an_account(client, book, finance_user):
    client.force_login(finance_user)
    url = reverse("finance:account_ledger", args=[book.own.pk])
    assert entries(client.get(url, {"kind": "transfer_in"})) == [("transfer_in", D("200"), D("230"))]
    assert entries(client.get(url, {"kind": "grant"})) == [("grant", D("30"), D("30"))]
    assert entries(client.get(url, {"kind": "transfer_out"})) == []


@pytest.mark.parametrize(("channel", "amounts"), [
    ("sms", [D("-5")]), ("whatsapp", [D("-2.5")]), ("email", [D("-1")]), ("xengage", []),
])
def test_channel_filter(client, book, finance_user, channel, amounts):
    client.force_login(finance_user)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]), {"channel": channel})
    assert [amount for _, amount, _ in entries(response)] == amounts
    assert response.context["totals"].credits_out == -sum(amounts, D(0))


def test_subaccount_filter(client, book, finance_user):
    client.force_login(finance_user)
    # a shared subaccount's entries are on the master, attributed to it
    response = client.get(reverse("finance:account_ledger", args=[book.master.pk]), {"subaccount": book.shared.pk})
    assert entries(response) == [("charge", D("-2.5"), D("792.5"))]
    # an own-mode subaccount's entries are its own postings
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]), {"subaccount": book.own.pk})
    assert [kind for kind, _, _ in entries(response)] == ["charge", "expiry", "transfer_in", "grant"]
    assert response.context["totals"].net == D("199")


def test_invalid_filters_are_a_400_with_messages(client, book, finance_user):
    client.force_login(finance_user)
    url = reverse("finance:org_ledger", args=[book.org.pk])
    response = client.get(url, {"kind": "bogus", "date_from": "yesterday"})
    assert response.status_code == 400
    errors = response.context["filter"].form.errors
    assert "kind" in errors and "date_from" in errors
    response = client.get(url, {"date_from": book.day(1).isoformat(), "date_to": book.day(5).isoformat()})
    assert response.status_code == 400
    assert "must not be before" in response.content.decode()
    other = make_org(name="Other")
    sub = services.account_create(actor=services.SYSTEM, organization=other, name="X")
    response = client.get(url, {"subaccount": sub.pk})  # another org's subaccount is not a choice
    assert response.status_code == 400


def test_balance_as_of_any_instant(client, book, finance_user):
    client.force_login(finance_user)
    url = reverse("finance:account_ledger", args=[book.master.pk])
    tz = book.org.tz
    cases = [
        (book.day(51), D("0")),
        (book.day(50), D("1000")),  # exactly at the purchase (noon): at or before counts
        (book.day(36), D("995")),
        (book.day(1), D("742.5")),
    ]
    for day, expected in cases:
        moment = local_noon(day, tz)
        response = client.get(url, {"as_of": moment.strftime("%Y-%m-%dT%H:%M")})
        assert response.context["balance_as_of"] == expected, day
        assert response.context["as_of"] == moment
    response = client.get(url, {"as_of": local_noon(book.day(50), tz).strftime("%Y-%m-%dT11:59")})
    assert response.context["balance_as_of"] == 0


def test_keyset_pagination_walks_every_entry_once(client, finance_user, settings):
    from ledger.finance import selectors

    org = make_org(name="Busy")
    master = org.master_account
    services.credits_grant(actor=services.SYSTEM, account=master, amount="1000")
    items = [services.ChargeRequest(channel="sms", unit_price="0.01", traffic="transactional") for _ in range(120)]
    services.charge_batch(actor=services.SYSTEM, account=master, items=items)  # 120 entries, one created_at
    client.force_login(finance_user)
    url = reverse("finance:account_ledger", args=[master.pk])
    seen, pages, params = [], [], {}
    while True:
        response = client.get(url, params)
        page = response.context["page"]
        pages.append([row.posting_id for row in response.context["rows"]])
        seen += pages[-1]
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    expected = list(Posting.objects.filter(account=master).order_by("-created_at", "-id").values_list("id", flat=True))
    assert seen == expected and len(seen) == 121
    assert [len(p) for p in pages] == [selectors.PAGE_SIZE, selectors.PAGE_SIZE, 21]
    # and back: "newer" from the last page gives the middle page again
    response = client.get(url, {"before": response.context["page"].previous_cursor})
    assert [row.posting_id for row in response.context["rows"]] == pages[1]
    # a forged cursor is ignored, not a 500
    assert client.get(url, {"after": "not-a-cursor"}).status_code == 200


def test_print_view_and_csv_follow_the_filters(client, book, finance_user):
    client.force_login(finance_user)
    params = {"kind": "charge"}
    response = client.get(reverse("finance:org_ledger_print", args=[book.org.pk]), params)
    assert response.status_code == 200
    content = response.content.decode()
    assert "<form" not in content and "admin/base" not in content and "@media print" in content
    assert len(response.context["rows"]) == 3
    response = client.get(reverse("finance:org_ledger_csv", args=[book.org.pk]), params)
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["kind"], row["amount"], row["channel"]) for row in rows] == [
        ("charge", "-1.000000", "email"), ("charge", "-2.500000", "whatsapp"), ("charge", "-5.000000", "sms")]
    assert rows[1]["subaccount"] == "Support" and rows[1]["actor"] == "wa-gateway"
    assert rows[2]["date"].endswith("+05:30") and rows[2]["reference"] == "camp-1"


def test_csv_neutralises_formulas(client, finance_user):
    org = make_org(name="=HYPERLINK(1)")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="5", comment="=cmd|calc")
    client.force_login(finance_user)
    response = client.get(reverse("finance:account_ledger_csv", args=[org.master_account.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["memo"] == "'=cmd|calc"


# --- roles --------------------------------------------------------------------------------------------------


def test_login_required(client, book):
    for url in (reverse("finance:org_ledger", args=[book.org.pk]), reverse("finance:my_ledger"),
                reverse("finance:org_ledger_csv", args=[book.org.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_subaccount_user_sees_only_their_entries(client, book):
    client.force_login(book.sub_user)
    response = client.get(reverse("finance:my_ledger"))
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row.kind, row.amount, row.channel, row.subaccount) for row in rows] == [
        ("charge", D("-2.5"), "whatsapp", "Support")]
    assert rows[0].balance_after is None  # a shared subaccount must not reveal the master's balance
    content = response.content.decode()
    assert "792.50" not in content and "Balance after" not in content
    csv_response = client.get(reverse("finance:my_account_ledger_csv", args=[book.shared.pk]))
    lines = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert [(line["amount"], line["balance_after"]) for line in lines] == [("-2.500000", "")]
    assert client.get(reverse("finance:my_account_ledger_print", args=[book.shared.pk])).status_code == 200
    # nothing else: not the master, not the org, not another subaccount, not reports
    for url in (reverse("finance:account_ledger", args=[book.master.pk]),
                reverse("finance:account_ledger", args=[book.shared.pk]),
                reverse("finance:org_ledger", args=[book.org.pk]),
                reverse("finance:org_ledger_csv", args=[book.org.pk]),
                reverse("finance:reports", args=[book.org.pk]),
                reverse("finance:my_account_ledger", args=[book.own.pk]),
                reverse("finance:my_account_ledger", args=[book.master.pk])):
        assert client.get(url).status_code in (403, 404), url


def test_subaccount_user_last_30_days_only(client, book):
    book.own.owner = book.sub_user
    book.own.save(update_fields=["owner"])
    client.force_login(book.sub_user)
    response = client.get(reverse("finance:my_account_ledger", args=[book.own.pk]))
    # the grant (45 days ago) and the transfer (35) are older than 30 days; the expiry and the email charge are not
    assert entries(response) == [("charge", D("-1"), D("199")), ("expiry", D("-30"), D("200"))]
    assert summary(response)["opening"] == D("230") and summary(response)["closing"] == D("199")
    # a date filter cannot reach further back
    response = client.get(reverse("finance:my_account_ledger", args=[book.own.pk]),
                          {"date_from": book.day(60).isoformat()})
    assert len(response.context["rows"]) == 2


def test_org_admin_sees_own_org_only(client, book, org_admin):
    client.force_login(org_admin)
    assert client.get(reverse("finance:org_ledger", args=[book.org.pk])).status_code == 200
    assert client.get(reverse("finance:account_ledger", args=[book.own.pk])).status_code == 200
    other = make_org(name="Other")
    for url in (reverse("finance:org_ledger", args=[other.pk]), reverse("finance:reports", args=[other.pk]),
                reverse("finance:account_ledger", args=[other.master_account.pk]),
                reverse("finance:org_ledger_csv", args=[other.pk])):
        assert client.get(url).status_code == 404
    response = client.get(reverse("finance:index"))
    assert [org.name for org in response.context["page"]] == ["Acme"]


def test_ledger_needs_view_permission_and_csv_needs_export(client, book):
    admin_without_perms = UserFactory(username="plain")
    book.org.admins.add(admin_without_perms)
    client.force_login(admin_without_perms)
    assert client.get(reverse("finance:org_ledger", args=[book.org.pk])).status_code == 404
    viewer = UserFactory(username="viewer")
    from .conftest import ledger_permissions

    viewer.user_permissions.add(*ledger_permissions("view_ledger"))
    book.org.admins.add(viewer)
    client.force_login(viewer)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]))
    assert response.status_code == 200 and "Download CSV" not in response.content.decode()
    assert client.get(reverse("finance:org_ledger_csv", args=[book.org.pk])).status_code == 403
    assert client.get(reverse("finance:usage_csv", args=[book.org.pk])).status_code == 403


def test_finance_cannot_change_anything(client, book, finance_user):
    client.force_login(finance_user)
    counts = (Transaction.objects.count(), Posting.objects.count())
    urls = [reverse(name, args=[book.org.pk]) for name in
            ("finance:org_ledger", "finance:org_ledger_csv", "finance:org_ledger_print", "finance:reports",
             "finance:usage_csv", "finance:topups_csv")]
    urls += [reverse(name, args=[book.master.pk]) for name in
             ("finance:account_ledger", "finance:account_ledger_csv", "finance:account_ledger_print")]
    urls += [reverse("finance:index")]
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        if not page.streaming:
            content = page.content.decode()
            if 'id="content-main"' in content:  # the page body, not the admin header's log-out form
                content = content.split('id="content-main"', 1)[1].split("<!-- END Content -->", 1)[0]
            assert 'method="post"' not in content.lower(), url
            assert "/change/" not in content and "/add/" not in content and "/delete/" not in content, url
        for method in (client.post, client.put, client.patch, client.delete):
            assert method(url, {"amount": "100"}).status_code == 405, (method, url)
    assert (Transaction.objects.count(), Posting.objects.count()) == counts
    book.master.refresh_from_db()
    assert book.master.balance == D("742.5")


def test_finance_index_search(client, book, finance_user):
    make_org(name="Zeta")
    client.force_login(finance_user)
    response = client.get(reverse("finance:index"))
    assert [org.name for org in response.context["page"]] == ["Acme", "Zeta"]
    response = client.get(reverse("finance:index"), {"q": book.org.wallet_id})
    assert [org.name for org in response.context["page"]] == ["Acme"]
    response = client.get(reverse("finance:index"), {"q": str(book.org.pk)})
    assert [org.name for org in response.context["page"]] == ["Acme"]
