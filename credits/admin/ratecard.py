"""Rate cards: billable actions and their prices, SMS rates (CSV in and out), the quotes shown
before a paid action, and "Try this action" (C5, D2, S1). Permissions: trying an
action requires `credits.add_consumption`; importing SMS rates `credits.add_smsrate` and
`credits.change_smsrate`; exporting them `credits.view_smsrate`."""

from collections.abc import Iterable

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.admin_base import ReadOnlyAdmin, RefusalsAsFormErrors, requires
from config.errors import DomainError
from credits import selectors, services
from credits.admin.forms import SmsImportForm, TryActionForm
from credits.models import ActionPrice, BillableAction, Consumption, Quote, SmsRate

TRY_PERMISSION = "credits.add_consumption"
IMPORT_PERMISSIONS = ("credits.add_smsrate", "credits.change_smsrate")


class ActionPriceInline(admin.TabularInline):
    model = ActionPrice
    extra = 1
    fields = ["match", "credits"]


def consumed(actions: Iterable[BillableAction]) -> dict[int, int]:
    """How many consumptions were made with each of these actions (by their pk; unused ones
    are left out). Consumptions name their action by code within its organisation."""
    actions = list(actions)
    if not actions:
        return {}
    rows = (
        Consumption.objects.filter(
            organisation_id__in={action.organisation_id for action in actions},
            action_code__in={action.code for action in actions},
        )
        .values_list("organisation_id", "action_code")
        .annotate(uses=Count("pk"))
        .order_by()
    )
    uses = {(organisation_id, code): count for organisation_id, code, count in rows}
    found = {action.pk: uses.get((action.organisation_id, action.code), 0) for action in actions}
    return {pk: count for pk, count in found.items() if count}


@admin.register(BillableAction)
class BillableActionAdmin(RefusalsAsFormErrors):
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

    def save_model(self, request: HttpRequest, obj: BillableAction, form, change: bool) -> None:
        services.save_action(action=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for row in formset.save(commit=False):
            row.action = form.instance
            services.save_action_price(row=row)
        for row in formset.deleted_objects:
            row.delete()

    def get_deleted_objects(self, objs, request: HttpRequest) -> tuple:
        """A consumed action is kept (its consumptions name it; a trigger refuses the DELETE
        too, `credits/sql/billable_action_kept.*.sql`): listed as protected, Django's delete
        page and "delete selected" refuse, and say why and what to do instead."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        by_pk = {action.pk: action for action in objs}
        active = BillableAction._meta.get_field("is_active").verbose_name
        refusals = [
            ngettext(
                "%(count)s consumption was made with “%(action)s”: deactivate the action "
                "instead (untick “%(active)s”).",
                "%(count)s consumptions were made with “%(action)s”: deactivate the action "
                "instead (untick “%(active)s”).",
                count,
            )
            % {"count": count, "action": by_pk[pk], "active": active}
            for pk, count in consumed(by_pk.values()).items()
        ]
        return deleted, model_count, perms_needed, [*protected, *refusals]

    def get_readonly_fields(self, request: HttpRequest, obj: BillableAction | None = None):
        """A consumed action keeps its code and organisation: its consumptions and usage name
        it by them, and a renamed action could then be deleted (a trigger refuses both)."""
        fixed = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk and consumed([obj]):
            fixed += ["code", "organisation"]
        return fixed

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        context["can_try"] = request.user.has_perm(TRY_PERMISSION)
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list:
        own = [
            path(
                "<int:action_id>/try/",
                self.admin_site.admin_view(self.try_action),
                name="credits_billableaction_try",
            )
        ]
        return own + super().get_urls()

    @requires(TRY_PERMISSION)
    def try_action(self, request: HttpRequest, action_id: int) -> HttpResponse:
        """Quote an action for a client, as the portal would before a paid action (C5)."""
        action = get_object_or_404(BillableAction, pk=action_id)
        form = TryActionForm(request.POST or None, action=action)
        recap = None
        if request.method == "POST" and form.is_valid():
            try:
                recap = services.quote(
                    client=form.cleaned_data["client"],
                    action=action,
                    params=form.params(),
                    actor=request.user,
                    now=timezone.now(),
                )
            except DomainError as refusal:
                form.add_error(None, str(refusal))
        return TemplateResponse(
            request,
            "admin/credits/try_action.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Try “%(action)s”") % {"action": action.name},
                "action": action,
                "form": form,
                "quote": recap,
                "opts": self.model._meta,
                "original": action,
            },
        )


@admin.register(SmsRate)
class SmsRateAdmin(RefusalsAsFormErrors):
    list_display = ["country", "name", "calling_code", "credits_per_segment", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["country", "name", "organisation__name"]
    actions = ["export_csv"]
    change_list_template = "admin/credits/smsrate/change_list.html"

    def save_model(self, request: HttpRequest, obj: SmsRate, form, change: bool) -> None:
        services.save_sms_rate(rate=obj)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("credits.view_smsrate")

    @admin.action(description=_("Export the selected rates as CSV"), permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sms-rates.csv"'
        response.write(selectors.sms_rates_csv(queryset))
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "can_import": request.user.has_perms(IMPORT_PERMISSIONS),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list:
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_csv),
                name="credits_smsrate_import",
            )
        ]
        return own + super().get_urls()

    @requires(*IMPORT_PERMISSIONS)
    def import_csv(self, request: HttpRequest) -> HttpResponse:
        form = SmsImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = services.import_sms_rates(
                    organisation=form.cleaned_data["organisation"],
                    csv_text=form.cleaned_data["file"].read().decode("utf-8-sig"),
                )
            except DomainError as refusal:
                form.add_error("file", str(refusal))
            except UnicodeDecodeError:
                form.add_error("file", gettext("The file is not UTF-8 text."))
            else:
                self.message_user(
                    request,
                    ngettext("%(count)s SMS rate imported.", "%(count)s SMS rates imported.", count)
                    % {"count": count},
                )
                return HttpResponseRedirect(reverse("admin:credits_smsrate_changelist"))
        return TemplateResponse(
            request,
            "admin/credits/import_sms_rates.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Import SMS rates"),
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
