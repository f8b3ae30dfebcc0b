"""Opening an organisation, and changing its settings."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from clients.exceptions import InvalidClientInput
from clients.models import Client, ClientKind, Membership, Organisation, Role
from clients.vocabulary import PRESET_CLIENTS
from credits import services as credit_services


def _clean(row: Organisation | Client) -> None:
    """The model's rules (lengths, a known time zone, a free slug) before anything is written:
    a ClientsError that is also a ValidationError on the field (X6)."""
    try:
        row.full_clean()
    except ValidationError as invalid:
        raise InvalidClientInput(invalid) from invalid


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
    _clean(organisation)
    organisation.save()
    Membership.objects.create(user=owner, organisation=organisation, role=Role.OWNER)
    own = Client(organisation=organisation, name=name, kind=ClientKind.OWN)
    _clean(own)
    own.save()
    credit_services.open_pool(organisation=organisation, preset=preset)
    credit_services.install_rate_card(organisation=organisation, preset=preset)
    credit_services.open_client_account(client=own)
    return organisation


@transaction.atomic
def update_organisation(*, organisation: Organisation, **changes: str) -> Organisation:
    for field, value in changes.items():
        setattr(organisation, field, value)
    _clean(organisation)
    organisation.save()
    return organisation
