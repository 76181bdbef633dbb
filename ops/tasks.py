"""Celery tasks of ops: the nightly check of the ledger invariants, recorded and mailed to the admins."""

import logging

from celery import shared_task
from django.core.mail import mail_admins

from .models import CheckSource
from .services import ledger_check_run

logger = logging.getLogger(__name__)


@shared_task(name="ops.tasks.check_ledger")
def check_ledger() -> int:
    """Check invariants 1-5 over the whole database, record the run; log and mail the admins on any violation."""
    problems = ledger_check_run(source=CheckSource.SCHEDULE).problems
    if problems:
        try:
            mail_admins(f"Ledger check: {len(problems)} invariant violation(s)", "\n".join(problems[:200]))
        except OSError:  # the log line is the record; a mail server outage must not hide it
            logger.exception("Could not mail the ledger check report")
    return len(problems)
