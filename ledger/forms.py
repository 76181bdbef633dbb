"""Forms of the staff console's money actions: they parse input, the ledger services check the rules and act.

A service's refusal (not enough credits, the same account twice, postpaid without a limit) comes
back as form errors on the fields it names (`add_ledger_error`); the forms do not repeat the rules.

Each money form carries a hidden one-time token issued by the server when the form is rendered
(ledger.console_forms): whatever the browser does (Back, reload, a second tab, two clicks), one form
shown to a person moves money at most once.
"""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from .errors import LedgerError
from .models import ZERO, Account, BalanceMode, ExpiresIn, Organization
from .money import money

MIN_AMOUNT = Decimal("0.000001")


def amount_field(label="Amount", *, allow_zero=False, help_text="") -> forms.DecimalField:
    """A decimal amount in the org's currency, at most 6 decimal places."""
    return forms.DecimalField(
        label=label, max_digits=20, decimal_places=6, min_value=ZERO if allow_zero else MIN_AMOUNT,
        help_text=help_text, widget=forms.NumberInput(attrs={"step": "any", "min": "0", "autofocus": True}),
    )


def funds_accounts(organization: Organization):
    """Accounts of an org that hold their own funds (master and own-mode subaccounts)."""
    return Account.objects.filter(organization=organization, balance_mode=BalanceMode.OWN).order_by(
        "-is_master", "name")


def reason_field(label="Reason") -> forms.CharField:
    """A required "why" of a money action: kept with its ledger entry and shown in the org's activity timeline."""
    return forms.CharField(label=label, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text="Required: why this is done. Shown in the org's activity timeline.")


class AccountChoiceField(forms.ModelChoiceField):
    """An account of the org, labelled with its balance."""

    def label_from_instance(self, obj: Account) -> str:
        kind = "master" if obj.is_master else "subaccount"
        return f"{obj.name} ({kind}, balance {money(obj.balance, obj.organization.currency)})"


class CreditLimitAccountField(AccountChoiceField):
    """An account of the org, labelled with its current credit limit (what the form is about to change)."""

    def label_from_instance(self, obj: Account) -> str:
        kind = "master" if obj.is_master else "subaccount"
        text = f"{obj.name} ({kind}, credit limit {money(obj.effective_credit_limit(), obj.organization.currency)}"
        if obj.effective_credit_limit() != obj.credit_limit:
            text += f" temporary, then {money(obj.credit_limit, obj.organization.currency)}"
        return text + ")"


class LedgerActionForm(forms.Form):
    """Base of the money forms: the org, the hidden one-time form token and domain errors as form errors."""

    required_css_class = "required"  # the admin's CSS marks these labels (bold, with an asterisk)

    form_token = forms.CharField(widget=forms.HiddenInput, required=False)  # checked by the view

    def __init__(self, *args, organization: Organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)
        for name in ("account", "from_account", "to_account"):
            if name in self.fields:
                self.fields[name].queryset = funds_accounts(organization).select_related("organization")
        if "account" in self.fields and not self.is_bound:
            self.fields["account"].initial = organization.accounts.filter(is_master=True).values_list(
                "pk", flat=True).first()

    def add_ledger_error(self, exc: LedgerError) -> None:
        """Show a domain error on the fields it names, else as a non-field error with its detail."""
        placed = False
        for field, messages in (exc.errors or {}).items():
            target = field if field in self.fields and field != "form_token" else None
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                self.add_error(target, str(message))
                placed = True
        if not placed:
            self.add_error(None, exc.detail)


class AddCreditsForm(LedgerActionForm):
    account = AccountChoiceField(queryset=Account.objects.none(), empty_label=None,
                                 help_text="Credits go to this account as a new lot.")
    amount = amount_field(help_text="In the organization's currency (1 credit = 1 unit).")
    expires_in = forms.ChoiceField(label="Expiry", choices=ExpiresIn.choices, initial=ExpiresIn.SIX_MONTHS,
                                   widget=forms.RadioSelect,
                                   help_text="Counted from now in the organization's timezone.")
    purchase_order = forms.CharField(label="Purchase order number", max_length=100, required=False)
    comment = forms.CharField(label="Comments", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RemoveCreditsForm(LedgerActionForm):
    account = AccountChoiceField(queryset=Account.objects.none(), empty_label=None)
    amount = amount_field(help_text="At most the account's positive balance.")
    comment = reason_field()


class CreditLimitForm(LedgerActionForm):
    account = CreditLimitAccountField(queryset=Account.objects.none(), empty_label=None)
    amount = amount_field("Credit limit", allow_zero=True,
                          help_text="How far the account may go below zero. 0 removes the limit.")
    temporary_days = forms.IntegerField(
        label="Temporary for (days)", required=False, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Leave empty for a permanent limit; else the permanent limit applies again after N days.")
    comment = reason_field()


class TransferForm(LedgerActionForm):
    from_account = AccountChoiceField(queryset=Account.objects.none(), label="From",
                                      help_text="Shared-balance subaccounts hold no funds and are not listed.")
    to_account = AccountChoiceField(queryset=Account.objects.none(), label="To")
    amount = amount_field(help_text="At most the sender's positive balance. Moved credits keep their expiry.")
    comment = reason_field()


class CreditManagementForm(LedgerActionForm):
    enabled = forms.TypedChoiceField(
        label="Credit management", choices=[("on", "On: charges, holds and transfers draw credits"),
                                           ("off", "Off: credit-managed operations are refused")],
        coerce=lambda value: value == "on", widget=forms.RadioSelect,
        help_text="Off: charges, holds and transfers are refused (API error credit_management_disabled); staff can "
                  "still add and remove credits.",
    )
    comment = forms.CharField(label="Why", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Recorded with the switch in the org's history and activity timeline.")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        if not self.is_bound:
            self.fields["enabled"].initial = "on" if organization.credit_management_enabled else "off"
