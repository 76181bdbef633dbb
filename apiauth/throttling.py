"""Per-token throttling with DRF's cache-backed throttles (rate per token, or API_TOKEN_RATE)."""

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from .models import ServiceToken


class ServiceTokenRateThrottle(SimpleRateThrottle):
    """Counts requests per service token; a token's own `throttle_rate` overrides the default."""

    scope = "service_token"

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


class StaffSessionRateThrottle(UserRateThrottle):
    """Counts requests per staff user calling the API with an admin session."""

    scope = "user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ServiceToken) or not getattr(request.user, "pk", None):
            return None
        return super().get_cache_key(request, view)
