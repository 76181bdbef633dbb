"""Every admin change form validates like its add form: invalid values posted to each field of every change form
come back as form errors (200), never a 500, and nothing is saved."""

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

pytestmark = pytest.mark.django_db

NO_SUCH_PK = "00000000-0000-0000-0000-000000000000"
SPECIAL = {"timezone": "Mars/Base", "throttle_rate": "fast", "recipients": "not-an-email"}


def baseline(form) -> dict:
    """The form's current values as a browser would post them."""
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = field.prepare_value(form[name].value())
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for index, part in enumerate(parts):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    return data


def invalid_value(name: str, field: forms.Field):
    """A value the field (or its model field) must refuse, or None when every value is valid."""
    if name in SPECIAL:
        return SPECIAL[name]
    if isinstance(field, forms.ModelMultipleChoiceField):
        return [NO_SUCH_PK]
    if isinstance(field, forms.ModelChoiceField):
        return NO_SUCH_PK
    if isinstance(field, forms.MultipleChoiceField):
        return ["definitely-not-a-choice"]
    if isinstance(field, forms.ChoiceField):
        return "definitely-not-a-choice"
    if isinstance(field, forms.DecimalField):
        return "12.3.4"
    if isinstance(field, forms.IntegerField):
        return "many"
    if isinstance(field, forms.EmailField):
        return "not-an-email"
    if isinstance(field, forms.URLField):
        return "not a url"
    if isinstance(field, forms.JSONField):
        return "{not json"
    if isinstance(field, forms.DateField | forms.DateTimeField | forms.SplitDateTimeField):
        return "2026-13-45"
    if isinstance(field, forms.CharField) and field.max_length:
        return "x" * (field.max_length + 1)
    return None


def change_forms(world):
    """(url, model) of every registered change form the superuser may edit, for one object each."""
    for model, model_admin in admin.site._registry.items():
        obj = world.orgs[0] if model._meta.model_name == "organization" else model._default_manager.order_by(
            "pk").first()
        if obj is None:
            continue
        yield reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]), model, obj


def test_invalid_values_posted_to_every_admin_change_form_are_form_errors(client, world):
    client.force_login(world.users["superuser"])
    checked, fields_checked = [], 0
    for url, model, obj in change_forms(world):
        page = client.get(url)
        assert page.status_code == 200, url
        form = page.context["adminform"].form
        if not form.fields or not page.context["has_change_permission"]:
            continue  # a read-only page: nothing to post
        data = baseline(form)
        checked.append(model._meta.label)
        for name, field in form.fields.items():
            bad = invalid_value(name, field)
            if field.disabled or bad is None:
                continue
            posted = {**data}
            if isinstance(field.widget, forms.MultiWidget):
                posted.update({key: bad for key in posted if key.startswith(f"{name}_")})
            else:
                posted[name] = bad
            response = client.post(url, posted)
            assert response.status_code == 200, (url, name, response.status_code)  # not saved, not a 500
            errors = response.context["adminform"].form.errors
            assert name in errors or "__all__" in errors, (url, name, bad)
            fields_checked += 1
        before = model._default_manager.get(pk=obj.pk)
        assert [getattr(before, f.attname) for f in model._meta.concrete_fields] == \
            [getattr(obj, f.attname) for f in model._meta.concrete_fields] or model._meta.model_name == "user", url
    assert {"ledger.Organization", "ledger.Account", "alerts.AlertSettings", "alerts.AccountThreshold",
            "alerts.WebhookEndpoint", "apiauth.ServiceToken", "auth.User", "auth.Group"} <= set(checked)
    assert fields_checked >= 25


def test_the_org_timezone_error_is_the_one_the_add_form_gives(client, world):
    client.force_login(world.users["superuser"])
    add = client.post(reverse("admin:ledger_organization_add"), {
        "name": "Mars Co", "currency": "USD", "timezone": "Mars/Base", "payment_scheme": "prepaid"})
    org = world.orgs[0]
    change = client.post(reverse("admin:ledger_organization_change", args=[org.pk]), {
        "name": org.name, "timezone": "Mars/Base", "payment_scheme": org.payment_scheme})
    assert add.status_code == change.status_code == 200
    assert add.context["adminform"].form.errors["timezone"] == change.context["adminform"].form.errors["timezone"]


@pytest.mark.parametrize("crafted", ["not-a-key", "12.5", NO_SUCH_PK, "-1"])
def test_a_crafted_value_in_any_autocomplete_is_a_form_error(client, world, crafted):
    """Django's autocomplete widget looks posted values up to show them again: an unreadable key (text for
    an integer or UUID key) raised in the template, a 500 instead of the form with its error."""
    client.force_login(world.users["superuser"])
    request = RequestFactory().get("/")
    request.user = world.users["superuser"]
    checked = []
    for url, model, _obj in change_forms(world):
        model_admin = admin.site._registry[model]
        fields = model_admin.get_autocomplete_fields(request)
        if not fields:
            continue
        data = baseline(client.get(url).context["adminform"].form)
        for name in fields:
            response = client.post(url, {**data, name: [crafted]})
            assert response.status_code == 200, (url, name, crafted)
            assert name in response.context["adminform"].form.errors, (url, name, crafted)
            checked.append((model._meta.label, name))
    assert {("ledger.Organization", "admins"), ("apiauth.ServiceToken", "organizations")} <= set(checked)
