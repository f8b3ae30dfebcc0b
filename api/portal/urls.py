"""Organisation pages of the API: keys (K4)."""

urlpatterns: list = []
