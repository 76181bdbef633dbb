"""Routes of the rate-card API (trailing slashes optional)."""

from django.urls import re_path

from . import views

ID = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(r"^channels/?$", views.ChannelListView.as_view(), name="api-channels"),
    re_path(rf"^organizations/{ID}/rate-card/?$", views.RateCardView.as_view(), name="api-rate-card"),
    re_path(rf"^organizations/{ID}/rate-card/history/?$", views.RateCardHistoryView.as_view(),
            name="api-rate-card-history"),
    re_path(r"^estimates/?$", views.EstimateView.as_view(), name="api-estimates"),
]
