"""API: assignments."""

urlpatterns: list = []
