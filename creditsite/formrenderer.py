"""The project's form renderer (FORM_RENDERER): Django's, with its commonest widget templates written in Python.

Django draws every widget and label through a template: an `<input>` costs an include of input.html and of
attrs.html, some 0.2 ms on a 2-core machine, and a label another 0.15 ms. The org dashboard's settings form
spent about 10 ms of its page there, a finance ledger page's filter form about 5 ms. For the templates below,
when they are Django's own (no installed app overrides them), `FormRenderer` writes the same string in
Python with the template language's own value rendering (`render_value_in_context`: localization and
escaping, `stringformat` keeping safe strings unescaped). Any other template, or a value the template
language would treat differently (a callable it would call, a dict key shadowing `items`, an option with its
own template), goes to Django's templates as before. tests/site/test_form_renderer.py renders every form of
the project, and generated widgets, both ways and compares the strings.
"""

from functools import cached_property
from pathlib import Path

import django.forms
from django.forms.renderers import DjangoTemplates
from django.template import TemplateDoesNotExist
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, mark_safe

DJANGO_FORM_TEMPLATES = Path(django.forms.__file__).parent / "templates"


class _TemplateContext:
    """What `render_value_in_context` reads of a template Context (a widget's context is a fresh one)."""

    use_tz = None
    use_l10n = None
    autoescape = True


_CONTEXT = _TemplateContext()


class Fallback(Exception):
    """The template language would render this context differently: use the template."""


def _check(value):
    if callable(value):  # the template language calls callables
        raise Fallback
    return value


def var(value) -> str:
    """`{{ value }}`."""
    return render_value_in_context(_check(value), _CONTEXT)


def as_string(value) -> str:
    """`{{ value|stringformat:'s' }}`: the filter keeps a safe input safe."""
    text = stringformat(_check(value), "s")
    return render_value_in_context(mark_safe(text) if isinstance(value, SafeData) else text, _CONTEXT)  # noqa: S308 - safe only if it was


def attributes(attrs: dict) -> str:
    """django/forms/widgets/attrs.html and django/forms/attrs.html."""
    if not isinstance(attrs, dict) or "items" in attrs:  # the template would read attrs["items"], not .items()
        raise Fallback
    return "".join(f" {var(name)}" if value is True else f' {var(name)}="{as_string(value)}"'
                   for name, value in attrs.items() if value is not False)


def _field(mapping: dict, key: str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise Fallback
    return _check(mapping[key])


def write_input(context) -> str:
    """django/forms/widgets/input.html (and text, number, email, ... which only include it)."""
    widget = _field(context, "widget")
    value = _field(widget, "value")
    shown = f' value="{as_string(value)}"' if value != None else ""  # noqa: E711 - the template's `!= None`
    return (f'<input type="{var(_field(widget, "type"))}" name="{var(_field(widget, "name"))}"{shown}'
            f'{attributes(_field(widget, "attrs"))}>')


def write_option(option: dict) -> str:
    """django/forms/widgets/select_option.html."""
    if _field(option, "template_name") != "django/forms/widgets/select_option.html":
        raise Fallback
    return (f'<option value="{as_string(_field(option, "value"))}"{attributes(_field(option, "attrs"))}>'
            f'{var(_field(option, "label"))}</option>')


def write_select(context) -> str:
    """django/forms/widgets/select.html."""
    widget = _field(context, "widget")
    parts = [f'<select name="{var(_field(widget, "name"))}"{attributes(_field(widget, "attrs"))}>']
    for group_name, group_choices, _index in _field(widget, "optgroups"):
        if _check(group_name):
            parts.append(f'\n  <optgroup label="{var(group_name)}">')
        parts.extend(f"\n  {write_option(option)}\n" for option in group_choices)  # the include keeps its newline
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def write_textarea(context) -> str:
    """django/forms/widgets/textarea.html."""
    widget = _field(context, "widget")
    value = _field(widget, "value")
    return (f'<textarea name="{var(_field(widget, "name"))}"{attributes(_field(widget, "attrs"))}>\n'
            f'{var(value) if value else ""}</textarea>')


def write_label(context) -> str:
    """django/forms/label.html."""
    label = var(_field(context, "label"))
    if not _field(context, "use_tag"):
        return label
    tag = var(_field(context, "tag"))
    return f"<{tag}{attributes(_field(context, 'attrs'))}>{label}</{tag}>"


INPUTS = ("input", "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search",
          "tel", "color", "checkbox")
WRITERS = {
    **{f"django/forms/widgets/{name}.html": write_input for name in INPUTS},
    "django/forms/widgets/select.html": write_select,
    "django/forms/widgets/textarea.html": write_textarea,
    "django/forms/label.html": write_label,
}
# Templates the written ones include: they must be Django's own too.
INCLUDED = ("django/forms/widgets/input.html", "django/forms/widgets/attrs.html",
            "django/forms/widgets/select_option.html", "django/forms/attrs.html")


class FormRenderer(DjangoTemplates):
    """Django's DjangoTemplates renderer; Django's own input, select, textarea and label templates written in Python."""

    @cached_property
    def writers(self) -> dict:
        """The writers whose templates (and what they include) resolve to Django's own files."""
        if not all(self._is_djangos(name) for name in INCLUDED):
            return {}
        return {name: write for name, write in WRITERS.items() if self._is_djangos(name)}

    def _is_djangos(self, template_name: str) -> bool:
        try:
            origin = Path(self.get_template(template_name).origin.name)
        except TemplateDoesNotExist:
            return False
        return origin == DJANGO_FORM_TEMPLATES / template_name

    def render(self, template_name, context, request=None):
        write = self.writers.get(template_name)
        if write is not None:
            try:
                return write(context).strip()  # as BaseRenderer.render strips a template's output
            except Fallback:
                pass
        return super().render(template_name, context, request)
