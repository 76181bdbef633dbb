"""The payments page of the finance section (mounted at /admin/finance/payments/, namespace "finance_payments")."""

from django.urls import path

from . import finance_views

app_name = "finance_payments"
urlpatterns = [path("", finance_views.payments_report, name="report")]
