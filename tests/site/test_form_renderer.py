"""The form renderer's templates written in Python (creditsite/formrenderer.py) give Django's own strings: every
widget and label that every admin and finance page draws, as each role, forms with errors, and generated
widgets with awkward attributes, values and labels."""

import collections
import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from hypothesis import given, settings
from hypothesis import strategies as st

from creditsite.formrenderer import WRITERS, Fallback, FormRenderer
from tests.site.test_every_page import admin_urls, finance_urls_of


@pytest.fixture
def compared(monkeypatch):
    """Every rendering through the project's renderer also made by Django's templates, and the two compared."""
    counts = collections.Counter()

    def render(self, template_name, context, request=None):
        djangos = DjangoTemplates.render(self, template_name, context, request)
        write = self.writers.get(template_name)
        if write is not None:
            try:
                ours = write(context).strip()
            except Fallback:
                counts["fallback"] += 1
            else:
                assert ours == djangos, template_name
                counts[template_name] += 1
        return djangos

    monkeypatch.setattr(FormRenderer, "render", render)
    return counts


def test_the_project_renders_forms_with_it_and_writes_every_template_it_knows():
    renderer = get_default_renderer()
    assert isinstance(renderer, FormRenderer)
    assert set(renderer.writers) == set(WRITERS)  # Django's own templates are the ones found


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["superuser", "finance", "org_admin", "subaccount"])
def test_every_widget_and_label_of_every_page_is_djangos_string(client, world, role, compared):
    client.force_login(world.users[role])
    for url in admin_urls(world) + finance_urls_of(world):
        client.get(url)
    assert compared["django/forms/label.html"] >= {"superuser": 200, "finance": 50, "org_admin": 50, "subaccount": 3}[role]
    if role != "subaccount":  # a subaccount user's pages have no select
        assert compared["django/forms/widgets/select.html"] >= {"superuser": 50, "finance": 5, "org_admin": 5}[role]
    if role == "superuser":
        for name in ("text", "number", "checkbox", "select", "textarea", "hidden"):
            assert compared[f"django/forms/widgets/{name}.html"] >= 1, name


@pytest.mark.django_db
def test_forms_with_errors_and_posted_values_are_djangos_string(client, world, compared):
    client.force_login(world.users["superuser"])
    org = world.orgs[0]
    client.post(reverse("admin:ledger_organization_change", args=[org.pk]),
                {"name": '<b>"Acme" & co</b>', "timezone": "Mars/Base", "payment_scheme": "prepaid",
                 "spending_floor": "abc", "transfer_conditions": "<script>x</script>\n  two lines"})
    client.post(reverse("admin:ledger_organization_add-credits", args=[org.pk]),
                {"amount": "-1", "comment": "' onmouseover='x", "expiry": "nope"})
    client.get(reverse("finance:org_ledger", args=[org.pk]) + "?kind=nope&date_from=2026-13-01&channel=%3Cb%3E")
    assert sum(count for name, count in compared.items() if name != "fallback") >= 20


ATTRIBUTE_NAMES = st.sampled_from(["class", "id", "placeholder", "data-x", "required", "disabled", "maxlength",
                                   "step", "aria-describedby", "a\"b"])
lazy_text = lazy(str, str)
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.sampled_from([mark_safe("<b>safe</b>"), "<i>&amp;\"'</i>", (1, 2), "", " padded ", 0, 1]),
    st.text(max_size=8).map(lazy_text), st.dates(), st.datetimes(timezones=st.just(datetime.UTC)),
    st.just(lambda: "called"),
)
WIDGETS = [forms.TextInput, forms.NumberInput, forms.EmailInput, forms.HiddenInput, forms.CheckboxInput,
           forms.DateInput, forms.Textarea, forms.URLInput, forms.SearchInput, forms.TelInput, forms.ColorInput,
           lambda: forms.PasswordInput(render_value=True)]


def both(template_name, context) -> tuple[str, str]:
    return FormRenderer().render(template_name, context), DjangoTemplates().render(template_name, context)


@settings(max_examples=300, deadline=None)
@given(widget=st.sampled_from(WIDGETS), value=VALUES, attrs=st.dictionaries(ATTRIBUTE_NAMES, VALUES, max_size=4))
def test_generated_inputs_and_textareas_are_djangos_string(widget, value, attrs):
    widget = widget()
    context = widget.get_context("field", value, attrs)
    ours, djangos = both(widget.template_name, context)
    assert ours == djangos


CHOICES = st.lists(st.tuples(VALUES, VALUES), max_size=4)


@settings(max_examples=200, deadline=None)
@given(choices=st.lists(st.one_of(st.tuples(VALUES, VALUES), st.tuples(st.text(max_size=6), CHOICES)), max_size=5),
       value=st.one_of(VALUES, st.lists(VALUES, max_size=3)), multiple=st.booleans(),
       attrs=st.dictionaries(ATTRIBUTE_NAMES, VALUES, max_size=3))
def test_generated_selects_with_groups_are_djangos_string(choices, value, multiple, attrs):
    widget = (forms.SelectMultiple if multiple else forms.Select)(choices=choices)
    try:
        context = widget.get_context("field", value, attrs)
    except TypeError:  # a value Django itself cannot compare with the choices
        return
    ours, djangos = both(widget.template_name, context)
    assert ours == djangos


@settings(max_examples=200, deadline=None)
@given(label=VALUES, use_tag=st.booleans(), tag=st.sampled_from(["label", "legend"]),
       attrs=st.dictionaries(ATTRIBUTE_NAMES, VALUES, max_size=3))
def test_generated_labels_are_djangos_string(label, use_tag, tag, attrs):
    context = {"field": None, "label": label, "attrs": attrs, "use_tag": use_tag, "tag": tag}
    ours, djangos = both("django/forms/label.html", context)
    assert ours == djangos


def test_what_the_template_language_would_treat_differently_goes_to_the_template():
    renderer = FormRenderer()
    for attrs in ({"items": [("data-shadowed", "yes")]}, {"data-fn": lambda: "called"}):
        context = forms.TextInput().get_context("field", "x", attrs)
        with pytest.raises(Fallback):
            renderer.writers["django/forms/widgets/text.html"](context)
        ours = renderer.render("django/forms/widgets/text.html", context)
        assert ours == DjangoTemplates().render("django/forms/widgets/text.html", context)
        assert 'data-shadowed="yes"' in ours or 'data-fn="called"' in ours
    custom = forms.Select(choices=[("a", "A")])
    custom.option_template_name = "django/forms/widgets/radio_option.html"
    context = custom.get_context("field", "a", {})
    assert renderer.render(custom.template_name, context) == DjangoTemplates().render(custom.template_name, context)
