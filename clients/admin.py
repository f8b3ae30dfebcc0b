"""Back office for organisations, memberships, clients and people (K1); writes go through
services.

A refusal is a form error (or a page that says why), never an error beside "changed
successfully": the forms ask the services' own checks (`clients.services.staff`) in `clean()`;
when a concurrent change makes the service refuse at save time anyway, the refusal is shown
on the form, nothing is logged and no success message is given (`RefusalsAsFormErrors`).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clients import (
    admin_logins,  # noqa: F401  (registers the login-protection admin)
    admin_people,  # noqa: F401  (registers people and groups)
    services,
)
from clients.admin_refusals import RemovedThroughService
from clients.exceptions import ClientsError
from clients.models import Client, Invitation, Membership, Organisation
from clients.services import members as member_services
from clients.services import staff
from config.admin_base import ListedInline, PortalAdmin, RefusalsAsFormErrors
from credits.models import Preset

User = get_user_model()


class OrganisationAddForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=User.objects.order_by("username"),
        help_text=_("Becomes the owner; the own client and the credit pool are created too."),
    )
    preset = forms.ChoiceField(
        label=_("preset"),
        choices=Preset.choices,
        initial=Preset.CUSTOM,
        help_text=_("Credit policies of one of the seed systems (editable later on the pool)."),
    )

    class Meta:
        model = Organisation
        fields = ["name", "slug", "currency", "time_zone", "language"]


class MembershipInline(ListedInline):
    model = Membership
    fields = ["user", "role", "client", "created_at"]
    readonly_fields = ["user", "role", "client", "created_at"]
    show_change_link = True


class ClientInline(ListedInline):
    model = Client
    fields = ["name", "kind", "access_mode", "is_active"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(PortalAdmin):
    list_display = [
        "name",
        "slug",
        "currency",
        "time_zone",
        "language",
        "member_count",
        "created_at",
    ]
    list_filter = ["currency", "language", "time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, ClientInline]

    @admin.display(description=_("members"))
    def member_count(self, obj: Organisation) -> int:
        return obj.memberships.count()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OrganisationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change) -> None:
        fields = {
            f: form.cleaned_data[f] for f in ["name", "slug", "currency", "time_zone", "language"]
        }
        if change:
            services.update_organisation(organisation=obj, **fields)
        else:
            created = services.create_organisation(
                owner=form.cleaned_data["owner"], preset=form.cleaned_data["preset"], **fields
            )
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an organisation's ledger and invoices are kept for good


class MembershipForm(forms.ModelForm):
    """Asks the services' rules before saving: demoting the last owner is a form error."""

    class Meta:
        model = Membership
        fields = ["user", "organisation", "role", "client"]

    def clean(self) -> dict:
        data = super().clean()
        organisation = data.get("organisation") or getattr(self.instance, "organisation", None)
        client = data.get("client")
        if organisation and client and client.organisation_id != organisation.pk:
            self.add_error("client", gettext("This client belongs to another organisation."))
        role = data.get("role")
        if self.instance.pk and role:
            stored = Membership.objects.get(pk=self.instance.pk)
            try:
                staff.check_membership_change(membership=stored, role=role)
            except ClientsError as error:
                self.add_error("role", str(error))
        return data


@admin.register(Membership)
class MembershipAdmin(RemovedThroughService, RefusalsAsFormErrors):
    form = MembershipForm
    list_display = ["user", "organisation", "role", "client", "created_at"]
    list_filter = ["role", "organisation"]
    list_select_related = ["user", "organisation", "client"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation", "client"]
    actions = ["delete_selected"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organisation"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        """A refusal propagates: RefusalsAsFormErrors shows it on the form."""
        if change:
            stored = Membership.objects.get(pk=obj.pk)  # the form already changed `obj`
            member_services.change_member(
                membership=stored,
                role=form.cleaned_data["role"],
                client=form.cleaned_data.get("client"),
            )
        else:
            created = services.add_member(
                organisation=obj.organisation, user=obj.user, role=obj.role, client=obj.client
            )
            obj.pk = created.pk

    # Removing the last owner's membership is refused on a page that says why; the removal
    # itself goes through the service (under its lock): RemovedThroughService.
    def check_removal(self, obj: Membership) -> None:
        staff.check_membership_removal(memberships=[obj])

    def remove(self, request, obj: Membership) -> bool:
        staff.remove_memberships(memberships=[obj])
        self.log_deletions(request, [obj])
        return True

    @admin.action(permissions=["delete"], description=_("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request, queryset):
        """Django's confirmation page; the removal goes through the service, all or none."""
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        memberships = list(queryset.select_related("organisation", "user"))
        try:
            with transaction.atomic():
                removed = staff.remove_memberships(memberships=memberships)
                self.log_deletions(request, memberships)
        except ClientsError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        self.message_user(
            request,
            gettext("Successfully deleted %(count)d %(items)s.")
            % {"count": removed, "items": model_ngettext(self.opts, removed)},
            messages.SUCCESS,
        )
        return None


@admin.register(Invitation)
class InvitationAdmin(PortalAdmin):
    """Read-only: invitations are made by owners in the portal, where the link's host is
    known. Staff who may change invitations send one again or cancel it."""

    list_display = [
        "email",
        "organisation",
        "role",
        "client",
        "created_at",
        "expires_at",
        "sent_at",
        "send_error",
        "accepted_at",
        "cancelled_at",
    ]
    list_filter = ["role", "organisation"]
    list_select_related = ["organisation", "client"]
    search_fields = ["email", "organisation__name", "organisation__slug"]
    exclude = ["token_hash"]
    actions = ["send_again", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invitation._meta.fields if f.name != "token_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cancel instead: who was invited, by whom and when stays

    def has_invitation_change_permission(self, request) -> bool:
        """Sending again and cancelling change the invitation."""
        return request.user.has_perm("clients.change_invitation")

    @admin.action(
        description=_("Send again (a new link, valid 7 more days)"),
        permissions=["invitation_change"],
    )
    def send_again(self, request, queryset) -> None:
        now = timezone.now()
        for invitation in queryset.select_related("organisation", "client", "invited_by"):
            try:
                sent = member_services.send_invitation_again(invitation=invitation, now=now)
            except ClientsError as error:
                messages.error(request, f"{invitation.email}: {error}")
            else:
                if sent.delivery == "sent":
                    level, outcome = messages.SUCCESS, gettext("sent")
                else:
                    level, outcome = messages.WARNING, gettext("not sent (retried later)")
                messages.add_message(request, level, f"{sent.email}: {outcome}")

    @admin.action(description=_("Cancel"), permissions=["invitation_change"])
    def cancel(self, request, queryset) -> None:
        now = timezone.now()
        for invitation in queryset:
            try:
                member_services.cancel_invitation(invitation=invitation, now=now)
            except ClientsError as error:
                messages.error(request, f"{invitation.email}: {error}")


class ClientForm(forms.ModelForm):
    """Asks the services' rules before saving: the own client stays own and active (G1),
    and a name or external id taken in the organisation is a form error."""

    class Meta:
        model = Client
        fields = ["organisation", "name", "kind", "access_mode", "external_id", "is_active"]

    def _get_validation_exclusions(self):
        """The organisation is read-only on the change page, so Django would skip the
        constraints that name it (a name unique in the organisation); check them all."""
        excluded = super()._get_validation_exclusions()
        if self.instance.organisation_id is not None:
            excluded.discard("organisation")
        return excluded

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk:
            stored = Client.objects.get(pk=self.instance.pk)
            try:
                staff.check_client_change(
                    client=stored,
                    is_active=data.get("is_active", stored.is_active),
                    kind=data.get("kind", stored.kind),
                )
            except ClientsError as error:
                field = "is_active" if stored.is_active != data.get("is_active") else "kind"
                self.add_error(field if field in self.fields else None, str(error))
        return data


@admin.register(Client)
class ClientAdmin(RefusalsAsFormErrors):
    form = ClientForm
    list_display = ["name", "organisation", "kind", "access_mode", "is_active", "created_at"]
    list_filter = ["kind", "access_mode", "is_active", "organisation"]
    search_fields = ["name", "organisation__name", "organisation__slug"]
    autocomplete_fields = ["organisation"]

    def get_readonly_fields(self, request, obj=None):
        return ["organisation"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        """A refusal propagates: RefusalsAsFormErrors shows it on the form."""
        if change:
            stored = Client.objects.get(pk=obj.pk)  # the form already changed `obj`
            services.update_client(
                client=stored, **{f: form.cleaned_data[f] for f in form.changed_data}
            )
        else:
            created = services.create_client(
                organisation=obj.organisation,
                name=obj.name,
                kind=obj.kind,
                access_mode=obj.access_mode,
                external_id=obj.external_id,
            )
            obj.pk = created.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: a client's history stays
