"""Pools and client accounts: their policies and limits are edited here through the services,
and credits are corrected with the "Adjust credits" action (K1). Both require
`credits.change_creditpool` / `credits.change_clientaccount`."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin_base import RefusalsAsFormErrors
from config.errors import DomainError
from credits import services
from credits.admin.forms import AdjustForm, ClientAccountForm
from credits.models import ClientAccount, CreditPool


@admin.register(CreditPool)
class CreditPoolAdmin(RefusalsAsFormErrors):
    list_display = [
        "organisation",
        "preset",
        "balance",
        "held",
        "assigned",
        "unassigned_credits",
        "expiry_kind",
        "expiry_months",
        "last_activity_at",
    ]
    list_filter = ["preset", "expiry_kind", "purchase_extends_expiry", "assignments_reversible"]
    search_fields = ["organisation__name", "organisation__slug"]
    readonly_fields = ["organisation", "balance", "held", "assigned", "last_activity_at"]
    fieldsets = [
        (None, {"fields": ["organisation", "balance", "held", "assigned", "last_activity_at"]}),
        (_("Policy"), {"fields": ["preset", *services.POLICY_FIELDS]}),
    ]
    actions = ["adjust_credits", "expire_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a pool is opened with its organisation

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("credits.change_creditpool")

    def has_expire_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("credits.change_creditpool")

    @admin.display(description=_("unassigned"))
    def unassigned_credits(self, pool: CreditPool) -> int:
        return pool.unassigned

    def save_model(self, request: HttpRequest, obj: CreditPool, form, change: bool) -> None:
        """A refusal propagates: RefusalsAsFormErrors shows it on the form."""
        if "preset" in form.changed_data:
            services.apply_preset(organisation=obj.organisation, preset=obj.preset)
        else:
            policy = {name: form.cleaned_data[name] for name in services.POLICY_FIELDS}
            services.update_policy(organisation=obj.organisation, **policy)

    @admin.action(
        description=_("Adjust credits (correction with a reason)"), permissions=["adjust"]
    )
    def adjust_credits(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """One service call per selected pool. A pool the service refuses is shown again on
        the form with the reason (and only the refused pools stay selected, so that sending
        the form again cannot adjust twice the ones already done)."""
        pools = list(queryset.select_related("organisation"))
        form = AdjustForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            refused = []
            for pool in pools:
                try:
                    services.adjust(
                        organisation=pool.organisation,
                        credits=form.cleaned_data["credits"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        now=timezone.now(),
                        idempotency_key=form.idempotency_key(pool.pk),
                    )
                except DomainError as refusal:
                    refused.append(pool)
                    form.add_error(
                        None,
                        gettext("%(organisation)s: %(refusal)s")
                        % {"organisation": pool.organisation, "refusal": refusal},
                    )
                else:
                    self.message_user(
                        request,
                        gettext("%(organisation)s: adjustment of %(credits)s credits recorded.")
                        % {
                            "organisation": pool.organisation,
                            "credits": f"{form.cleaned_data['credits']:+d}",
                        },
                        messages.SUCCESS,
                    )
            if not refused:
                return None
            pools = refused
        return TemplateResponse(
            request,
            "admin/credits/adjust.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Adjust credits"),
                "form": form,
                "pools": pools,
                "action": "adjust_credits",
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Expire due credits and holds now"), permissions=["expire"])
    def expire_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The expiry job's body, for every organisation (the selection only starts it)."""
        run = services.expire_due(now=timezone.now())
        self.message_user(
            request,
            gettext(
                "Credits expired: %(credits)s; holds expired: %(holds)s; "
                "organisations: %(organisations)s."
            )
            % {
                "credits": run.credits_expired,
                "holds": run.holds_expired,
                "organisations": run.organisations,
            },
        )


@admin.register(ClientAccount)
class ClientAccountAdmin(RefusalsAsFormErrors):
    form = ClientAccountForm
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ClientAccount, form, change: bool) -> None:
        """A refusal propagates: RefusalsAsFormErrors shows it on the form."""
        services.set_spending_limit(
            client=obj.client,
            kind=form.cleaned_data["limit_kind"],
            limit=form.cleaned_data["limit"],
            draws_from_pool=form.cleaned_data["draws_from_pool"],
            actor=request.user,
            now=timezone.now(),
        )
