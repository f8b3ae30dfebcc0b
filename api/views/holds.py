"""API: holds."""

urlpatterns: list = []
