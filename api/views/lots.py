"""API: lots."""

urlpatterns: list = []
