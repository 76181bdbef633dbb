"""The admin's app list rendered in Python (ledger/templatetags/admin_nav.py) gives the HTML of Django's own
admin/app_list.html, but for whitespace between tags: every user, page and kind of list."""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.template import engines

pytestmark = pytest.mark.django_db

DJANGO_APP_LIST = Path(admin.__file__).parent / "templates" / "admin" / "app_list.html"


def normalized(html: str) -> str:
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


def both(context: dict) -> tuple[str, str]:
    engine = engines["django"]
    ours = engine.get_template("admin/app_list.html").render(context)
    django = engine.from_string(DJANGO_APP_LIST.read_text()).render(context)
    return normalized(ours), normalized(django)


@pytest.mark.parametrize("who", ["admin_user", "staff_user", "finance_user", "org_admin_user"])
@pytest.mark.parametrize("path", ["/admin/", "/admin/ledger/", "/admin/ledger/organization/",
                                  "/admin/ratecards/ratecardversion/7/change/", "/finance/"])
@pytest.mark.parametrize("show_changelinks", [True, False])
def test_the_app_list_is_djangos_html(rf, request, who, path, show_changelinks):
    http = rf.get(path)
    http.user = request.getfixturevalue(who)
    context = {"app_list": admin.site.get_app_list(http), "show_changelinks": show_changelinks, "request": http}
    ours, django = both(context)
    assert ours == django
    assert "admin_nav" in engines["django"].get_template("admin/app_list.html").template.source  # the override


def test_the_current_model_and_escaping_are_djangos_too(rf):
    http = rf.get("/admin/x/thing/")
    apps = [{"app_label": "x<y", "name": "R&D <b>", "app_url": "/admin/x/", "models": [
        {"object_name": "Thing", "name": 'Th"ings', "admin_url": "/admin/x/thing/", "add_url": "/admin/x/thing/add/?a=1&b=2",
         "view_only": True},
        {"object_name": "Other", "name": "Others", "admin_url": None, "add_url": None, "view_only": False},
    ]}]
    for show in (True, False):
        ours, django = both({"app_list": apps, "show_changelinks": show, "request": http})
        assert ours == django
        assert "current-model" in ours and 'aria-current="page"' in ours and "&amp;b=2" in ours


def test_an_empty_app_list_says_so_as_django_does(rf):
    ours, django = both({"app_list": [], "request": rf.get("/admin/")})
    assert ours == django and "permission" in ours
