"""Service tokens looked up once per process, and refused at once when revoked or changed.

Each web process keeps the tokens it has seen, keyed by their hash, with the token's version read from
Redis (`apiauth:token-version:<hash>`) before the database row was. A request reads that version (one
Redis GET instead of a database query and a model instance) and uses the kept token only while the
version is the same. Every change of a token (revoke, edit in the admin) writes a new version, before
and after its commit, so the next request anywhere reads the row again and a revoked token is refused
at once. Without Redis (unreachable, or no version yet) the row is read from the database every time.
A kept token is also read again after API_TOKEN_CACHE_SECONDS whatever Redis says (a backstop for a
version lost while Redis was unreachable during a revoke); 0 switches the cache off.
"""

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .models import ServiceToken

_tokens: dict[str, tuple[ServiceToken, str, float]] = {}  # hash -> (token, version, read at)


def version_key(token_hash: str) -> str:
    return f"apiauth:token-version:{token_hash}"


def _version(token_hash: str) -> str | None:
    try:
        return cache.get(version_key(token_hash))
    except Exception:  # another cache backend that raises: read the row
        return None


def token_by_hash(token_hash: str) -> ServiceToken | None:
    """The token with this hash (revoked or not), from this process's memory when its version is current."""
    ttl = settings.API_TOKEN_CACHE_SECONDS
    if ttl <= 0:
        return ServiceToken.objects.filter(token_hash=token_hash).first()
    version = _version(token_hash)  # read before the row: a change after this read shows as a new version
    kept = _tokens.get(token_hash)
    now = time.monotonic()
    if version is not None and kept is not None and kept[1] == version and now - kept[2] < ttl:
        return kept[0]
    token = ServiceToken.objects.filter(token_hash=token_hash).first()
    if token is None or token.revoked_at is not None:
        _tokens.pop(token_hash, None)
    elif version is None:
        cache.add(version_key(token_hash), uuid.uuid4().hex, timeout=None)  # kept from the next request on
    else:
        if len(_tokens) > 1000:
            _tokens.clear()
        _tokens[token_hash] = (token, version, now)
    return token


def token_changed(token_hash: str) -> None:
    """A token was revoked or edited: a new version now and after the commit (every process reads it again)."""
    def bump():
        cache.set(version_key(token_hash), uuid.uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump)
    _tokens.pop(token_hash, None)


def on_token_saved(sender, instance: ServiceToken, **kwargs) -> None:
    """post_save / post_delete receiver of ServiceToken (connected in ApiauthConfig.ready)."""
    if instance.token_hash:
        token_changed(instance.token_hash)
