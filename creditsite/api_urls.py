"""The service API v1: each app contributes its routes (trailing slashes optional)."""

from django.urls import include, path

urlpatterns = [
    path("", include("ledger.api.urls")),
    path("", include("ratecards.api.urls")),
]
