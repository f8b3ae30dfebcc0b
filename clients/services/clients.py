"""Clients: the units of an organisation that spend its credits (G1, G7)."""

from django.db import transaction
from django.utils.translation import gettext as _

from clients.exceptions import OwnClientError
from clients.models import AccessMode, Client, ClientKind, Organisation
from credits import services as credit_services


@transaction.atomic
def create_client(
    *,
    organisation: Organisation,
    name: str,
    kind: str = "",
    access_mode: str = AccessMode.CAMPUS,
) -> Client:
    """A new client of the organisation's own kind unless another is named."""
    kind = kind or organisation.client_kind
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
