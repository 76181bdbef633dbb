"""A URLconf for fault tests: the project's URLs plus plain (non-DRF) views that fail."""

from django.db import OperationalError
from django.urls import path

from creditsite.urls import handler400, handler403, handler404, handler500
from creditsite.urls import urlpatterns as site_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def database_down(request):
    raise OperationalError("terminating connection due to administrator command")


def bug(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/fault/database", database_down),
    path("api/v1/fault/bug", bug),
    path("fault/bug", bug),
    *site_urlpatterns,
]
