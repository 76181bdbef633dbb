"""The service API v1: each app contributes its routes (trailing slashes optional), plus schema and docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger.api.views import not_found

urlpatterns = [
    path("", include("ledger.api.urls")),
    path("", include("ratecards.api.urls")),
    path("", include("payments.api.urls")),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
            name="api-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema", authentication_classes=[],
                                                        permission_classes=[]), name="api-docs"),
    re_path(r"^", not_found),
]
