"""URLs of the finance pages."""

app_name = "finance"
urlpatterns: list = []
