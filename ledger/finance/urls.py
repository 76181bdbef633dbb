"""URLs of the finance pages (mounted at /admin/finance/, namespace "finance")."""

from django.urls import path

from . import overview, timeline, views

app_name = "finance"
urlpatterns = [
    path("", overview.landing, name="index"),
    path("reports/usage/", overview.usage_report, name="usage_overview"),
    path("reports/usage.csv", overview.usage_report_csv, name="usage_overview_csv"),
    path("reports/expired/", overview.expired_report, name="expired_credits"),
    path("reports/expired.csv", overview.expired_report_csv, name="expired_credits_csv"),
    path("orgs/<uuid:org_id>/activity/", timeline.organization_activity, name="activity"),
    path("orgs/<uuid:org_id>/activity.csv", timeline.organization_activity_csv, name="activity_csv"),
    path("orgs/<uuid:org_id>/ledger/", views.org_ledger, name="org_ledger"),
    path("orgs/<uuid:org_id>/ledger.csv", views.org_ledger_csv, name="org_ledger_csv"),
    path("orgs/<uuid:org_id>/ledger/print/", views.org_ledger_print, name="org_ledger_print"),
    path("orgs/<uuid:org_id>/reports/", views.organization_reports, name="reports"),
    path("orgs/<uuid:org_id>/reports/usage-6m.csv", views.usage_csv, name="usage_csv"),
    path("orgs/<uuid:org_id>/reports/topups.csv", views.topups_csv, name="topups_csv"),
    path("accounts/<uuid:account_id>/ledger/", views.account_ledger, name="account_ledger"),
    path("accounts/<uuid:account_id>/ledger.csv", views.account_ledger_csv, name="account_ledger_csv"),
    path("accounts/<uuid:account_id>/ledger/print/", views.account_ledger_print, name="account_ledger_print"),
    path("my/", views.my_ledger, name="my_ledger"),
    path("my/<uuid:account_id>/", views.my_account_ledger, name="my_account_ledger"),
    path("my/<uuid:account_id>/ledger.csv", views.my_account_ledger_csv, name="my_account_ledger_csv"),
    path("my/<uuid:account_id>/print/", views.my_account_ledger_print, name="my_account_ledger_print"),
]
