"""The admin's app list rendered in Python (ledger/templatetags/admin_nav.py) gives the HTML of Django's own
admin/app_list.html, but for whitespace between tags: every user, page and kind of list. The list itself is kept
per permission set (ops.security.CreditsAdminSite) and must always be the one Django builds."""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group, Permission
from django.template import engines

from ledger import selectors

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


def djangos_app_list(http) -> list:
    """The app list as Django builds it, page by page (the kept list must always equal it)."""
    return AdminSite.get_app_list(admin.site, http)


@pytest.mark.parametrize("who", ["admin_user", "staff_user", "finance_user", "org_admin_user"])
def test_the_kept_app_list_is_the_one_django_builds(rf, request, who):
    user = request.getfixturevalue(who)
    for _ in range(2):  # built, then kept
        http = rf.get("/admin/")
        http.user = type(user).objects.get(pk=user.pk)  # each request loads its user afresh
        assert admin.site.get_app_list(http) == djangos_app_list(http)


def test_a_new_permission_or_role_shows_at_once(rf, staff_user):
    def app_list():
        http = rf.get("/admin/")
        http.user = type(staff_user).objects.get(pk=staff_user.pk)
        return admin.site.get_app_list(http), http

    def models(app_list):
        return {model["object_name"] for app in app_list for model in app["models"]}

    before, _ = app_list()
    assert "Group" not in models(before)
    staff_user.user_permissions.add(Permission.objects.get(codename="view_group"))
    after, http = app_list()
    assert "Group" in models(after)
    assert after == djangos_app_list(http)
    staff_user.groups.set([Group.objects.get(name=selectors.ROLE_ORG_ADMIN)])
    as_org_admin, http = app_list()
    assert as_org_admin == djangos_app_list(http) and as_org_admin != after


def test_a_caller_changing_its_list_leaves_the_kept_one_alone(rf, admin_user):
    http = rf.get("/admin/")
    http.user = admin_user
    first = admin.site.get_app_list(http)
    first[0]["models"][0]["name"] = "Changed"
    first[0]["models"].clear()
    first.clear()
    assert admin.site.get_app_list(http) == djangos_app_list(http)
