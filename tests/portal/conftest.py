"""An organisation with its people, clients and some history, for the portal's page tests.

`make_portal("alpha", preset="sms")` opens an organisation through the services with an owner,
an admin, a member, a member tied to the first client, two clients of the preset's kind,
1,000 purchased credits (100 assigned to each client where clients spend only what is
assigned), and one quote and one consumption per client, all made now (pages read the
clock). Every person's password is PASSWORD.
"""

from dataclasses import dataclass, field

import pytest
from django.http import HttpRequest
from django.utils import timezone

from clients import services as client_services
from clients.models import Client, ClientKind, Membership, Organisation, Role
from credits import services as credit_services
from credits.models import Consumption, LotSource, Quote

PASSWORD = "a-long-test-password"

# A paid action and its parameters for each preset, so fixtures can quote and consume.
PAID_ACTION = {
    "sms": ("sms", {"text": "Hello", "recipients": ["FR"]}),
    "serious_game": ("enrolment", {"learners": 1, "game": "Cyber-security basics"}),
    "data_provider": ("data_export", {"rows": 10}),
    "translation": (
        "translation",
        {"service": "general", "complexity": "simple", "pages": 1},
    ),
    "crm": ("ai_summary", {}),
}


@dataclass
class Portal:
    organisation: Organisation
    owner: object
    admin: object
    member: object
    tied: object  # a member tied to clients[0]
    own: Client
    clients: list[Client]
    quotes: list[Quote] = field(default_factory=list)
    consumptions: list[Consumption] = field(default_factory=list)

    def membership(self, user) -> Membership:
        return Membership.objects.get(organisation=self.organisation, user=user)


@pytest.fixture
def make_portal(make_user):
    def make(slug: str, *, preset: str = "sms", credits: int = 1000) -> Portal:
        now = timezone.now()
        owner = make_user(f"{slug}-owner", password=PASSWORD)
        organisation = client_services.create_organisation(
            name=slug.title(), slug=slug, owner=owner, preset=preset
        )
        people = {}
        for role in ("admin", "member", "tied"):
            people[role] = make_user(f"{slug}-{role}", password=PASSWORD)
        client_services.add_member(organisation=organisation, user=people["admin"], role=Role.ADMIN)
        client_services.add_member(
            organisation=organisation, user=people["member"], role=Role.MEMBER
        )
        clients = [
            client_services.create_client(organisation=organisation, name=f"{slug.title()} {n}")
            for n in ("one", "two")
        ]
        tied = client_services.add_member(
            organisation=organisation, user=people["tied"], role=Role.MEMBER
        )
        Membership.objects.filter(pk=tied.pk).update(client=clients[0])
        credit_services.grant(
            organisation=organisation,
            credits=credits,
            source=LotSource.PURCHASE,
            now=now,
            reference="test purchase",
        )
        portal = Portal(
            organisation=organisation,
            owner=owner,
            admin=people["admin"],
            member=people["member"],
            tied=people["tied"],
            own=Client.objects.get(organisation=organisation, kind=ClientKind.OWN),
            clients=clients,
        )
        if preset in PAID_ACTION:
            code, params = PAID_ACTION[preset]
            for client in clients:
                if not organisation.pool.clients_draw_from_pool:
                    # Clients that spend only what is assigned to them (serious games, G3).
                    credit_services.assign(
                        organisation=organisation, client=client, credits=100, now=now
                    )
                portal.quotes.append(
                    credit_services.quote(client=client, action=code, params=params, now=now)
                )
                portal.consumptions.append(
                    credit_services.consume(
                        client=client, action=code, params=params, actor=owner, now=now
                    )
                )
        return portal

    return make


@pytest.fixture
def login(client):
    """Log the test client in as a user of a portal (all share PASSWORD)."""

    def log_in(user) -> None:
        assert client.login(request=HttpRequest(), username=user.get_username(), password=PASSWORD)

    return log_in
