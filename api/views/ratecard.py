"""API: ratecard."""

urlpatterns: list = []
