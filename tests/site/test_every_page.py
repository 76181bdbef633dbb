"""Every admin and finance page as each role: amounts carry their currency symbol and no more than the
currency's minor digits (unit prices, marked `rate`, may have more); nothing answers 500."""

import re
from html.parser import HTMLParser

import pytest
from babel.numbers import get_currency_precision
from django.contrib import admin
from django.urls import URLPattern, reverse

from ledger.finance import urls as finance_urls
from ledger.models import BalanceMode

pytestmark = pytest.mark.django_db

SYMBOLS = {"₹": "INR", "$": "USD", "¥": "JPY", "€": "EUR", "£": "GBP"}
# Machine data shown as it is (JSON payloads), and unit prices, which keep the precision a rate needs.
SKIP_CLASSES = {"rate", "field-data", "field-payload", "field-response_body", "field-metadata"}
SKIP_TAGS = {"script", "style", "textarea"}
VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "use", "rect", "line", "polyline", "path",
        "circle"}
NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*\.\d+(?![\w.])")
NOT_MONEY = re.compile(r"^ (days?|%)")  # "about 2.3 days" of the runway alert


class VisibleText(HTMLParser):
    """The text a reader sees, without scripts, styles, textareas, machine data and unit prices."""

    def __init__(self):
        super().__init__()
        self.depth, self.skipping, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        self.depth += 1
        classes = set((dict(attrs).get("class") or "").split())
        if self.skipping or tag in SKIP_TAGS or classes & SKIP_CLASSES:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        self.depth -= 1
        if self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)

    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def money_problems(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    text = parser.text()
    problems = []
    for match in NUMBER.finditer(text):
        before, after = text[max(0, match.start() - 3):match.start()], text[match.end():match.end() + 6]
        if NOT_MONEY.match(after):
            continue
        symbol = next((s for s in SYMBOLS if before.endswith(s)), None)
        code = SYMBOLS.get(symbol) if symbol else (before if re.fullmatch(r"[A-Z]{3}", before) else None)
        context = text[max(0, match.start() - 40):match.end() + 20]
        if code is None:
            problems.append(f"no currency symbol: …{context}…")
        elif len(match.group(0).split(".")[1]) > get_currency_precision(code):
            problems.append(f"more than {code}'s minor digits: …{context}…")
    return problems


def admin_urls(world) -> list[str]:
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        objects = list(model._default_manager.order_by("pk")[:1]) if model._meta.model_name != "organization" \
            else world.orgs
        for obj in objects:
            urls.append(reverse(f"{info}_change", args=[obj.pk]))
            if hasattr(model_admin, "history_view"):
                urls.append(reverse(f"{info}_history", args=[obj.pk]))
    for org in world.orgs:
        for slug in ("add-credits", "remove-credits", "credit-limit", "transfer", "credit-management"):
            urls.append(reverse(f"admin:ledger_organization_{slug}", args=[org.pk]))
        urls.append(reverse("admin:ratecards_ratecardversion_organization", args=[org.pk]))
        record = org.history.first()
        urls.append(reverse("admin:ledger_organization_simple_history", args=[org.pk, record.history_id]))
    return urls


def finance_urls_of(world) -> list[str]:
    urls = []
    funds = [account for account in world.accounts if account.balance_mode == BalanceMode.OWN]
    for pattern in finance_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or pattern.name.endswith("_csv"):
            continue
        params = pattern.pattern.converters
        name = f"finance:{pattern.name}"
        if not params:
            urls.append(reverse(name))
        elif "org_id" in params:
            urls += [reverse(name, kwargs={"org_id": org.pk}) for org in world.orgs]
        elif "account_id" in params:
            urls += [reverse(name, kwargs={"account_id": account.pk}) for account in world.accounts
                     if account in funds or not pattern.name.startswith("my_")]
    return urls


@pytest.mark.parametrize("role", ["superuser", "staff", "finance", "org_admin", "subaccount"])
def test_every_page_shows_amounts_with_their_symbol_and_minor_digits(client, world, role):
    client.force_login(world.users[role])
    rendered, problems = 0, {}
    for url in admin_urls(world) + finance_urls_of(world):
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), (url, response.status_code)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        rendered += 1
        found = money_problems(response.content.decode())
        if found:
            problems[url] = found[:3]
    assert problems == {}, "\n".join(f"{url}: {found}" for url, found in problems.items())
    assert rendered >= {"superuser": 80, "staff": 60, "finance": 50, "org_admin": 25, "subaccount": 5}[role]


def test_the_check_catches_what_it_is_for():
    assert money_problems("<td>12200.8365</td>") == ["no currency symbol: …12200.8365…"]
    assert money_problems("<td>-$12,200.8365</td>")[0].startswith("more than USD's minor digits")
    assert money_problems("<td>¥1,234.50</td>")[0].startswith("more than JPY's minor digits")
    assert money_problems('<td>-$12,200.84</td><td class="num rate">0.0079</td><p>about 2.3 days</p>') == []
