"""Organisation pages of webhooks: endpoints, deliveries, replays (B3)."""

urlpatterns: list = []
