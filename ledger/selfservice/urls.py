"""URLs of individual user credits (mounted at /admin/credits/, namespace "selfservice")."""

from django.urls import path

from . import views

app_name = "selfservice"
urlpatterns = [
    path("my/", views.my_credits, name="my_credits"),
    path("my/<uuid:account_id>/transfer/", views.transfer, name="transfer"),
    path("orgs/<uuid:org_id>/", views.organization_credits, name="organization_credits"),
]
