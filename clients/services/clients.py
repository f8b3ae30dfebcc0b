"""Clients: the units of an organisation that spend its credits (G1, G7)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from clients.exceptions import ClientNameTaken, InvalidClientInput, OwnClientError
from clients.models import AccessMode, Client, ClientKind, Organisation
from credits import services as credit_services


def _external_id_taken(external_id: str) -> ValidationError:
    return ValidationError(
        {
            "external_id": _(
                "The external ID “%(external_id)s” is already used by another client of this "
                "organisation."
            )
            % {"external_id": external_id}
        },
        code="unique",
    )


def _others(client: Client, **same: object) -> QuerySet[Client]:
    others = Client.objects.filter(organisation_id=client.organisation_id, **same)
    if client.pk is not None:
        others = others.exclude(pk=client.pk)
    return others


def _check_name_free(client: Client) -> None:
    """Said in the organisation's own words rather than Django's "Client with this
    Organisation and Name already exists", which names lists and sub-accounts wrongly."""
    if _others(client, name=client.name).exists():
        raise ClientNameTaken(client.name)


def _check_external_id_free(client: Client) -> None:
    """The caller's software finds a client by its external id: two clients with one id
    would make that lookup ambiguous. Blank ids are many and never compared."""
    if client.external_id and _others(client, external_id=client.external_id).exists():
        raise _external_id_taken(client.external_id)


def _save(client: Client) -> None:
    """Two requests creating (or renaming to) the same name or external id at once both pass
    the checks above; the database's unique constraints refuse the second, which gets the
    same refusal instead of a 500. The savepoint keeps the caller's transaction usable.

    Lengths and kinds are checked first (`InvalidClientInput`, a ClientsError that is also a
    ValidationError on the field): SQLite would keep a name of any length, PostgreSQL
    refuse it with a DataError."""
    # The constraints are the database's to enforce (below); checking them here too would
    # answer a race with Django's wording.
    try:
        client.full_clean(validate_constraints=False)
    except ValidationError as invalid:
        raise InvalidClientInput(invalid) from invalid
    _check_name_free(client)
    _check_external_id_free(client)
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError as error:
        if _others(client, name=client.name).exists():
            raise ClientNameTaken(client.name) from error
        if client.external_id and _others(client, external_id=client.external_id).exists():
            raise _external_id_taken(client.external_id) from error
        raise


@transaction.atomic
def create_client(
    *,
    organisation: Organisation,
    name: str,
    kind: str = "",
    access_mode: str = AccessMode.CAMPUS,
    external_id: str = "",
) -> Client:
    """A new client of the organisation's own kind unless another is named. A duplicate name
    is a `ClientNameTaken` (409; a ValidationError on the name too), also when another request
    took it a moment ago; a duplicate external id (the caller's own id for it, K4) a
    ValidationError on that field."""
    kind = kind or organisation.client_kind
    if kind == ClientKind.OWN:
        raise OwnClientError(_("The own client is created with the organisation."))
    client = Client(
        organisation=organisation,
        name=name,
        kind=kind,
        access_mode=access_mode,
        external_id=external_id,
    )
    _save(client)
    credit_services.open_client_account(client=client)
    return client


@transaction.atomic
def update_client(*, client: Client, **changes: object) -> Client:
    """Rename, switch Campus/SCORM (G7), change the external id (K4) or (de)activate; the
    own client stays own and active, because it is where the organisation's own spending goes
    (G1). An inactive client keeps its credits and history but cannot spend (the ledger
    refuses)."""
    before = {name: getattr(client, name, None) for name in changes}
    try:
        return _update(client, changes)
    except Exception:
        # The caller's object shows the client as stored, not the refused change.
        for name, value in before.items():
            setattr(client, name, value)
        raise


def check_own_client_rules(*, was_own: bool, is_active: bool, kind: str) -> None:
    """The own client stays own and active, and no other becomes it (G1): asked by
    `update_client` and, before the form saves, by the back office."""
    if was_own and not is_active:
        raise OwnClientError(
            _(
                "The organisation's own client cannot be deactivated: it is created with the "
                "organisation and spends for it."
            )
        )
    if was_own and kind != ClientKind.OWN:
        raise OwnClientError(_("The own client stays the organisation's own and active."))
    if not was_own and kind == ClientKind.OWN:
        raise OwnClientError(_("The own client is created with the organisation."))


def _update(client: Client, changes: dict[str, object]) -> Client:
    was_own = client.kind == ClientKind.OWN
    for field, value in changes.items():
        setattr(client, field, value)
    check_own_client_rules(was_own=was_own, is_active=client.is_active, kind=client.kind)
    _save(client)
    return client


def set_client_active(*, client: Client, active: bool) -> Client:
    """Deactivate or reactivate; asking for the state the client is already in changes
    nothing, so a form submitted twice does not switch it back."""
    if client.is_active == active:
        return client
    return update_client(client=client, is_active=active)
