"""Webhook endpoints, events and deliveries (B3)."""
