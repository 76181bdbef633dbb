"""manage.py check_ledger: verify invariants 1-5 over the whole database, record the run; exit non-zero on any violation."""

from django.core.management.base import BaseCommand, CommandError

from ledger.models import Account, Posting, Transaction
from ops.models import CheckSource
from ops.services import ledger_check_run


class Command(BaseCommand):
    help = ("Checks the ledger invariants (balanced transactions, cached balances, lots, available, daily totals) "
            "and reports.")

    def handle(self, *args, **options):
        problems = ledger_check_run(source=CheckSource.COMMAND).problems
        self.stdout.write(f"Checked {Transaction.objects.count()} transactions, {Posting.objects.count()} postings "
                          f"and {Account.objects.count()} accounts.")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} ledger invariant violation(s) found.")
        self.stdout.write(self.style.SUCCESS("Ledger is sound: invariants 1-5 hold."))
