"""The org dashboard's deferred panels: the charts, the approvals waiting and the purchases.

The dashboard page renders the figures staff act on (balances, status, accounts, lots, latest entries, rate
card, settings) and a placeholder for each panel here; a few lines of script fetch each panel from
`<org>/panels/<name>/` once the page is shown, so the page does not wait for them. Without script (or with
`?panels=inline`), the page renders every panel in place. Both ways render the same template tags, defined
once below.
"""

from dataclasses import dataclass
from functools import cached_property

from django.template import engines
from django.urls import reverse

PANEL_HEADER = "X-Dashboard-Panel"  # the script accepts a fragment only with it (not a login page after a redirect)


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    source: str  # template text; context: organization (and the request's)

    @cached_property
    def template(self):
        return engines["django"].from_string(self.source)

    def render(self, request, organization) -> str:
        """The panel's HTML for this user and org (times in the timezone the caller made current)."""
        return self.template.render({"organization": organization}, request)


PANELS = [
    Panel("charts", "balance and usage charts", '{% include "finance/_org_charts.html" %}'),
    Panel("approvals", "approvals waiting", "{% load approvals_tags %}{% org_approvals organization %}"),
    Panel("purchases", "purchases", "{% load payments_tags %}{% org_purchases organization %}"),
]
PANELS_BY_NAME = {panel.name: panel for panel in PANELS}


def dashboard_panels(request, organization) -> list[dict]:
    """The panels of the org page: placeholders with their URLs, or rendered in place with `?panels=inline`."""
    inline = request.GET.get("panels") == "inline"
    return [{"name": panel.name, "title": panel.title,
             "url": reverse("admin:ledger_organization_panel", args=[organization.pk, panel.name]),
             "html": panel.render(request, organization) if inline else None}
            for panel in PANELS]
