"""API: ledger."""

urlpatterns: list = []
