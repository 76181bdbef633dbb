"""API throttles (DRF's cache-backed ones): per service token, per staff session and per stranger's address.

Each records its quota on the request so the response can carry `RateLimit-Policy` / `RateLimit`
headers (IETF httpapi draft). Throttling fails open: when the cache (Redis) is unreachable, the
request is allowed and a warning logged, so a cache outage never takes the API down.

On Redis the sliding window of DRF's SimpleRateThrottle is kept as a sorted set counted by one script:
one round trip per request whatever the rate (DRF reads and writes the whole list of timestamps,
twice, which at a service's thousands of requests a minute costs more than the request's own work).
"""

import hashlib
import logging
import math
import uuid
from dataclasses import dataclass

from redis.exceptions import NoScriptError
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from .models import ServiceToken

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitStatus:
    """The quota of the throttle that counted a request, as the RateLimit headers tell it."""

    policy: str
    limit: int
    remaining: int
    window: int  # seconds
    reset: int  # seconds until a request is allowed again (0: now)

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window}',
                "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset}'}


# KEYS[1] the window; ARGV: now, duration (s), limit, a unique member. Drops what left the window, counts,
# adds this request when under the limit, and returns {allowed, count, oldest timestamp in the window}.
SLIDING_WINDOW = """
local key, now, duration, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('EXPIRE', key, math.ceil(duration))
    count = count + 1
    allowed = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or false}
"""
SLIDING_WINDOW_SHA = hashlib.sha1(SLIDING_WINDOW.encode()).hexdigest()  # noqa: S324 - the script's id in Redis


class Window:
    """What DRF's `wait()` and the RateLimit headers read of a window: its size and its oldest timestamp."""

    def __init__(self, count: int, oldest: float | None):
        self.count, self.oldest = count, oldest

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if index != -1 or self.oldest is None:
            raise IndexError(index)
        return self.oldest


def _redis_client(cache):
    """The redis-py client behind a django-redis cache, else None (another backend: DRF's list is used)."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


class FailOpenRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle that allows the request when its cache fails and records the quota on the request."""

    policy = ""

    def allow_request(self, request, view):
        self.key = None
        try:
            allowed = self.counted(request, view)
        except Exception:  # whatever the cache raises (connection refused, timeout): allow
            logger.warning("Throttle %s skipped: the cache is unavailable.", type(self).__name__, exc_info=True)
            return True
        if self.key is not None:
            remaining = max(0, self.num_requests - len(self.history))
            # a sliding window: the oldest counted request leaves it first
            reset = math.ceil(self.duration - (self.now - self.history[-1])) if self.history else 0
            request._request.rate_limit = RateLimitStatus(self.policy, self.num_requests, remaining,
                                                          int(self.duration), max(0, reset))
        return allowed

    def counted(self, request, view) -> bool:
        """DRF's sliding window, counted on Redis by one script (SLIDING_WINDOW) when the cache is django-redis."""
        client = _redis_client(self.cache)
        if client is None or self.rate is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        args = [repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{uuid.uuid4().hex[:8]}"]
        keys = [self.cache.make_key(self.key + ":window")]
        try:
            allowed, count, oldest = client.evalsha(SLIDING_WINDOW_SHA, 1, *keys, *args)
        except NoScriptError:
            allowed, count, oldest = client.eval(SLIDING_WINDOW, 1, *keys, *args)
        self.history = Window(int(count), float(oldest) if oldest else None)
        return bool(allowed)


class ServiceTokenRateThrottle(FailOpenRateThrottle):
    """Counts requests per service token; a token's own `throttle_rate` overrides the default."""

    scope = "service_token"
    policy = "token"

    def allow_request(self, request, view):
        token = request.auth
        if isinstance(token, ServiceToken) and token.throttle_rate:
            self.rate = token.throttle_rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ServiceToken):
            return None
        # the random prefix keeps counts apart when a re-created database reuses token ids
        return self.cache_format % {"scope": self.scope, "ident": f"{request.auth.pk}-{request.auth.prefix}"}


class StaffSessionRateThrottle(FailOpenRateThrottle, UserRateThrottle):
    """Counts requests per staff user calling the API with an admin session."""

    scope = "user"
    policy = "session"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ServiceToken) or not getattr(request.user, "pk", None):
            return None
        return super().get_cache_key(request, view)


class StrangerRateThrottle(FailOpenRateThrottle):
    """Counts requests without valid credentials (none, or a bad token) per client address.

    The address is REMOTE_ADDR, or the last proxy's X-Forwarded-For entry when TRUSTED_PROXY is on
    (DRF's NUM_PROXIES).
    """

    scope = "stranger"
    policy = "address"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ServiceToken) or getattr(request.user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
