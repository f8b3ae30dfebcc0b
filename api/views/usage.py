"""API: usage."""

urlpatterns: list = []
