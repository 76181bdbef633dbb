"""Operational runs recorded for monitoring: the ledger invariant check."""

import logging
from dataclasses import dataclass

from django.utils import timezone

from ledger.invariants import check_invariants

from .models import LedgerCheckRun

logger = logging.getLogger(__name__)

REPORT_LINES = 200  # the stored report keeps the first violations; the log line has them all


@dataclass
class LedgerCheckResult:
    run: LedgerCheckRun
    problems: list[str]


def ledger_check_run(*, source: str) -> LedgerCheckResult:
    """Check invariants 1-5 over the whole database and record the run (its time, outcome and first problems)."""
    started = timezone.now()
    problems = check_invariants()
    run = LedgerCheckRun.objects.create(source=source, started_at=started, finished_at=timezone.now(),
                                        problems=len(problems), report="\n".join(problems[:REPORT_LINES]))
    if problems:
        logger.error("Ledger check found %d violation(s):\n%s", len(problems), "\n".join(problems),
                     extra={"problems": len(problems), "check_run": run.pk})
    else:
        logger.info("Ledger check: sound", extra={"problems": 0, "check_run": run.pk,
                                                  "duration_s": round(run.duration_seconds, 3)})
    return LedgerCheckResult(run=run, problems=problems)
