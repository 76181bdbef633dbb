"""How admin pages show times and amounts: each row's times in its org's timezone, amounts in its currency.

`OrgTimezoneMixin` renders change and history pages in the object's org timezone (Django's own date
rendering follows the one format of ledger/times.py); `local_time_column` gives list columns the same.
`MoneyDisplayMixin` shows every amount field of a read-only page through the one money formatter (and
unit prices through `rate`) instead of Django's bare `1000.000000`.
"""

from django.contrib.admin.utils import unquote
from django.db.models import DecimalField
from django.utils import timezone

from ledger.money import money, rate
from ledger.times import local_time, zone_of

RATE_FIELDS = {"unit_price"}


def follow(obj, path: str):
    """The object at the end of a `a__b__c` path (None when a link is missing)."""
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def local_time_column(field: str, description: str, organization_path: str = "organization"):
    """A list column showing a row's time in its org's timezone, zone named (`2026-12-02 00:00 IST`)."""

    def column(self, obj):
        value = getattr(obj, field)
        return local_time(value, follow(obj, organization_path)) if value is not None else "—"

    column.short_description = description
    column.admin_order_field = field
    return column


def _rendered(response):
    return response.render() if hasattr(response, "render") and not response.is_rendered else response


class OrgTimezoneMixin:
    """Change and history pages rendered in the timezone of the object's org (`organization_path`)."""

    organization_path = "organization"

    def _zone(self, request, object_id):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        return zone_of(follow(obj, self.organization_path) if obj is not None else None)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with timezone.override(self._zone(request, object_id)):
            return _rendered(super().changeform_view(request, object_id, form_url, extra_context))

    def history_view(self, request, object_id, extra_context=None):
        with timezone.override(self._zone(request, object_id)):
            return _rendered(super().history_view(request, object_id, extra_context))


def _money_display(name: str, label: str, currency_path: str, formatter):
    def display(obj):
        value = getattr(obj, name)
        return "—" if value is None else formatter(value, follow(obj, currency_path))

    display.short_description = label
    display.__name__ = f"{name}_display"
    return display


class MoneyDisplayMixin:
    """On a view-only page, amount fields shown with the row's currency symbol and minor units (unit prices as
    rates); who may change the row still edits the plain number."""

    currency_path = "currency"

    def _money_fields(self) -> dict:
        if not hasattr(self, "_money_displays"):
            self._money_displays = {
                field.name: _money_display(field.name, field.verbose_name.capitalize(), self.currency_path,
                                           rate if field.name in RATE_FIELDS else money)
                for field in self.model._meta.get_fields()
                if isinstance(field, DecimalField) and field.decimal_places == 6
            }
        return self._money_displays

    def _swap(self, names):
        displays = self._money_fields()
        swapped = [displays.get(name, name) if isinstance(name, str) else name for name in names]
        return list(dict.fromkeys(swapped))

    def _view_only(self, request, obj) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return self._swap(fields) if self._view_only(request, obj) else fields

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if not self._view_only(request, obj):
            return readonly
        return [*self._swap(readonly), *self._money_fields().values()]
