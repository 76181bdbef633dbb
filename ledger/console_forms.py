"""One-time tokens of the staff console's money forms: one form shown to a person moves money at most once.

A token is issued when a form is rendered, bound to the user, the org and the action, and
signed into the form. The first valid submission claims it (row-locked, so two tabs or a double
click cannot both claim it) and its id becomes the service call's idempotency key; later
submissions, a reload, or the page restored by Back find it used and move nothing. A second
form with the same decisive values (same action, account and amount by the same user) within
DUPLICATE_WINDOW is held for an explicit confirmation. Nothing here moves money.
"""

import hashlib
import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone

from .models import ConsoleFormToken, Organization

DUPLICATE_WINDOW = timedelta(minutes=5)
SALT = "ledger.console-form"


def _signer(user, action: str) -> signing.Signer:
    return signing.Signer(salt=f"{SALT}:{user.pk}:{action}")


def form_token_issue(*, user, organization: Organization, action: str) -> str:
    """A new token for one rendering of an action form; returns its signed value for the form."""
    token = ConsoleFormToken.objects.create(user=user, organization=organization, action=action)
    return _signer(user, action).sign(str(token.pk))


def form_token_get(*, signed: str, user, organization: Organization, action: str) -> ConsoleFormToken | None:
    """The token a form carries, if its signature, user, org and action all match; else None."""
    try:
        token_id = uuid.UUID(_signer(user, action).unsign(signed or ""))
    except (signing.BadSignature, ValueError):
        return None
    return ConsoleFormToken.objects.filter(pk=token_id, user=user, organization=organization,
                                           action=action).first()


def fingerprint(action: str, values: dict) -> str:
    """A hash of an action's decisive values (account, amount, ...): equal for the same action twice."""
    normalized = {name: str(getattr(value, "pk", value)) for name, value in sorted(values.items())}
    return hashlib.sha256(json.dumps([action, normalized]).encode()).hexdigest()


@dataclass
class Claim:
    """The outcome of a submission: `claimed` (go on), `used` (done before) or `duplicate` (confirm first)."""

    outcome: str
    token: ConsoleFormToken
    earlier: ConsoleFormToken | None = None


def form_token_claim(*, token: ConsoleFormToken, fingerprint: str, summary: str,
                     confirmed: str = "", at: datetime | None = None) -> Claim:
    """Claim a token for one submission, unless it is used or an identical action was just made.

    Claims of one user are serialized (their user row is locked for the claim), so two tabs
    submitting the same values at once see each other. `confirmed` is the id of the earlier
    identical action the user confirmed repeating; a newer one asks again.
    """
    at = at or timezone.now()
    user_model = get_user_model()
    with transaction.atomic():
        user_model.objects.select_for_update(no_key=True).filter(pk=token.user_id).values_list("pk").first()
        token = ConsoleFormToken.objects.select_for_update().get(pk=token.pk)
        if token.claimed_at is not None:
            return Claim("used", token)
        if fingerprint:
            earlier = (ConsoleFormToken.objects
                       .filter(user_id=token.user_id, organization_id=token.organization_id, action=token.action,
                               fingerprint=fingerprint, claimed_at__gte=at - DUPLICATE_WINDOW)
                       .exclude(pk=token.pk).order_by("-claimed_at").first())
            if earlier is not None and str(earlier.pk) != confirmed:
                return Claim("duplicate", token, earlier)
        token.claimed_at, token.fingerprint, token.summary = at, fingerprint, summary
        token.save(update_fields=["claimed_at", "fingerprint", "summary"])
        return Claim("claimed", token)


def form_token_release(*, token: ConsoleFormToken) -> None:
    """Give a claimed token back after its action was refused (a form error): the form may be corrected and sent."""
    ConsoleFormToken.objects.filter(pk=token.pk, completed_at__isnull=True).update(
        claimed_at=None, fingerprint="", summary="")


@contextmanager
def released_on_failure(token: ConsoleFormToken):
    """Run a claimed token's action: if it raises (a refusal or a crash) the token is given back, so the
    form can be corrected and sent again; nothing moved, so nothing is recorded as done."""
    try:
        yield
    except BaseException:
        form_token_release(token=token)
        raise


def form_token_complete(*, token: ConsoleFormToken, summary: str, result_url: str) -> None:
    """Record what the claimed token's submission did."""
    ConsoleFormToken.objects.filter(pk=token.pk).update(completed_at=timezone.now(), summary=summary[:300],
                                                        result_url=result_url[:300])


def form_tokens_purge(*, older_than: datetime) -> int:
    """Delete tokens issued before `older_than` (used ones are kept as long as idempotency keys)."""
    deleted, _ = ConsoleFormToken.objects.filter(created_at__lt=older_than).delete()
    return deleted
