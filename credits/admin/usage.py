"""Usage roll-ups and the alerts' records (D3, B1, B2): written by the jobs and services only,
read here."""

from django.contrib import admin

from config.admin_base import ReadOnlyAdmin
from credits.models import (
    ExpiryReminder,
    LowBalanceAlert,
    Notice,
    UsageDay,
    UsagePersonDay,
    UsageRollup,
)


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyAdmin):
    """How far each organisation's usage is rolled up (written by the hourly job only)."""

    list_display = ["organisation", "rolled_until", "time_zone"]
    search_fields = ["organisation__name", "organisation__slug"]


@admin.register(UsageDay)
class UsageDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "organisation", "client", "action_code", "uses", "credits"]
    list_filter = ["organisation"]
    date_hierarchy = "day"
    list_select_related = ["organisation", "client"]


@admin.register(UsagePersonDay)
class UsagePersonDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "organisation", "actor_id", "uses", "credits"]
    list_filter = ["organisation"]
    date_hierarchy = "day"


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """What was e-mailed to owners, and whether the mail server took it."""

    list_display = ["created_at", "organisation", "kind", "subject", "status", "attempts"]
    list_filter = ["kind", "status"]
    search_fields = ["organisation__name", "organisation__slug", "subject"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation"]


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "lot", "lead_days", "expires_at", "credits"]
    list_filter = ["lead_days"]
    search_fields = ["organisation__name", "organisation__slug"]
    list_select_related = ["organisation", "lot"]
    raw_id_fields = ["lot", "notice"]


@admin.register(LowBalanceAlert)
class LowBalanceAlertAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "armed", "alerted_at", "rearmed_at"]
    list_filter = ["armed"]
    search_fields = ["organisation__name", "organisation__slug"]
