"""Routes of the ledger API (trailing slashes optional)."""

from django.urls import re_path

from . import views

ID = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(r"^organizations/?$", views.OrganizationListView.as_view(), name="api-organizations"),
    re_path(rf"^organizations/{ID}/?$", views.OrganizationDetailView.as_view(), name="api-organization"),
    re_path(rf"^organizations/{ID}/accounts/?$", views.OrganizationAccountsView.as_view(),
            name="api-organization-accounts"),
    re_path(rf"^accounts/{ID}/?$", views.AccountDetailView.as_view(), name="api-account"),
    re_path(rf"^accounts/{ID}/credit-limit/?$", views.CreditLimitView.as_view(), name="api-account-credit-limit"),
    re_path(rf"^accounts/{ID}/credits/?$", views.CreditsView.as_view(), name="api-account-credits"),
    re_path(rf"^accounts/{ID}/removals/?$", views.RemovalsView.as_view(), name="api-account-removals"),
    re_path(rf"^accounts/{ID}/lots/?$", views.LotsView.as_view(), name="api-account-lots"),
    re_path(rf"^accounts/{ID}/ledger/?$", views.LedgerView.as_view(), name="api-account-ledger"),
    re_path(rf"^accounts/{ID}/ledger\.csv$", views.LedgerCsvView.as_view(), name="api-account-ledger-csv"),
    re_path(r"^transfers/?$", views.TransferView.as_view(), name="api-transfers"),
    re_path(r"^charges/?$", views.ChargeView.as_view(), name="api-charges"),
    re_path(r"^charges/batch/?$", views.BatchView.as_view(), name="api-charges-batch"),
    re_path(r"^holds/?$", views.HoldCreateView.as_view(), name="api-holds"),
    re_path(rf"^holds/{ID}/?$", views.HoldDetailView.as_view(), name="api-hold"),
    re_path(rf"^holds/{ID}/release/?$", views.HoldReleaseView.as_view(), name="api-hold-release"),
]
