"""API: quotes."""

urlpatterns: list = []
