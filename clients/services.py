"""Every write about organisations, memberships and clients (rules of the house: services)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from clients.exceptions import LastOwnerError, OwnClientError
from clients.models import AccessMode, Client, ClientKind, Membership, Organisation, Role
from credits import services as credit_services


@transaction.atomic
def create_organisation(
    *,
    name: str,
    slug: str,
    owner: AbstractBaseUser,
    currency: str = "EUR",
    time_zone: str = "Europe/Paris",
    language: str = "en",
    preset: str = "custom",
) -> Organisation:
    """Open an account: the owner's membership, the own client (G1) and the credit pool come
    with it, so no organisation can exist without somewhere to hold and spend credits. The
    preset sets the credit policies and the starting rate card of one of the seed systems."""
    organisation = Organisation(
        name=name, slug=slug, currency=currency, time_zone=time_zone, language=language
    )
    organisation.full_clean()
    organisation.save()
    Membership.objects.create(user=owner, organisation=organisation, role=Role.OWNER)
    own = Client(organisation=organisation, name=name, kind=ClientKind.OWN)
    own.full_clean()
    own.save()
    credit_services.open_pool(organisation=organisation, preset=preset)
    credit_services.install_rate_card(organisation=organisation, preset=preset)
    credit_services.open_client_account(client=own)
    return organisation


@transaction.atomic
def update_organisation(*, organisation: Organisation, **changes: str) -> Organisation:
    for field, value in changes.items():
        setattr(organisation, field, value)
    organisation.full_clean()
    organisation.save()
    return organisation


@transaction.atomic
def add_member(
    *, organisation: Organisation, user: AbstractBaseUser, role: str = Role.MEMBER
) -> Membership:
    membership = Membership(organisation=organisation, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def _lock_owners(organisation: Organisation) -> int:
    """Lock the owner rows so two concurrent demotions cannot both leave no owner."""
    owners = Membership.objects.select_for_update().filter(
        organisation=organisation, role=Role.OWNER
    )
    return len(list(owners))


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    demotes_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demotes_owner and _lock_owners(membership.organisation) <= 1:
        raise LastOwnerError(_("An organisation must keep at least one owner."))
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    if membership.role == Role.OWNER and _lock_owners(membership.organisation) <= 1:
        raise LastOwnerError(_("An organisation must keep at least one owner."))
    membership.delete()


@transaction.atomic
def create_client(
    *,
    organisation: Organisation,
    name: str,
    kind: str = ClientKind.CUSTOMER,
    access_mode: str = AccessMode.CAMPUS,
) -> Client:
    if kind == ClientKind.OWN:
        raise OwnClientError(_("The own client is created with the organisation."))
    client = Client(organisation=organisation, name=name, kind=kind, access_mode=access_mode)
    client.full_clean()
    client.save()
    credit_services.open_client_account(client=client)
    return client


@transaction.atomic
def update_client(*, client: Client, **changes: object) -> Client:
    """Rename, switch Campus/SCORM (G7) or (de)activate; the own client stays own and active."""
    was_own = client.kind == ClientKind.OWN
    for field, value in changes.items():
        setattr(client, field, value)
    if was_own and (client.kind != ClientKind.OWN or not client.is_active):
        raise OwnClientError(_("The own client stays the organisation's own and active."))
    if not was_own and client.kind == ClientKind.OWN:
        raise OwnClientError(_("The own client is created with the organisation."))
    client.full_clean()
    client.save()
    return client
