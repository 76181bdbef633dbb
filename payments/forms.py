"""Forms of the purchase screens and of finance's payment records: they parse input and show the services'
errors on their fields (limits, tax, billing and provider rules live in the services)."""

import uuid

from django import forms
from django.utils import timezone

from ledger.errors import LedgerError
from ledger.forms import AccountChoiceField, LedgerActionForm, amount_field
from ratecards.countries import country_choices

from .conf import states

# service error keys -> form fields
FIELD_OF_ERROR = {"billing.name": "billing_name", "billing.address": "billing_address",
                  "billing.country": "billing_country", "billing.state": "billing_state",
                  "billing.tax_id": "billing_tax_id", "billing.email": "billing_email"}


class ServiceErrorsMixin:
    """Show a domain error on the fields it names (billing.name -> billing_name), else as a non-field error."""

    def add_ledger_error(self, exc: LedgerError) -> None:
        renamed = LedgerError(exc.detail, errors={FIELD_OF_ERROR.get(key, key): messages
                                                  for key, messages in (exc.errors or {}).items()})
        LedgerActionForm.add_ledger_error(self, renamed)


class PurchaseForm(ServiceErrorsMixin, forms.Form):
    """Step 1 of buying credits: target account, amount, billing details and the payment method."""

    required_css_class = "required"

    account = AccountChoiceField(queryset=None, empty_label=None, label="Buy for",
                                 help_text="System credits (the master account) or a subaccount's user credits.")
    amount = amount_field("Credits to buy", help_text="Net amount in the organization's currency (1 credit = 1 "
                                                      "unit); tax is added on the next page.")
    billing_name = forms.CharField(label="Billing name", max_length=200)
    billing_address = forms.CharField(label="Billing address", widget=forms.Textarea(attrs={"rows": 3}))
    billing_country = forms.ChoiceField(label="Country", initial="IN")
    billing_state = forms.ChoiceField(label="State (India)", required=False,
                                      help_text="Required in India: GST is CGST + SGST within the seller's state, "
                                                "IGST otherwise.")
    billing_tax_id = forms.CharField(label="GSTIN / tax ID", max_length=20, required=False,
                                     help_text="Optional. Printed on the tax invoice.")
    billing_email = forms.EmailField(label="Receipt email", required=False,
                                     help_text="Also sent to the organization's alert recipients.")
    provider = forms.ChoiceField(label="Pay with", widget=forms.RadioSelect)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, accounts, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["billing_country"].choices = country_choices()
        self.fields["billing_state"].choices = [("", "—")] + [(code, f"{name} ({code})")
                                                             for code, name in states("IN").items()]
        self.fields["provider"].choices = [(provider.name, provider.label) for provider in providers]
        if providers and not self.is_bound:
            self.fields["provider"].initial = providers[0].name

    def billing(self) -> dict:
        data = self.cleaned_data
        return {"name": data["billing_name"], "address": data["billing_address"], "country": data["billing_country"],
                "state": data.get("billing_state", ""), "tax_id": data.get("billing_tax_id", ""),
                "email": data.get("billing_email", "")}


class RecordPaymentForm(ServiceErrorsMixin, forms.Form):
    """Finance: a bank transfer or purchase order payment received, with its reference and date."""

    required_css_class = "required"

    reference = forms.CharField(label="Bank / PO reference", max_length=200,
                                help_text="UTR, transfer id or purchase order number; each is recorded once.")
    received_on = forms.DateField(label="Received on", initial=timezone.localdate,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    amount = amount_field("Amount received")
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)  # one-time (ledger.console_forms)
