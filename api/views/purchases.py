"""API: purchases."""

urlpatterns: list = []
