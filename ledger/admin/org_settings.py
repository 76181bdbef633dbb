"""The org settings form of the console, with its confirmation step.

Changes with consequences (payment scheme, timezone; the currency when an org is created; credit
management on its own screen) are shown with what they will do, and saved only when the user
confirms. Whether a change is allowed is decided by `services.organization_update` (a dry run
under the same locks); its refusal appears as a form error.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from ledger import services
from ledger.currencies import currency_choices, currency_label, minor_unit
from ledger.errors import LedgerError
from ledger.models import ZERO, Hold, HoldStatus, Organization, PaymentScheme, validate_timezone
from ledger.money import money
from ledger.services.limits import require_postpaid_limit
from ledger.times import local_time

CONFIRM_FIELD = "_confirm"
CONFIRM_MESSAGE = "This change has consequences: read them below, then confirm to save it."


def creation_consequences(data: dict) -> list[str]:
    """What creating an org with these settings commits to (the currency is for good)."""
    currency = data["currency"]
    lines = [f"The currency is {currency_label(currency)}: 1 credit = {money(1, currency)}. It can never be "
             "changed: every amount of this organization is in it."]
    if data.get("payment_scheme") == PaymentScheme.POSTPAID:
        lines.append(f"Postpaid: sends run on the master account's credit limit of "
                     f"{money(data.get('credit_limit') or ZERO, currency)}; at each month start in "
                     f"{data.get('timezone')} the usage is invoiced and the balance returns to zero.")
    return lines


def change_consequences(organization: Organization, changes: dict) -> list[str]:
    """What a change of settings does, in words, with the org's live figures."""
    lines = []
    master = organization.master_account
    currency = organization.currency
    scheme = changes.get("payment_scheme")
    if scheme == PaymentScheme.POSTPAID:
        lines.append(f"{organization.name} becomes postpaid: sends run on the master account's credit limit of "
                     f"{money(master.credit_limit, currency)}, and at each month start ({organization.timezone}) "
                     "the usage is invoiced and balances return to zero.")
    elif scheme == PaymentScheme.PREPAID:
        lines.append(f"{organization.name} becomes prepaid: sends draw on credits, and month-end invoices stop. "
                     f"The master account's credit limit ({money(master.credit_limit, currency)}) stays until you "
                     "change it.")
    new_zone = changes.get("timezone")
    if new_zone:
        now = timezone.now()
        lines.append(f"Days and months of {organization.name} are counted in {new_zone} from now on: expiry dates "
                     "of new lots, when rate-card versions start, the postpaid month close and report months. "
                     f"It is {local_time(now, organization.timezone)} in {organization.timezone} and "
                     f"{local_time(now, new_zone)} in {new_zone}. Existing lots keep their expiry instants.")
    return lines


def credit_management_consequences(organization: Organization) -> dict:
    """What switching credit management off and on does for this org (shown on its screen)."""
    holds = Hold.objects.filter(account__organization=organization, status=HoldStatus.ACTIVE).count()
    return {
        "off": f"Off: charges, holds and transfers of {organization.name} are refused "
               f"(credit_management_disabled); {holds} active hold{'s' if holds != 1 else ''} keep their credits "
               "reserved; staff can still add and remove credits.",
        "on": f"On: charges, holds and transfers draw credits again under the {organization.get_payment_scheme_display().lower()} "
              "rules.",
    }


class OrganizationForm(forms.ModelForm):
    """Org settings; on add, the master account's credit limit too (postpaid needs one)."""

    currency = forms.ChoiceField(choices=currency_choices, initial="INR",
                                 help_text="ISO 4217, currencies in use today. 1 credit = 1 unit of this currency; "
                                           "it cannot change later.")
    credit_limit = forms.DecimalField(max_digits=20, decimal_places=6, min_value=ZERO, required=False, initial=ZERO,
                                      help_text="Credit limit of the master account (required for postpaid).")
    reason = forms.CharField(label="Why", required=False, max_length=500,
                             widget=forms.TextInput(attrs={"size": 60}),
                             help_text="Recorded with the change in the history and the activity timeline.")

    class Meta:
        model = Organization
        fields = ["name", "currency", "timezone", "payment_scheme", "credit_management_enabled", "spending_policy",
                  "spending_floor", "admins", "purchase_expires_in", "individual_user_credits",
                  "user_to_user_transfers", "transfer_conditions"]
        help_texts = {"timezone": "IANA name, e.g. Asia/Kolkata. Expiry dates and months are counted in it.",
                      "payment_scheme": "Postpaid accounts need a credit limit; usage is invoiced monthly."}

    consequences: list[str] = []

    # Settings kept as they are when a post leaves them out (a form where they are read-only, a script).
    KEPT_WHEN_LEFT_OUT = ("purchase_expires_in", "spending_policy", "spending_floor")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.KEPT_WHEN_LEFT_OUT:
            if name in self.fields:
                self.fields[name].required = False
        floor = self.instance.spending_floor if self.instance.pk else None
        if floor is not None and "spending_floor" in self.fields:
            # Shown in the currency's minor unit (500.00, not 500.000000) unless finer digits are set.
            in_minor = floor.quantize(minor_unit(self.instance.currency))
            self.initial["spending_floor"] = in_minor if in_minor == floor else floor.normalize()

    def _kept(self, name):
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value in (None, "") else value

    def clean_purchase_expires_in(self):
        return self._kept("purchase_expires_in")

    def clean_spending_policy(self):
        return self._kept("spending_policy")

    def clean_spending_floor(self):
        return self._kept("spending_floor")

    def clean_timezone(self):
        value = (self.cleaned_data.get("timezone") or "").strip()
        validate_timezone(value)
        return value

    def setting_changes(self) -> dict:
        """The changed settings that `organization_update` applies."""
        return {name: self.cleaned_data[name] for name in ("name", "timezone", "payment_scheme", "spending_policy",
                                                           "spending_floor", "purchase_expires_in",
                                                           "individual_user_credits", "user_to_user_transfers",
                                                           "transfer_conditions")
                if name in self.changed_data and name in self.cleaned_data}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:  # the services decide (again when saving); their refusal becomes a form error before anything is saved
            if self.instance._state.adding:
                require_postpaid_limit(data.get("payment_scheme"), data.get("credit_limit") or ZERO,
                                       field="credit_limit")
                self.consequences = creation_consequences(data)
            else:
                changes = self.setting_changes()
                if not changes:
                    return data
                services.organization_update(actor=services.SYSTEM, organization=self.instance, dry_run=True,
                                             **changes)
                self.consequences = change_consequences(self.instance, changes)
        except LedgerError as exc:
            for field, messages in (exc.errors or {"__all__": [exc.detail]}).items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return data
        if self.consequences and not self.data.get(CONFIRM_FIELD):
            raise ValidationError(CONFIRM_MESSAGE, code="confirm")
        return data

    @property
    def awaits_confirmation(self) -> bool:
        """True when the only thing between the user and the save is the confirmation."""
        errors = self.non_field_errors().as_data()
        return bool(self.consequences) and any(error.code == "confirm" for error in errors)
