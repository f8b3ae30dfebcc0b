"""Opening an organisation, and changing its settings."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from clients.models import Client, ClientKind, Membership, Organisation, Role
from clients.vocabulary import PRESET_CLIENTS
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
    preset sets the credit policies, the starting rate card and the words for clients of one
    of the seed systems."""
    client_kind, clients_choose_access = PRESET_CLIENTS[preset]
    organisation = Organisation(
        name=name,
        slug=slug,
        currency=currency,
        time_zone=time_zone,
        language=language,
        client_kind=client_kind,
        clients_choose_access=clients_choose_access,
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
