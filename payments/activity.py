"""Top-ups on the org activity timeline (ledger.activity) and in the finance landing page's pending slot."""

from django.urls import reverse

from ledger.activity import ActivityEvent, ActivitySource, actor_of
from ledger.money import money
from ledger.times import local_time

from .models import TopUp, TopUpStatus


class TopUpSource(ActivitySource):
    """Each top-up at the time it was started, with where it stands now (paid with its invoice, pending, ...)."""

    name = "top_ups"
    label = "Top-ups"
    actor_fields = ("created_by__username", "created_by_service")

    def queryset(self, organization):
        return TopUp.objects.filter(organization=organization).select_related("account", "created_by")

    def event(self, top_up: TopUp, organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(top_up.created_by, top_up.created_by_service)
        cur = top_up.currency
        state = top_up.get_status_display().lower()
        if top_up.status == TopUpStatus.PAID:
            state = f"paid {local_time(top_up.paid_at, organization)}, invoice {top_up.invoice_number}"
        elif top_up.failure_reason:
            state = f"{state}: {top_up.failure_reason}"
        return ActivityEvent(
            at=top_up.created_at, source=self.name, pk=top_up.pk, kind="Top-up",
            summary=f"{money(top_up.amount, cur)} for {top_up.account.name} (total {money(top_up.total, cur)} "
                    f"with tax) through {top_up.get_provider_display()}; {state}",
            actor=actor, actor_type=actor_type, amount=top_up.amount, currency=cur, account=top_up.account.name,
            url=reverse("admin:payments_topup_change", args=[top_up.pk]))


def pending_top_ups_panel(user, organizations) -> dict:
    """The finance landing page's pending top-ups: the oldest pending payments of the orgs the user sees."""
    pending = (TopUp.objects.filter(organization__in=organizations, status=TopUpStatus.PENDING)
               .select_related("organization", "account").order_by("created_at"))
    return {"top_ups": pending[:20], "count": pending.count()}
