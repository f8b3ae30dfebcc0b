"""Every write about organisations, memberships and clients (rules of the house: services),
one module per subject."""

from clients.services.clients import create_client, set_client_active, update_client
from clients.services.members import (
    accept_invitation,
    accept_invitation_as_new_user,
    add_member,
    cancel_invitation,
    change_member,
    change_role,
    invite_member,
    remove_member,
    send_invitation_again,
)
from clients.services.organisations import create_organisation, update_organisation

__all__ = [
    "accept_invitation",
    "accept_invitation_as_new_user",
    "add_member",
    "cancel_invitation",
    "change_member",
    "change_role",
    "create_client",
    "create_organisation",
    "invite_member",
    "remove_member",
    "send_invitation_again",
    "set_client_active",
    "update_client",
    "update_organisation",
]
