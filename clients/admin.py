"""Back office for organisations, memberships and clients (K1); writes go through services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone

from clients import services
from clients.exceptions import ClientsError
from clients.models import Client, Invitation, Membership, Organisation
from clients.services import members as member_services
from credits.models import Preset


class OrganisationAddForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        help_text="Becomes the owner; the own client and the credit pool are created too.",
    )
    preset = forms.ChoiceField(
        choices=Preset.choices,
        initial=Preset.CUSTOM,
        help_text="Credit policies of one of the seed systems (editable later on the pool).",
    )

    class Meta:
        model = Organisation
        fields = ["name", "slug", "currency", "time_zone", "language"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "client", "created_at"]
    readonly_fields = ["user", "role", "client", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ClientInline(admin.TabularInline):
    model = Client
    extra = 0
    fields = ["name", "kind", "access_mode", "is_active"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
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

    @admin.display(description="members")
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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "client", "created_at"]
    list_filter = ["role", "organisation"]
    list_select_related = ["user", "organisation", "client"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation", "client"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organisation"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        try:
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
        except ClientsError as error:
            messages.error(request, str(error))

    def delete_model(self, request, obj) -> None:
        try:
            services.remove_member(membership=obj)
        except ClientsError as error:
            messages.error(request, str(error))

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset:
            self.delete_model(request, membership)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are made by owners in the portal, where the link's host is
    known. Staff may send one again or cancel it."""

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

    @admin.action(description="Send again (a new link, valid 7 more days)")
    def send_again(self, request, queryset) -> None:
        now = timezone.now()
        for invitation in queryset.select_related("organisation", "client", "invited_by"):
            try:
                sent = member_services.send_invitation_again(invitation=invitation, now=now)
            except ClientsError as error:
                messages.error(request, f"{invitation.email}: {error}")
            else:
                level = messages.SUCCESS if sent.delivery == "sent" else messages.WARNING
                messages.add_message(request, level, f"{sent.email}: {sent.delivery}")

    @admin.action(description="Cancel")
    def cancel(self, request, queryset) -> None:
        now = timezone.now()
        for invitation in queryset:
            try:
                member_services.cancel_invitation(invitation=invitation, now=now)
            except ClientsError as error:
                messages.error(request, f"{invitation.email}: {error}")


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "kind", "access_mode", "is_active", "created_at"]
    list_filter = ["kind", "access_mode", "is_active", "organisation"]
    search_fields = ["name", "organisation__name", "organisation__slug"]
    autocomplete_fields = ["organisation"]

    def get_readonly_fields(self, request, obj=None):
        return ["organisation"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        try:
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
                )
                obj.pk = created.pk
        except ClientsError as error:
            messages.error(request, str(error))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: a client's history stays
