"""Alert setting changes on the org activity timeline (ledger.activity): the org's settings and account thresholds."""

from django.urls import reverse

from ledger.activity import HistorySource

from .models import AccountThreshold, AlertSettings


class AlertSettingsSource(HistorySource):
    """The org's alert settings: threshold, recipients, warning windows."""

    name = "alert_settings"
    label = "Alert settings"
    kind_label = "Alert settings"
    model = AlertSettings

    def field_value(self, record, field, value, organization):
        if field == "recipients":
            return ", ".join(value or []) or "the org admins"
        return super().field_value(record, field, value, organization)

    def url(self, record, organization):
        return reverse("admin:alerts_alertsettings_simple_history", args=[record.id, record.history_id])


class AccountThresholdSource(HistorySource):
    """Accounts' own low-credit thresholds (the others use the org's)."""

    name = "account_thresholds"
    label = "Account thresholds"
    kind_label = "Account threshold"
    model = AccountThreshold
    organization_lookup = "account__organization_id"
    related = ("account",)

    def subject(self, record, organization):
        return record.account.name if record.account_id else ""

    def describe(self, record, changes, organization):
        if record.history_type == "+":
            return f"own threshold set to {self.field_value(record, 'low_credit_threshold', record.low_credit_threshold, organization)}"
        if record.history_type == "-":
            return "own threshold removed: the org's applies"
        return super().describe(record, changes, organization)

    def url(self, record, organization):
        return reverse("admin:alerts_accountthreshold_history", args=[record.id])
