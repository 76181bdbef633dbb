"""Forms of the finance pages: the balance-as-of instant, the reports' date range and the timeline filters."""

from django import forms
from django.utils import timezone


class AsOfForm(forms.Form):
    """An instant in the org's local time; the page shows the balance as of it."""

    as_of = forms.DateTimeField(required=False, label="Balance as of",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                               "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"])

    def __init__(self, *args, tz, **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        if value is None:
            return None
        # Django reads a naive input in the current (UTC) timezone: re-read the wall time in the org's.
        naive = timezone.make_naive(value, timezone.get_current_timezone()) if timezone.is_aware(value) else value
        return naive.replace(tzinfo=self.tz)


class ReportRangeForm(forms.Form):
    """A date range in the org's local calendar (default: the last twelve months)."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date must not be before the start date.")
        return data


class ActivityFilterForm(ReportRangeForm):
    """The activity timeline's filters: which sources, a local date range and who acted."""

    source = forms.MultipleChoiceField(label="Show", required=False, widget=forms.CheckboxSelectMultiple,
                                       help_text="None ticked: everything.")
    actor = forms.CharField(label="Who", required=False, max_length=100,
                            widget=forms.TextInput(attrs={"placeholder": "user or service"}))

    def __init__(self, *args, sources: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = sources


class CrossOrgReportForm(ReportRangeForm):
    """A cross-org report's filters: a date range (UTC days), one currency and an org search."""

    currency = forms.ChoiceField(label="Currency", required=False)
    q = forms.CharField(label="Organization", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "name, UUID or wallet ID"}))

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(code, code) for code in currencies]
