"""Root URLs: the staff console (admin), finance pages and the service API under /api/v1/."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from ledger.admin.landing import console_login, landing

from .health import health

admin.site.site_header = "Credits back office"
admin.site.site_title = "Credits back office"
admin.site.index_title = "Credits"
admin.site.site_url = None  # no public site: hide "View site"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    re_path(r"^api/v1/health/?$", health, name="health"),
    path("api/v1/", include("creditsite.api_urls")),
    path("admin/finance/", include("ledger.finance.urls")),
    path("admin/login/", console_login, name="console-login"),  # before the admin's own: lands by role
    path("admin/landing/", landing, name="console-landing"),
    path("admin/", admin.site.urls),
]
