"""Root URLs: the staff console (admin), finance pages, the service API under /api/v1/, metrics, email webhooks."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from ledger.admin.landing import console_login, landing
from ops.views import metrics_view

from .health import health

# Under /api/ errors are the API's JSON; elsewhere (the admin) Django's own pages.
handler400 = "ledger.api.errors.handler400"
handler403 = "ledger.api.errors.handler403"
handler404 = "ledger.api.errors.handler404"
handler500 = "ledger.api.errors.handler500"

admin.site.site_header = "Credits back office"
admin.site.site_title = "Credits back office"
admin.site.index_title = "Credits"
admin.site.site_url = None  # no public site: hide "View site"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    re_path(r"^api/v1/health/?$", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("anymail/", include("anymail.urls")),  # provider tracking webhooks: bounces and complaints
    path("api/v1/", include("creditsite.api_urls")),
    path("admin/finance/payments/", include("payments.finance_urls")),
    path("admin/finance/", include("ledger.finance.urls")),
    path("admin/credits/", include("ledger.selfservice.urls")),
    path("payments/", include("payments.urls")),
    path("admin/login/", console_login, name="console-login"),  # before the admin's own: lands by role
    path("admin/landing/", landing, name="console-landing"),
    path("admin/", admin.site.urls),
]
