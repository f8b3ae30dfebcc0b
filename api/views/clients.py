"""API: clients."""

urlpatterns: list = []
