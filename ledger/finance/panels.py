"""Panels other apps add to the finance landing page, by slot.

The landing page reserves the `pending_topups` slot for the payments app: until that app registers a
panel there, the page says so. An app fills a slot in its AppConfig.ready:

    landing_panels.register(LandingPanel(slot="pending_topups", title="Pending top-ups",
                                         template="payments/_pending_topups.html", context=pending_topups))

`context(user, organizations)` returns the template's context for the orgs the user may see.
"""

from collections.abc import Callable
from dataclasses import dataclass

PENDING_TOPUPS = "pending_topups"
RESERVED_SLOTS = {
    PENDING_TOPUPS: ("Pending top-ups", "Top-ups waiting for their payment appear here once the payments app is "
                                        "installed (it fills the `pending_topups` slot of ledger.finance.panels)."),
}


@dataclass(frozen=True)
class LandingPanel:
    slot: str
    title: str
    template: str
    context: Callable


class LandingPanels:
    def __init__(self):
        self._panels: dict[str, LandingPanel] = {}

    def register(self, panel: LandingPanel) -> LandingPanel:
        self._panels[panel.slot] = panel
        return panel

    def render_list(self, user, organizations) -> list[dict]:
        """Each reserved slot (filled or not) and every other registered panel, ready for the template."""
        items = []
        for slot in [*RESERVED_SLOTS, *[name for name in self._panels if name not in RESERVED_SLOTS]]:
            panel = self._panels.get(slot)
            if panel is None:
                title, placeholder = RESERVED_SLOTS[slot]
                items.append({"slot": slot, "title": title, "placeholder": placeholder})
            else:
                items.append({"slot": slot, "title": panel.title, "template": panel.template,
                              "context": panel.context(user, organizations)})
        return items


landing_panels = LandingPanels()
