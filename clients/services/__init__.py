"""Every write about organisations, memberships and clients (rules of the house: services),
one module per subject."""

from clients.services.clients import create_client, update_client
from clients.services.members import add_member, change_role, remove_member
from clients.services.organisations import create_organisation, update_organisation

__all__ = [
    "add_member",
    "change_role",
    "create_client",
    "create_organisation",
    "remove_member",
    "update_client",
    "update_organisation",
]
