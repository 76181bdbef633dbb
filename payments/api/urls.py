"""Routes of the top-up API (trailing slashes optional)."""

from django.urls import re_path

from . import views

ID = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(rf"^accounts/{ID}/top-ups/?$", views.AccountTopUpsView.as_view(), name="api-account-top-ups"),
    re_path(rf"^top-ups/{ID}/?$", views.TopUpDetailView.as_view(), name="api-top-up"),
    re_path(rf"^top-ups/{ID}/cancel/?$", views.TopUpCancelView.as_view(), name="api-top-up-cancel"),
    re_path(rf"^top-ups/{ID}/receipt/?$", views.TopUpReceiptView.as_view(), name="api-top-up-receipt"),
    re_path(r"^payments/webhooks/(?P<provider>[a-z_]+)/?$", views.WebhookView.as_view(), name="api-payment-webhook"),
]
