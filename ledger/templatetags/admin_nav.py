"""The admin's app list (the index page and the navigation sidebar of every console page) rendered in Python.

Django's admin/app_list.html renders each model through a dozen template nodes and encodes the request
path three times per model: about 6 ms of every console page with this project's 30-odd models, an
eighth of the org dashboard. `app_list` writes the same HTML (templates/admin/app_list.html calls it);
tests/admin/test_app_list.py compares it with Django's own template for several users and pages.
"""

from urllib.parse import quote

from django import template
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag(takes_context=True)
def app_list(context) -> str:
    """The HTML of Django's admin/app_list.html for the context's app_list, show_changelinks and request."""
    apps = context.get("app_list")
    if not apps:
        return mark_safe(f"<p>{esc(gettext('You don’t have permission to view or edit anything.'))}</p>")  # noqa: S308
    request = context.get("request")
    path = quote(request.path) if request is not None else ""
    show_changelinks = context.get("show_changelinks")
    heads = (esc(gettext("Model name")), esc(gettext("Add link")), esc(gettext("Change or view list link")))
    add, view, change = esc(gettext("Add")), esc(gettext("View")), esc(gettext("Change"))
    parts = []
    for app in apps:
        label = esc(app["app_label"])
        current_app = " current-app" if app["app_url"] in path else ""
        parts.append(f'<div class="app-{label} module{current_app}"><table><caption>'
                     f'<a href="{esc(app["app_url"])}" class="section">{esc(app["name"])}</a></caption>'
                     f'<thead class="visually-hidden"><tr><th scope="col">{heads[0]}</th>'
                     f'<th scope="col">{heads[1]}</th><th scope="col">{heads[2]}</th></tr></thead>')
        for model in app["models"]:
            name = esc(model["object_name"].lower())
            admin_url = model.get("admin_url")
            here = bool(admin_url) and admin_url in path
            current = ' aria-current="page"' if here else ""
            described = f'aria-describedby="{label}-{name}"'
            parts.append(f'<tr class="model-{name}{" current-model" if here else ""}">'
                         f'<th scope="row" id="{label}-{name}">')
            if admin_url:
                parts.append(f'<a href="{esc(admin_url)}"{current}>{esc(model["name"])}</a>')
            else:
                parts.append(str(esc(model["name"])))
            parts.append("</th>")
            if model.get("add_url"):
                parts.append(f'<td><a href="{esc(model["add_url"])}" class="addlink" {described}>{add}</a></td>')
            else:
                parts.append("<td></td>")
            if admin_url and show_changelinks:
                kind, text = ("viewlink", view) if model.get("view_only") else ("changelink", change)
                parts.append(f'<td><a href="{esc(admin_url)}" class="{kind}" {described}>{text}</a></td>')
            elif show_changelinks:
                parts.append("<td></td>")
            parts.append("</tr>")
        parts.append("</table></div>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
