"""Who changed a setting: the actor on every django-simple-history row, a user or a service token.

Historical models get `bases=[ActorHistory]` and `get_user=history_user`: a staff user's change
records the user (from the service's actor, else from the request through simple-history's
middleware); a service token's change records the token's name in `history_actor_service`.
`history_actor` stamps an instance before a service saves it, with the reason ("why") if given.
"""

from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

SYSTEM_LABEL = "system"


class ActorHistory(models.Model):
    """The extra column of every historical table: the service (token name) that made the change."""

    history_actor_service = models.CharField(
        max_length=100, blank=True, default="",
        help_text="The service token (or job) that made the change when no user did.")

    class Meta:
        abstract = True

    @property
    def history_actor_label(self) -> str:
        """Who made the change: the user, else the service, else "system"."""
        if self.history_user_id:
            return str(self.history_user)
        return self.history_actor_service or SYSTEM_LABEL


def _service_of(request) -> str:
    """The service token's name when a token (not a user) made the request."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None) is None:
        return str(user)
    return ""


def history_user(request=None, **kwargs):
    """simple-history's `get_user`: the request's user when it is a real user (never a token principal)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    return user


def history_actor(instance, actor, reason: str = ""):
    """Mark the next history row of `instance` with the service's actor (ledger.services.Actor) and why."""
    instance._history_user = actor.user
    instance._history_actor_service = "" if actor.user is not None else actor.label
    if reason:
        instance._change_reason = reason
    return instance


@receiver(pre_create_historical_record, dispatch_uid="ledger.history.stamp_service_actor")
def _stamp_service_actor(sender, instance, history_instance, **kwargs):
    if not hasattr(history_instance, "history_actor_service"):
        return
    service = getattr(instance, "_history_actor_service", "")
    if not service and history_instance.history_user_id is None:
        service = _service_of(getattr(HistoricalRecords.context, "request", None))
    history_instance.history_actor_service = service[:100]
