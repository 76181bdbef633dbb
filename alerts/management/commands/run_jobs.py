"""`manage.py run_jobs [--at ISO-8601] [--job NAME ...]`: run the scheduled jobs synchronously as of an instant."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts import jobs


class Command(BaseCommand):
    help = ("Run every scheduled job (rate cards, expiry, holds, limits, month close, warnings, purge, monthly "
            "totals) once, now or as of --at.")

    def add_arguments(self, parser):
        parser.add_argument("--at", help="The instant to run as of, ISO-8601 (e.g. 2025-06-01T00:05:00+09:00). "
                                         "Default: now. Without an offset it is read as UTC.")
        parser.add_argument("--job", action="append", choices=list(jobs.JOBS), dest="names",
                            help="Run only this job (repeatable).")

    def handle(self, *args, at=None, names=None, **options):
        instant = timezone.now()
        if at:
            instant = parse_datetime(at)
            if instant is None:
                raise CommandError(f"--at: {at!r} is not an ISO-8601 date and time.")
            if timezone.is_naive(instant):
                instant = timezone.make_aware(instant, timezone.UTC)
        results = jobs.run_due_jobs(at=instant, names=names)
        failed = False
        for name, result in results.items():
            if result.error:
                failed = True
                self.stderr.write(f"{name}: FAILED {result.error}")
            elif result.skipped:
                self.stdout.write(f"{name}: skipped (another run holds its lock)")
            else:
                self.stdout.write(f"{name}: {result.count}")
        if failed:
            raise CommandError("Some jobs failed; see above.")
