"""Reads of the Developers pages: an organisation's API keys (K4), never another's (X5)."""

from django.db.models import QuerySet

from api.models import ApiKey
from clients.models import Client, ClientKind, Organisation
from clients.selectors import clients_of


def keys_of(organisation: Organisation) -> QuerySet[ApiKey]:
    """Every key, revoked ones too (an owner asks "which key was that?" after revoking it),
    newest first."""
    return (
        ApiKey.objects.filter(organisation=organisation)
        .select_related("client", "created_by")
        .order_by("-created_at", "-pk")
    )


def key_of(organisation: Organisation, key_id: int) -> ApiKey | None:
    return keys_of(organisation).filter(pk=key_id).first()


def clients_for_keys(organisation: Organisation) -> QuerySet[Client]:
    """The clients a new key may be tied to (B7): active ones, and not the organisation's own
    client, which a key of the whole organisation already spends for."""
    return clients_of(organisation).filter(is_active=True).exclude(kind=ClientKind.OWN)
