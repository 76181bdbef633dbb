"""The transfer form of a subaccount user: direction, amount, a reason and the org's conditions tick box."""

from django import forms

from ledger.forms import LedgerActionForm, amount_field, reason_field
from ledger.models import Account
from ledger.money import money

from .rules import user_recipients

TO_MASTER, FROM_MASTER, TO_USER = "to_master", "from_master", "to_user"
AGREE_LABEL = "I agree to the transfer conditions"
DEFAULT_CONDITIONS = "Transfers take effect at once and are final: moved credits keep their expiry dates."


class RecipientField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return f"{obj.name} ({obj.owner.get_full_name() or obj.owner.get_username()})"


class SelfTransferForm(LedgerActionForm):
    """Move credits between one's own subaccount and the master account, or to another user's subaccount.

    `from_account()` and `to_account()` give the two accounts of a valid form; the service checks the amount.
    """

    direction = forms.ChoiceField(label="Transfer", widget=forms.RadioSelect)
    recipient = RecipientField(queryset=Account.objects.none(), required=False, label="To user",
                               help_text="Another user's subaccount of the organization.")
    amount = amount_field(help_text="At most what can leave the sending account. Moved credits keep their expiry.")
    comment = reason_field()  # required, as for the console's transfers
    agree = forms.BooleanField(label=AGREE_LABEL, required=True,
                               error_messages={"required": "Tick the box to agree to the transfer conditions."})

    def __init__(self, *args, account: Account, **kwargs):
        self.account = account
        super().__init__(*args, organization=account.organization, **kwargs)
        self.master = account.organization.master_account
        cur = account.organization.currency
        choices = [(TO_MASTER, f"From {account.name} to the master account "
                               f"(your balance {money(account.balance, cur)})"),
                   (FROM_MASTER, f"From the master account to {account.name}")]
        recipients = user_recipients(account)
        if recipients.exists():
            choices.append((TO_USER, f"From {account.name} to another user"))
            self.fields["recipient"].queryset = recipients
        else:
            del self.fields["recipient"]
        self.fields["direction"].choices = choices
        if not self.is_bound:
            self.fields["direction"].initial = TO_MASTER
        self.conditions = account.organization.transfer_conditions.strip() or DEFAULT_CONDITIONS

    def clean(self):
        data = super().clean()
        if data.get("direction") == TO_USER and not data.get("recipient"):
            self.add_error("recipient", "Choose whom to transfer to.")
        return data

    def from_account(self) -> Account:
        return self.master if self.cleaned_data["direction"] == FROM_MASTER else self.account

    def to_account(self) -> Account:
        direction = self.cleaned_data["direction"]
        if direction == TO_USER:
            return self.cleaned_data["recipient"]
        return self.account if direction == FROM_MASTER else self.master

    def add_ledger_error(self, exc) -> None:
        """Service errors on from/to accounts show on the direction."""
        errors = {("direction" if key in ("from_account", "to_account") else key): value
                  for key, value in (exc.errors or {}).items()}
        exc.errors = errors
        super().add_ledger_error(exc)
