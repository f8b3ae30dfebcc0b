"""Reads shared by pages, admin and the API, always scoped to what a person may see (X5)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, IntegerField, QuerySet, Value, When

from clients.models import Client, Membership, Organisation


def memberships_of(user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation", "client")


def membership_in(user: AbstractBaseUser, slug: str) -> Membership | None:
    """The user's membership in the organisation with this slug, or None when they have none
    (callers answer 404, so another organisation's slug reveals nothing, X5)."""
    if not user.is_authenticated:
        return None
    return memberships_of(user).filter(organisation__slug=slug).first()


def clients_of(organisation: Organisation) -> QuerySet[Client]:
    """The own client first (G1), then the others by name."""
    own_first = Case(When(kind="own", then=Value(0)), default=Value(1), output_field=IntegerField())
    return Client.objects.filter(organisation=organisation).order_by(own_first, "name")


def client_in(organisation: Organisation, client_id: int) -> Client | None:
    return clients_of(organisation).filter(pk=client_id).first()


def visible_clients(membership: Membership) -> QuerySet[Client]:
    """The clients a person may see and spend for: all of the organisation's, or the one
    client a member is tied to (clients.roles). Every page that takes a client goes through
    here, so another client's id is a 404 for a tied member (X5)."""
    clients = clients_of(membership.organisation)
    if membership.client_id is not None:
        clients = clients.filter(pk=membership.client_id)
    return clients


def visible_client(membership: Membership, client_id: int) -> Client | None:
    return visible_clients(membership).filter(pk=client_id).first()


def members_of(organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("role", "user__username")
    )
