"""Back office for the ledger (K1): figures and entries are read-only; every change is an
admin action or form that calls one service."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from clients.models import Client, Organisation
from config.admin_base import ReadOnlyAdmin
from credits import selectors, services
from credits.exceptions import CreditsError
from credits.models import (
    ActionPrice,
    Assignment,
    BillableAction,
    ClientAccount,
    Consumption,
    CreditPool,
    ExpiryReminder,
    Hold,
    HoldStatus,
    LedgerEntry,
    Lot,
    LowBalanceAlert,
    Notice,
    Quote,
    SmsRate,
    UsageDay,
    UsagePersonDay,
    UsageRollup,
)


class AdjustForm(forms.Form):
    credits = forms.IntegerField(help_text="Positive adds an adjustment lot; negative removes.")
    reason = forms.CharField(max_length=300)


@admin.register(CreditPool)
class CreditPoolAdmin(admin.ModelAdmin):
    list_display = [
        "organisation",
        "preset",
        "balance",
        "held",
        "assigned",
        "unassigned",
        "expiry_kind",
        "expiry_months",
        "last_activity_at",
    ]
    list_filter = ["preset", "expiry_kind", "purchase_extends_expiry", "assignments_reversible"]
    search_fields = ["organisation__name", "organisation__slug"]
    readonly_fields = ["organisation", "balance", "held", "assigned", "last_activity_at"]
    fieldsets = [
        (None, {"fields": ["organisation", "balance", "held", "assigned", "last_activity_at"]}),
        ("Policy", {"fields": ["preset", *services.POLICY_FIELDS]}),
    ]
    actions = ["adjust_credits", "expire_now"]

    def has_add_permission(self, request) -> bool:
        return False  # a pool is opened with its organisation

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            if "preset" in form.changed_data:
                services.apply_preset(organisation=obj.organisation, preset=obj.preset)
            policy = {f: form.cleaned_data[f] for f in services.POLICY_FIELDS}
            if "preset" not in form.changed_data:
                services.update_policy(organisation=obj.organisation, **policy)
        except CreditsError as error:
            messages.error(request, str(error))

    @admin.action(description="Adjust credits (correction with a reason)")
    def adjust_credits(self, request, queryset):
        form = AdjustForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for pool in queryset.select_related("organisation"):
                try:
                    services.adjust(
                        organisation=pool.organisation,
                        credits=form.cleaned_data["credits"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        now=timezone.now(),
                    )
                except CreditsError as error:
                    self.message_user(request, f"{pool.organisation}: {error}", messages.ERROR)
                else:
                    self.message_user(request, f"{pool.organisation}: adjusted.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/credits/adjust.html",
            {
                **self.admin_site.each_context(request),
                "title": "Adjust credits",
                "form": form,
                "pools": queryset,
                "action": "adjust_credits",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Expire due credits and holds now")
    def expire_now(self, request, queryset):
        run = services.expire_due(now=timezone.now())
        self.message_user(
            request,
            f"{run.credits_expired} credits and {run.holds_expired} holds expired "
            f"in {run.organisations} organisation(s).",
        )


@admin.register(ClientAccount)
class ClientAccountAdmin(admin.ModelAdmin):
    list_display = [
        "client",
        "organisation",
        "assigned_remaining",
        "draws_from_pool",
        "limit_kind",
        "limit",
        "used",
        "window_start",
    ]
    list_filter = ["limit_kind", "draws_from_pool", "organisation"]
    search_fields = ["client__name", "organisation__name"]
    readonly_fields = ["client", "organisation", "assigned_remaining", "used", "window_start"]
    fields = [*readonly_fields, "draws_from_pool", "limit_kind", "limit"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            services.set_spending_limit(
                client=obj.client,
                kind=form.cleaned_data["limit_kind"],
                limit=form.cleaned_data["limit"],
                draws_from_pool=form.cleaned_data["draws_from_pool"],
                actor=request.user,
                now=timezone.now(),
            )
        except CreditsError as error:
            messages.error(request, str(error))


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "organisation",
        "source",
        "quantity",
        "remaining",
        "expires_at",
        "unit_cost",
        "reference",
        "created_at",
    ]
    list_filter = ["source", "organisation"]
    search_fields = ["reference", "organisation__name"]
    date_hierarchy = "created_at"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organisation",
        "kind",
        "credits",
        "balance_after",
        "held_delta",
        "assigned_delta",
        "used_delta",
        "client",
        "lot",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "organisation"]
    search_fields = ["reference", "idempotency_key", "client__name", "organisation__name"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "client", "lot", "actor"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "organisation",
        "client",
        "credits",
        "from_assigned",
        "from_pool",
        "status",
        "action_code",
        "expires_at",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "organisation"]
    search_fields = ["client__name", "action_code", "description"]
    actions = ["release_holds"]

    @admin.action(description="Release the selected active holds")
    def release_holds(self, request, queryset):
        for reservation in queryset.filter(status=HoldStatus.ACTIVE):
            try:
                services.release(hold=reservation, actor=request.user, now=timezone.now())
            except CreditsError as error:
                self.message_user(request, f"Hold #{reservation.pk}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Hold #{reservation.pk} released.")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "client", "kind", "credits", "reference", "actor"]
    list_filter = ["kind", "organisation"]
    search_fields = ["client__name", "reference", "comment"]


@admin.register(Consumption)
class ConsumptionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organisation",
        "client",
        "action_code",
        "credits",
        "from_assigned",
        "from_pool",
        "actor",
    ]
    list_filter = ["action_code", "organisation"]
    search_fields = ["client__name", "action_code", "description"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "client", "actor"]


# --- rate card (issue: rate card, pricing rules, quotes) -----------------------------------


class ActionPriceInline(admin.TabularInline):
    model = ActionPrice
    extra = 1
    fields = ["match", "credits"]


class TryActionForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    params = forms.JSONField(initial=dict, required=False, help_text='e.g. {"rows": 10}')

    def __init__(self, *args, action: BillableAction, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.filter(
            organisation_id=action.organisation_id
        )


@admin.register(BillableAction)
class BillableActionAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "organisation",
        "category",
        "rule",
        "credits",
        "unit_param",
        "is_active",
    ]
    list_filter = ["rule", "is_active", "organisation", "category"]
    search_fields = ["code", "name", "organisation__name"]
    inlines = [ActionPriceInline]
    change_form_template = "admin/credits/billableaction/change_form.html"

    def save_model(self, request, obj, form, change) -> None:
        services.save_action(action=obj)

    def save_formset(self, request, form, formset, change) -> None:
        for row in formset.save(commit=False):
            row.action = form.instance
            services.save_action_price(row=row)
        for row in formset.deleted_objects:
            row.delete()

    def get_urls(self):
        own = [
            path(
                "<int:action_id>/try/",
                self.admin_site.admin_view(self.try_action),
                name="credits_billableaction_try",
            )
        ]
        return own + super().get_urls()

    def try_action(self, request, action_id: int):
        """Quote an action for a client, as the portal would before a paid action (C5)."""
        action = BillableAction.objects.get(pk=action_id)
        form = TryActionForm(request.POST or None, action=action)
        recap, error = None, ""
        if request.method == "POST" and form.is_valid():
            try:
                recap = services.quote(
                    client=form.cleaned_data["client"],
                    action=action,
                    params=form.cleaned_data["params"] or {},
                    actor=request.user,
                    now=timezone.now(),
                )
            except CreditsError as refusal:
                error = str(refusal)
        return TemplateResponse(
            request,
            "admin/credits/try_action.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Try “{action.name}”",
                "action": action,
                "form": form,
                "quote": recap,
                "error": error,
                "opts": self.model._meta,
            },
        )


class SmsImportForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.all())
    file = forms.FileField(help_text="Columns: " + ", ".join(services.SMS_CSV_COLUMNS))


@admin.register(SmsRate)
class SmsRateAdmin(admin.ModelAdmin):
    list_display = ["country", "name", "calling_code", "credits_per_segment", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["country", "name", "organisation__name"]
    actions = ["export_csv"]
    change_list_template = "admin/credits/smsrate/change_list.html"

    def save_model(self, request, obj, form, change) -> None:
        services.save_sms_rate(rate=obj)

    @admin.action(description="Export the selected rates as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sms-rates.csv"'
        response.write(selectors.sms_rates_csv(queryset))
        return response

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_csv),
                name="credits_smsrate_import",
            )
        ]
        return own + super().get_urls()

    def import_csv(self, request):
        form = SmsImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = services.import_sms_rates(
                    organisation=form.cleaned_data["organisation"],
                    csv_text=form.cleaned_data["file"].read().decode("utf-8-sig"),
                )
            except (CreditsError, UnicodeDecodeError) as refusal:
                form.add_error("file", str(refusal))
            else:
                self.message_user(request, f"{count} SMS rates imported.")
                return HttpResponseRedirect(reverse("admin:credits_smsrate_changelist"))
        return TemplateResponse(
            request,
            "admin/credits/import_sms_rates.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import SMS rates",
                "form": form,
                "opts": self.model._meta,
            },
        )


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "created_at",
        "organisation",
        "client",
        "action",
        "credits",
        "balance_before",
        "balance_after",
        "allowed",
        "reason",
        "expires_at",
        "consumption",
    ]
    list_filter = ["allowed", "reason", "organisation"]
    search_fields = ["client__name", "action__code"]


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


# --- alerts (D3, B1, B2): written by the jobs and services only ------------------------------


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
