"""Domain errors of the ledger, each with the API error code and HTTP status it maps to."""


class LedgerError(Exception):
    """Base of every domain error: `code` and `status` follow api-v1.md."""

    code = "invalid"
    status = 400
    default_detail = "The request is not valid."

    def __init__(self, detail: str | None = None, *, errors: dict | None = None):
        self.detail = detail or self.default_detail
        self.errors = errors or {}
        super().__init__(self.detail)

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class InvalidOperation(LedgerError):
    code = "invalid"
    status = 400


class InsufficientCredits(LedgerError):
    code = "insufficient_credits"
    status = 402
    default_detail = "Not enough credits available."


class OrgBlocked(LedgerError):
    code = "org_blocked"
    status = 402
    default_detail = "The organization is blocked until it recharges."


class CreditManagementDisabled(LedgerError):
    code = "credit_management_disabled"
    status = 409
    default_detail = "Credit management is switched off for this organization."


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    status = 409
    default_detail = "This idempotency key was already used with a different request."


class TransferNotAllowed(LedgerError):
    code = "transfer_not_allowed"
    status = 409
    default_detail = "Credits can move only between accounts of one organization that hold their own funds."


class HoldNotActive(LedgerError):
    code = "hold_not_active"
    status = 409
    default_detail = "The hold is no longer active."


class NoRate(LedgerError):
    code = "no_rate"
    status = 422
    default_detail = "The rate card has no price for this channel, country and category."
