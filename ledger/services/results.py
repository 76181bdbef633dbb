"""What money operations return besides model rows: batch results, stored with idempotency keys."""

from dataclasses import dataclass
from decimal import Decimal

from ..errors import LedgerError
from ..models import ZERO, Transaction


@dataclass
class BatchItemResult:
    """One item of a batch: its transaction, or the error it would have had alone."""

    transaction: Transaction | None = None
    error: LedgerError | None = None

    @property
    def status(self) -> int:
        return 201 if self.error is None else self.error.status


@dataclass
class BatchResult:
    """The items of a batch in order; `replayed` when an idempotency key returned a stored result."""

    items: list[BatchItemResult]
    replayed: bool = False

    @property
    def total(self) -> Decimal:
        return sum((item.transaction.amount for item in self.items if item.transaction), ZERO)

    def to_record(self) -> list:
        return [{"transaction": item.transaction.pk} if item.transaction else
                {"error": item.error.as_dict(), "status": item.error.status} for item in self.items]

    @classmethod
    def from_record(cls, data: list) -> "BatchResult":
        ids = [row["transaction"] for row in data if "transaction" in row]
        by_id = Transaction.objects.in_bulk(ids)
        items = []
        for row in data:
            if "transaction" in row:
                items.append(BatchItemResult(transaction=by_id[row["transaction"]]))
            else:
                error = LedgerError(row["error"]["detail"], errors=row["error"].get("errors"))
                error.code, error.status = row["error"]["code"], row["status"]
                items.append(BatchItemResult(error=error))
        return cls(items)
