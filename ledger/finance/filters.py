"""Ledger filters (django-filter): date range in the org's timezone, entry kind, channel, subaccount."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms

from ledger.models import Account
from ratecards.models import Channel

from .selectors import ENTRY_KINDS, LedgerScope, apply_entry_filters


def local_midnight(day, tz) -> datetime:
    """The instant a local calendar day starts in a timezone."""
    return datetime.combine(day, time.min, tzinfo=tz)


class LedgerFilterForm(forms.Form):
    """Refuses a date range that ends before it starts."""

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date must not be before the start date.")
        return data


class LedgerFilter(django_filters.FilterSet):
    """Validates the query string; the filtering itself is `selectors.apply_entry_filters` (index-aware)."""

    date_from = django_filters.DateFilter(label="From", method="_noop",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label="To (inclusive)", method="_noop",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    # method filters have no model field to take a label from: without one django-filter shows "[invalid name]"
    kind = django_filters.ChoiceFilter(label="Kind", choices=ENTRY_KINDS, method="_noop", empty_label="All kinds")
    channel = django_filters.ChoiceFilter(label="Channel", method="_noop", empty_label="All channels")
    subaccount = django_filters.ModelChoiceFilter(label="Subaccount", queryset=Account.objects.none(),
                                                  method="_noop", empty_label="All subaccounts")

    class Meta:
        form = LedgerFilterForm

    def __init__(self, data=None, *, scope: LedgerScope, **kwargs):
        self.scope = scope
        super().__init__(data, queryset=scope.postings(), **kwargs)
        self.filters["channel"].extra["choices"] = Channel.choices
        subaccounts = scope.organization.accounts.filter(is_master=False).order_by("name")
        if (scope.account is not None and not scope.account.is_master) or not subaccounts.exists():
            # a subaccount's own page, or an org without subaccounts: nothing to narrow, so no empty select
            self.filters.pop("subaccount")
        else:
            self.filters["subaccount"].queryset = subaccounts

    @property
    def form(self):
        """The form, its subaccount choices read once as a list (a ModelChoiceIterator reads them through a
        server-side cursor each time the select renders)."""
        if not hasattr(self, "_form"):
            form = super().form
            field = form.fields.get("subaccount")
            if field is not None:
                field.widget.choices = [("", field.empty_label),
                                        *((str(account.pk), field.label_from_instance(account))
                                          for account in field.queryset)]
            return form
        return self._form

    def _noop(self, queryset, name, value):
        return queryset

    def clean_values(self) -> dict:
        """The validated filters, with the date range turned into [start, end) instants in the org's timezone."""
        data = self.form.cleaned_data if self.is_valid() else {}
        tz = self.scope.organization.tz
        date_from, date_to = data.get("date_from"), data.get("date_to")
        return {
            "start": local_midnight(date_from, tz) if date_from else None,
            "end": local_midnight(date_to + timedelta(days=1), tz) if date_to else None,
            "kind": data.get("kind") or "",
            "channel": data.get("channel") or "",
            "subaccount": data.get("subaccount"),
        }

    @property
    def narrowed(self) -> bool:
        """Whether kind, channel or subaccount filters leave some of the range's entries out."""
        values = self.clean_values()
        return bool(values["kind"] or values["channel"] or values["subaccount"])

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            self._qs = apply_entry_filters(self.scope, self.scope.postings(), **self.clean_values())
        return self._qs
