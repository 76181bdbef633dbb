"""The fieldsets of the admin's change forms rendered in Python.

Django's admin/includes/fieldset.html decides each field's markup through some forty template nodes (is it
a checkbox, read-only, a group of inputs, alone on its line, with errors, with help): about 0.5 ms a field
before its widget is drawn, a sixth of the org dashboard with its settings form. `fieldset` writes the same
HTML (templates/admin/includes/fieldset.html calls it) from the same objects: the labels, widgets, errors and
read-only contents still come from Django's admin helpers; only the template's own decisions are made here.
tests/site/test_fieldsets.py compares it with Django's template for every admin form of the project, with
errors, read-only fields, inlines and every kind of field.
"""

from django import template
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe

register = template.Library()


def _attribute(field, name: str):
    """`field.field.<name>` as the template reads it: a bound field's attribute, or a read-only field's key."""
    value = field.field
    if isinstance(value, dict):
        return value.get(name, "")
    return getattr(value, name, "")


@register.simple_tag(takes_context=True)
def fieldset(context, fieldset) -> str:
    """The HTML of Django's admin/includes/fieldset.html for `fieldset` and the include's heading_level,
    prefix, id_prefix and id_suffix."""
    heading_id = (f'{esc(context.get("prefix", ""))}-{esc(context.get("id_prefix", ""))}'
                  f'-{esc(context.get("id_suffix", ""))}-heading')
    labelled = f' aria-labelledby="{heading_id}"' if fieldset.name else ""
    parts = [f'<fieldset class="module aligned {esc(fieldset.classes)}"{labelled}>']
    collapsible = bool(fieldset.name) and fieldset.is_collapsible
    if fieldset.name:
        level = esc(context.get("heading_level") or 2)
        parts.append(f'{"<details><summary>" if collapsible else ""}'
                     f'<h{level} id="{heading_id}" class="fieldset-heading">{esc(fieldset.name)}</h{level}>'
                     f'{"</summary>" if collapsible else ""}')
    if fieldset.description:
        parts.append(f'<div class="description">{fieldset.description}</div>')
    for line in fieldset:
        parts.append(_line(line))
    parts.append(f'{"</details>" if collapsible else ""}</fieldset>')
    return mark_safe("\n".join(parts))  # noqa: S308 - every value above is escaped, or safe as the template has it


def _line(line) -> str:
    fields = list(line)
    alone = len(line.fields) == 1
    names = "".join(f" field-{esc(name)}" for field in fields if (name := _attribute(field, "name")))
    parts = [f'<div class="form-row{"" if alone else " flex-container form-multiline"}'
             f'{"" if line.has_visible_field else " hidden"}{names}">']
    line_errors = line.errors() if alone else ""
    for field in fields:
        is_fieldset = getattr(field, "is_fieldset", False)
        help_text = _attribute(field, "help_text")
        id_for_label = _attribute(field, "id_for_label")
        is_hidden = _attribute(field, "is_hidden")
        errors = "" if field.is_readonly else field.errors()
        if is_fieldset:
            described = f' aria-describedby="{esc(id_for_label)}_helptext"' if help_text else ""
            parts.append(f"<fieldset{described}>{esc(field.label_tag())}")
        classes = "flex-container"
        if (not field.is_readonly and errors) or line_errors:
            classes += " errors"
        if not alone:
            name = _attribute(field, "name")
            classes += f' fieldBox{f" field-{esc(name)}" if name else ""}{" hidden" if is_hidden else ""}'
        if field.is_checkbox:
            classes += " checkbox-row"
        parts.append(f'<div class="{classes}">')
        if field.is_checkbox:
            label = "" if is_fieldset else esc(field.label_tag())
            parts.append(f'<div class="checkbox">\n{esc(field.field)}\n{label}\n</div>')
        elif not is_fieldset:
            parts.append(esc(field.label_tag()))
        if help_text:
            ident = f' id="{esc(id_for_label)}_helptext"' if id_for_label else ""
            parts.append(f'<div class="help{" hidden" if is_hidden else ""}"{ident}><div>{help_text}</div></div>')
        if alone:
            parts.append(esc(line_errors))
        elif not field.is_readonly:
            parts.append(esc(errors))
        if not field.is_checkbox:
            parts.append(f'<div class="readonly">{esc(field.contents())}</div>' if field.is_readonly else esc(field.field))
        parts.append("</div></fieldset>" if is_fieldset else "</div>")
    parts.append("</div>")
    return "\n".join(parts)  # whitespace between tags as the template has it: a space between inline elements
