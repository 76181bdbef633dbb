"""The admin's fieldsets rendered in Python (ledger/templatetags/admin_forms.py) give the HTML of Django's own
admin/includes/fieldset.html, but for whitespace between tags: every add and change form of the project as
each role, forms with errors, inlines, and a form with every kind of field and line."""

import re
from pathlib import Path

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template import engines
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from ledger.models import Organization

pytestmark = pytest.mark.django_db

DJANGO_FIELDSET = Path(admin.__file__).parent / "templates" / "admin" / "includes" / "fieldset.html"


def normalized(html: str) -> str:
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


def both(fieldset, **include) -> tuple[str, str]:
    engine = engines["django"]
    context = {"fieldset": fieldset, **include}
    ours = engine.get_template("admin/includes/fieldset.html").render(context)
    django = engine.from_string(DJANGO_FIELDSET.read_text()).render(context)
    return normalized(ours), normalized(django)


def assert_fieldsets_match(response) -> int:
    """Every fieldset of an admin form page (and of its inlines) rendered both ways; how many were compared."""
    compared = 0
    for index, fieldset in enumerate(response.context["adminform"]):
        ours, django = both(fieldset, heading_level=2, prefix="fieldset", id_prefix=0, id_suffix=index)
        assert ours == django, response.request["PATH_INFO"]
        compared += 1
    for counter, formset in enumerate(response.context.get("inline_admin_formsets") or []):
        for form in formset:
            for index, fieldset in enumerate(form):
                ours, django = both(fieldset, heading_level=4, prefix=formset.formset.prefix, id_prefix=counter,
                                    id_suffix=index)
                assert ours == django, response.request["PATH_INFO"]
                compared += 1
    return compared


def admin_forms(world):
    """(add url or None, change url or None) of every registered model admin, with one object each."""
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        obj = world.orgs[0] if info[1] == "organization" else model._default_manager.order_by("pk").first()
        try:
            add = reverse("admin:{}_{}_add".format(*info))
        except NoReverseMatch:
            add = None
        yield add, reverse("admin:{}_{}_change".format(*info), args=[obj.pk]) if obj is not None else None


@pytest.mark.parametrize("role", ["superuser", "staff", "finance", "org_admin"])
def test_every_admin_form_renders_as_djangos_template_does(client, world, role):
    client.force_login(world.users[role])
    compared = 0
    for add, change in admin_forms(world):
        for url in filter(None, (add, change)):
            response = client.get(url)
            if response.status_code == 200 and response.context and "adminform" in response.context:
                compared += assert_fieldsets_match(response)
    assert compared >= (40 if role == "superuser" else 5)


def test_forms_with_errors_render_as_djangos_template_does(client, world):
    client.force_login(world.users["superuser"])
    org = world.orgs[0]
    bad = client.post(reverse("admin:ledger_organization_change", args=[org.pk]),
                      {"name": "", "timezone": "Mars/Base", "payment_scheme": "prepaid"})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors
    assert assert_fieldsets_match(bad) >= 3
    assert 'class="flex-container errors"' in bad.content.decode()
    added = client.post(reverse("admin:ledger_organization_add"), {"name": "X", "currency": "nope"})
    assert added.status_code == 200 and added.context["adminform"].form.errors
    assert assert_fieldsets_match(added) >= 1


class EveryKindForm(forms.ModelForm):
    """A checkbox, a group of radio buttons (a fieldset of its own), a hidden input, help texts, errors."""

    agree = forms.BooleanField(help_text="Tick <em>it</em>.")
    choice = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect, help_text="One.")
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(required=False, help_text="Free text & more.")

    class Meta:
        model = Organization
        fields = ["name", "timezone"]


@pytest.mark.parametrize("data", [None, {"name": "", "choice": "z", "timezone": "UTC"}])
@pytest.mark.parametrize("classes", [(), ("collapse", "wide")])
def test_every_kind_of_field_and_line_renders_as_djangos_template_does(world, data, classes):
    form = EveryKindForm(data=data, instance=world.orgs[0])
    form.is_valid() if data is not None else None
    model_admin = admin.site._registry[Organization]
    lines = [("name", "timezone"), "agree", "choice", ("secret", "note"), "secret", "currency", ("wallet_id", "note")]
    request = RequestFactory().get("/")
    for name in ("Settings <b>", None):
        fieldset = helpers.Fieldset(form, name=name, fields=lines, readonly_fields=("currency", "wallet_id"),
                                    classes=classes, description="Read <a href='/docs'>the docs</a>.",
                                    model_admin=model_admin)
        for include in ({}, {"heading_level": 3, "prefix": "p&q", "id_prefix": 1, "id_suffix": 2}):
            ours, django = both(fieldset, request=request, **include)
            assert ours == django
            raw = engines["django"].get_template("admin/includes/fieldset.html").render(
                {"fieldset": fieldset, **include}, request)
            assert re.search(r'type="checkbox"[^>]*>\s+<label', raw)  # a space between a checkbox and its label
            assert "<legend" in ours and "checkbox-row" in ours and "fieldBox field-secret hidden" in ours
