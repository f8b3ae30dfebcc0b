"""Purchases in the back office: read-only history, where an unfinished one stands."""

from django.contrib import admin

from billing.admin.common import ReadOnly
from billing.models import Purchase


@admin.register(Purchase)
class PurchaseAdmin(ReadOnly):
    list_display = [
        "created_at",
        "organisation",
        "credits",
        "amount",
        "currency",
        "method",
        "status",
        "decline_reason",
        "invoice",
    ]
    list_filter = ["status", "method", "organisation"]
    search_fields = ["organisation__name", "gateway_reference", "invoice__number"]
    date_hierarchy = "created_at"
