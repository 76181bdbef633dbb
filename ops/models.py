"""Records of operational runs: each ledger invariant check, so its result and age can be watched."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class CheckSource(models.TextChoices):
    SCHEDULE = "schedule", "Nightly schedule"
    COMMAND = "command", "manage.py check_ledger"


class LedgerCheckRun(models.Model):
    """One run of the ledger invariant check (invariants 1-5) and what it found."""

    source = models.CharField(max_length=10, choices=CheckSource.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(db_index=True)
    problems = models.PositiveIntegerField(help_text="Invariant violations found; 0 means the ledger is sound.")
    report = models.TextField(blank=True, help_text="The first violations, one per line.")

    class Meta:
        ordering = ["-finished_at"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=CheckSource.values), name="ledger_check_source_valid"),
            models.CheckConstraint(condition=Q(finished_at__gte=models.F("started_at")),
                                   name="ledger_check_finishes_after_start"),
        ]

    def __str__(self) -> str:
        outcome = "sound" if self.problems == 0 else f"{self.problems} violation(s)"
        return f"Ledger check of {self.finished_at:%Y-%m-%d %H:%M} UTC: {outcome}"

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
