import pytest

from clients import services
from clients.exceptions import LastOwnerError, OwnClientError
from clients.models import Client, ClientKind, Membership, Organisation, Role
from credits.models import ClientAccount, CreditPool

pytestmark = pytest.mark.django_db


def test_creating_an_organisation_makes_the_owner_membership_and_the_own_client_g1(make_user):
    """G1: the owner's own client is created with the account."""
    # Given a person
    owner = make_user("alice")
    # When she opens an organisation
    organisation = services.create_organisation(
        name="Acme Games", slug="acme", owner=owner, currency="EUR", time_zone="Europe/Paris"
    )
    # Then she is its owner, it has exactly one client of its own, and an empty pool
    assert list(Membership.objects.values_list("user__username", "organisation__slug", "role")) == [
        ("alice", "acme", Role.OWNER)
    ]
    own = Client.objects.get(organisation=organisation)
    assert (own.name, own.kind, own.is_active) == ("Acme Games", ClientKind.OWN, True)
    pool = CreditPool.objects.get(organisation=organisation)
    assert (pool.balance, pool.held, pool.assigned) == (0, 0, 0)
    assert ClientAccount.objects.get(client=own).assigned_remaining == 0


def test_an_organisation_with_an_unknown_time_zone_is_refused_and_nothing_is_created(make_user):
    """X6: bad input gets a clear error and creates nothing."""
    owner = make_user("bob")
    with pytest.raises(Exception, match="Mars/Olympus is not a known time zone"):
        services.create_organisation(name="Bad", slug="bad", owner=owner, time_zone="Mars/Olympus")
    assert Organisation.objects.count() == 0
    assert Membership.objects.count() == 0
    assert Client.objects.count() == 0


def test_a_second_own_client_is_refused_g1(make_organisation):
    organisation = make_organisation("acme")
    with pytest.raises(OwnClientError):
        services.create_client(organisation=organisation, name="Another", kind=ClientKind.OWN)
    assert Client.objects.filter(organisation=organisation).count() == 1


def test_the_own_client_cannot_be_deactivated(make_organisation):
    organisation = make_organisation("acme")
    own = Client.objects.get(organisation=organisation, kind=ClientKind.OWN)
    with pytest.raises(OwnClientError):
        services.update_client(client=own, is_active=False)
    own.refresh_from_db()
    assert own.is_active is True


def test_a_client_chooses_campus_or_scorm_access_g7(make_organisation):
    """G7: a client reaches its games through the Campus or through SCORM."""
    organisation = make_organisation("studio")
    client = services.create_client(
        organisation=organisation, name="Globex", kind=ClientKind.CUSTOMER, access_mode="scorm"
    )
    services.update_client(client=client, access_mode="campus")
    client.refresh_from_db()
    assert client.access_mode == "campus"
    assert ClientAccount.objects.get(client=client).assigned_remaining == 0


def test_the_last_owner_cannot_be_demoted(make_organisation):
    organisation = make_organisation("acme")
    owner_membership = Membership.objects.get(organisation=organisation, role=Role.OWNER)
    with pytest.raises(LastOwnerError):
        services.change_role(membership=owner_membership, role=Role.MEMBER)
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER


def test_an_owner_can_be_demoted_when_another_owner_remains(make_organisation, make_user):
    organisation = make_organisation("acme")
    services.add_member(organisation=organisation, user=make_user("carol"), role=Role.OWNER)
    first = Membership.objects.get(organisation=organisation, user__username="acme-owner")
    services.change_role(membership=first, role=Role.ADMIN)
    assert sorted(
        Membership.objects.filter(organisation=organisation).values_list("user__username", "role")
    ) == [("acme-owner", Role.ADMIN), ("carol", Role.OWNER)]
