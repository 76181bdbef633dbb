"""What a top-up costs: the currency's limits on the net amount and the tax lines, rounded half up to the
currency's minor unit once per invoice (each tax line on the invoice's net amount)."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ledger.currencies import minor_unit
from ledger.errors import InvalidOperation
from ledger.models import ZERO
from ledger.money import money
from ledger.services import to_amount

from .conf import seller
from .models import TaxRule, TopUpLimit

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxLine:
    name: str
    rate: Decimal  # percent
    amount: Decimal

    def as_dict(self) -> dict:
        return {"name": self.name, "rate": format(self.rate.normalize(), "f"), "amount": str(self.amount)}


@dataclass(frozen=True)
class Quote:
    """Net amount, tax lines and total of one top-up."""

    currency: str
    amount: Decimal
    tax_lines: list[TaxLine] = field(default_factory=list)

    @property
    def tax(self) -> Decimal:
        return sum((line.amount for line in self.tax_lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


def limits_text(limit: TopUpLimit) -> str:
    return f"between {money(limit.min_amount, limit.currency)} and {money(limit.max_amount, limit.currency)}"


def check_amount(currency: str, value) -> Decimal:
    """The net amount as a Decimal within the currency's limits and minor unit; else InvalidOperation."""
    amount = to_amount(value)
    unit = minor_unit(currency)
    if amount != amount.quantize(unit):
        places = max(0, -unit.as_tuple().exponent)
        raise InvalidOperation(errors={"amount": [f"{currency} amounts have at most {places} decimal places."]})
    limit = TopUpLimit.objects.filter(currency=currency).first()
    if limit is None:
        raise InvalidOperation(f"Credits in {currency} cannot be bought: no top-up limits are configured.",
                               errors={"amount": [f"Credits in {currency} cannot be bought online: no top-up limits "
                                                  f"are configured for {currency}."]})
    if not limit.min_amount <= amount <= limit.max_amount:
        raise InvalidOperation(f"A top-up in {currency} must be {limits_text(limit)}.",
                               errors={"amount": [f"A top-up in {currency} must be {limits_text(limit)} "
                                                  f"({limit.min_amount.normalize():f} to "
                                                  f"{limit.max_amount.normalize():f})."]})
    return amount


def tax_rule_for(currency: str, country: str) -> TaxRule | None:
    """The most specific tax rule: for the buyer's country, else for any country; None means no tax."""
    rules = {rule.country: rule for rule in TaxRule.objects.filter(currency=currency, country__in=[country, ""])}
    return rules.get(country) or rules.get("")


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def tax_lines_for(rule: TaxRule | None, amount: Decimal, currency: str, country: str, state: str) -> list[TaxLine]:
    """The tax lines of a net amount under a rule: one line, or two halves within the seller's state."""
    if rule is None or rule.rate == 0:
        return []
    if rule.split_within_state:
        the_seller = seller()
        same_state = bool(state) and (country, state) == (the_seller.country, the_seller.state)
        if same_state:
            half = rule.rate / 2
            names = [name.strip() for name in rule.intra_state_names.split(",")][:2]
            return [TaxLine(name, half, _round(amount * half / HUNDRED, currency)) for name in names]
        return [TaxLine(rule.inter_state_name or rule.name, rule.rate,
                        _round(amount * rule.rate / HUNDRED, currency))]
    return [TaxLine(rule.name, rule.rate, _round(amount * rule.rate / HUNDRED, currency))]


def quote(*, currency: str, amount, country: str, state: str = "") -> Quote:
    """Check the amount against the limits and compute the tax lines for a buyer in `country`/`state`."""
    net = check_amount(currency, amount)
    return Quote(currency=currency, amount=net,
                 tax_lines=tax_lines_for(tax_rule_for(currency, country), net, currency, country, state))
