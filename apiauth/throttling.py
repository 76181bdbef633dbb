"""API throttles (DRF's cache-backed ones): per service token, per staff session and per stranger's address.

Each records its quota on the request so the response can carry `RateLimit-Policy` / `RateLimit`
headers (IETF httpapi draft). Throttling fails open: when the cache (Redis) is unreachable, the
request is allowed and a warning logged, so a cache outage never takes the API down.
"""

import logging
import math
from dataclasses import dataclass

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


class FailOpenRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle that allows the request when its cache fails and records the quota on the request."""

    policy = ""

    def allow_request(self, request, view):
        self.key = None
        try:
            allowed = super().allow_request(request, view)
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
