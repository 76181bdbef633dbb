"""Rate card changes on the org activity timeline (ledger.activity): versions created, started, cancelled."""

from django.urls import reverse

from ledger.activity import HistorySource
from ledger.times import local_time

from .models import RateCardVersion, VersionStatus


class RateCardSource(HistorySource):
    """Every saved state of an org's rate card versions, with who and why."""

    name = "rate_card"
    label = "Rate cards"
    kind_label = "Rate card"
    model = RateCardVersion

    def subject(self, record, organization):
        return f"v{record.number}"

    def describe(self, record, changes, organization):
        starts = local_time(record.effective_from, organization)
        if record.history_type == "+":
            if record.status == VersionStatus.CURRENT:
                return f"created, in force since {starts}"
            return f"created, takes effect {starts}"
        if record.status == VersionStatus.CANCELLED:
            return f"cancelled (was to take effect {starts})"
        if record.status == VersionStatus.CURRENT:
            return f"in force since {starts}"
        if record.status == VersionStatus.SUPERSEDED:
            return "superseded"
        return super().describe(record, changes, organization)

    def url(self, record, organization):
        return reverse("admin:ratecards_ratecardversion_organization", args=[organization.pk])
