"""What a reader of the finance pages sees: labelled filters, styled breadcrumbs, readable channels, prices, counts."""

import re

from django.urls import reverse


def test_ledger_filters_have_labels_not_invalid_name(client, book, finance_user):
    client.force_login(finance_user)
    content = client.get(reverse("finance:org_ledger", args=[book.org.pk])).content.decode()
    assert "[invalid name]" not in content
    for field, label in (("kind", "Kind"), ("channel", "Channel"), ("subaccount", "Subaccount")):
        assert re.search(rf'<label for="id_{field}">{label}:</label>', content), field


def test_a_subaccount_ledger_shows_no_empty_subaccount_filter(client, book, finance_user):
    client.force_login(finance_user)
    content = client.get(reverse("finance:account_ledger", args=[book.own.pk])).content.decode()
    assert 'name="subaccount"' not in content
    assert 'name="kind"' in content
    master = client.get(reverse("finance:account_ledger", args=[book.master.pk])).content.decode()
    assert 'name="subaccount"' in master and "Acme / Marketing</option>" in master


def test_finance_breadcrumbs_use_the_admin_markup(client, book, finance_user):
    client.force_login(finance_user)
    for url in (reverse("finance:index"), reverse("finance:org_ledger", args=[book.org.pk]),
                reverse("finance:reports", args=[book.org.pk])):
        content = client.get(url).content.decode()
        assert '<ol class="breadcrumbs">' in content, url
        assert '<div class="breadcrumbs">' not in content, url


def test_entries_show_channel_labels_and_unit_prices_as_rates(client, book, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("finance:org_ledger", args=[book.org.pk]))
    rows = re.findall(r'<tr class="entry entry-charge".*?</tr>', response.content.decode(), re.S)
    whatsapp = next(row for row in rows if "WhatsApp" in row)
    assert '<dd class="category">Marketing</dd>' in whatsapp  # the category label, not the code
    assert '<dd class="rate unit-price">₹1.25</dd>' in whatsapp  # not 1.250000
    assert any('<span class="channel">SMS</span>' in row and '<dd class="rate unit-price">₹0.50</dd>' in row
               for row in rows)
    assert "<th>Details</th>" in response.content.decode()  # the rest of an entry opens on click


def test_reports_format_counts_and_label_channels(client, book, finance_user):
    from ledger import services

    services.charge_create(actor=services.SYSTEM, account=book.master, channel="email", quantity=12345,
                           unit_price="0.001")
    client.force_login(finance_user)
    content = client.get(reverse("finance:reports", args=[book.org.pk])).content.decode()
    channels = re.search(r'<table class="finance-table" id="usage-by-channel">.*?</table>', content, re.S).group(0)
    assert "<td>Email</td>" in channels and "<td>WhatsApp</td>" in channels and "<td>whatsapp</td>" not in channels
    assert "12,349" in channels  # 12345 + 4 emails, with a thousands separator


def test_reports_without_usage_say_so_in_every_table(client, db, finance_user):
    from tests.factories import make_org

    org = make_org(name="Quiet")
    client.force_login(finance_user)
    content = client.get(reverse("finance:reports", args=[org.pk])).content.decode()
    for table in ("usage-by-channel", "usage-by-country", "usage-by-category", "usage-by-month"):
        body = re.search(rf'id="{table}">.*?</table>', content, re.S).group(0)
        assert "No usage." in body, table


def test_the_entries_table_escapes_what_callers_wrote_and_keeps_its_columns(client, book, finance_user):
    from ledger import services

    services.charge_create(actor=services.SYSTEM, account=book.shared, channel="email", quantity=3,
                           unit_price="0.001", reference='<img src=x onerror="alert(1)"> & co')
    client.force_login(finance_user)
    for url, columns in ((reverse("finance:account_ledger", args=[book.master.pk]), ["Balance after"]),
                         (reverse("finance:org_ledger", args=[book.org.pk]), ["Balance after", "Account"]),
                         (reverse("finance:account_ledger", args=[book.shared.pk]), []),  # attributed: no balance
                         (reverse("finance:account_ledger_print", args=[book.master.pk]), ["Balance after"])):
        content = client.get(url).content.decode()
        table = re.search(r'<table class="finance-table entries-table".*?</table>', content, re.S).group(0)
        assert "<img" not in table and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in table, url
        heads = re.findall(r"<th[^>]*>(.*?)</th>", table)
        assert heads == ["Date", "Kind", "Amount", *columns, "By", "Reference", "Details"], url
        first = re.search(r'<tr class="entry entry-charge" data-posting="\d+">(.*?)</tr>', table, re.S).group(1)
        assert len(re.findall(r"<td[ >]", first)) == len(heads), url  # every row has the heading's columns
        assert '<dt>Quantity</dt><dd class="quantity">3</dd>' in first and "<dt>Ledger entry</dt><dd>#" in first


def test_an_empty_page_says_so(client, book, finance_user):
    client.force_login(finance_user)
    content = client.get(reverse("finance:account_ledger", args=[book.master.pk]) + "?kind=expiry").content.decode()
    assert '<tr><td colspan="8">No entries match these filters.</td></tr>' in content
