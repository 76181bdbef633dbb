"""Domain errors of payments, mapped to the API's codes like the ledger's (they share its base class)."""

from ledger.errors import LedgerError


class TopUpNotPending(LedgerError):
    code = "top_up_not_pending"
    status = 409
    default_detail = "The top-up is not pending."


class InvalidSignature(LedgerError):
    """A webhook whose signature is missing, wrong or too old: 400 invalid, nothing changes."""

    code = "invalid"
    status = 400
    default_detail = "The webhook signature is missing, not valid or too old."


class ProviderUnavailable(LedgerError):
    """The payment provider could not be reached or refused the request: nothing was created."""

    code = "service_unavailable"
    status = 503
    default_detail = "The payment provider is not reachable; nothing was created. Retry with the same key."
