"""API keys and remembered API requests in the back office (K4).

Staff create a key for an organisation here as owners do in the portal, through
`api.services.create_key`: the secret is shown once, in the message that confirms the
creation, and only its hash is stored, which no page shows. A key is never edited after
(its organisation, scope and client are what its holder was given); it is revoked, through
`api.services.revoke_key`, and a new one is made.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from api import services
from api.models import ApiKey, IdempotentRequest
from config.admin_base import PortalAdmin, ReadOnlyAdmin

SHOWN = [
    "organisation",
    "name",
    "prefix",
    "scope",
    "client",
    "requests_per_minute",
    "created_by",
    "created_at",
    "last_used_at",
    "revoked_at",
]


class ApiKeyAddForm(forms.ModelForm):
    """What staff choose; the service draws the secret and the prefix."""

    class Meta:
        model = ApiKey
        fields = ["organisation", "name", "scope", "client", "requests_per_minute"]

    def clean(self) -> dict:
        data = super().clean()
        organisation, client = data.get("organisation"), data.get("client")
        if organisation and client and client.organisation_id != organisation.pk:
            self.add_error("client", _("This client belongs to another organisation."))
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(PortalAdmin):
    list_display = [
        "organisation",
        "name",
        "prefix",
        "scope",
        "client",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation", "client"]
    autocomplete_fields = ["organisation", "client"]
    date_hierarchy = "created_at"
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None) -> list[str]:
        return list(ApiKeyAddForm.Meta.fields) if obj is None else SHOWN

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [] if obj is None else SHOWN

    def has_change_permission(self, request, obj=None) -> bool:
        """The list's "Revoke" needs the change permission; one key's page is read only."""
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the ledger's actors and the history stay readable

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        """Adding goes through the service, which draws the secret; it is shown once, here."""
        if change:
            return
        made = services.create_key(
            organisation=form.cleaned_data["organisation"],
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            client=form.cleaned_data["client"],
            requests_per_minute=form.cleaned_data["requests_per_minute"],
            actor=request.user,
            now=timezone.now(),
        )
        # The admin goes on with `obj` (history entry, redirect): make it the saved row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(made.key, field.attname))
        obj._state.adding = False
        obj._state.db = made.key._state.db
        self.message_user(
            request,
            gettext("Copy the key now, it will not be shown again: %(secret)s")
            % {"secret": made.secret},
            messages.WARNING,
        )

    def has_revoke_permission(self, request) -> bool:
        """Revoking changes the key (`api.change_apikey`), whatever its page allows."""
        return request.user.has_perm("api.change_apikey")

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        now = timezone.now()
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.revoke_key(key=key, now=now)
            revoked += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d key revoked: it is refused from now on.",
                "%(count)d keys revoked: they are refused from now on.",
                revoked,
            )
            % {"count": revoked},
            messages.SUCCESS,
        )


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "key", "state", "status_code", "finished_at"]
    list_filter = ["state", "status_code"]
    search_fields = ["key", "organisation__name", "organisation__slug"]
    list_select_related = ["organisation"]
    date_hierarchy = "created_at"
    fields = [
        "organisation",
        "key",
        "fingerprint",
        "state",
        "status_code",
        "content_type",
        "created_at",
        "finished_at",
    ]
