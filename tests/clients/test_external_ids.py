"""A client's `external_id`: the organisation's own software's id for it (K4), unique in the
organisation when given, refused cleanly when taken (X6)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

import clients.services.clients as module
from clients import services
from clients.models import Client

pytestmark = pytest.mark.django_db

TAKEN = "The external ID “crm-1” is already used by another client of this organisation."


def _count(organisation) -> int:
    return Client.objects.filter(organisation=organisation).count()


def test_k4_a_client_is_created_with_an_external_id(make_organisation):
    # given an organisation
    organisation = make_organisation("acme")
    # when a client is created with an external id
    client = services.create_client(organisation=organisation, name="Sales", external_id="crm-1")
    # then it is stored
    client.refresh_from_db()
    assert client.external_id == "crm-1"


def test_k4_a_client_without_an_external_id_has_an_empty_one(make_organisation):
    # given two clients created without an external id
    organisation = make_organisation("acme")
    one = services.create_client(organisation=organisation, name="One")
    two = services.create_client(organisation=organisation, name="Two")
    # then both have "", which is never compared (the constraint leaves blanks out)
    assert (one.external_id, two.external_id) == ("", "")


def test_x6_a_taken_external_id_is_a_validation_error_and_adds_nothing(make_organisation):
    # given a client "crm-1"
    organisation = make_organisation("acme")
    services.create_client(organisation=organisation, name="Sales", external_id="crm-1")
    count = _count(organisation)
    # when another client takes the same external id
    with pytest.raises(ValidationError) as refused:
        services.create_client(organisation=organisation, name="Support", external_id="crm-1")
    # then the error is on that field, and no client was added
    assert refused.value.message_dict == {"external_id": [TAKEN]}
    assert _count(organisation) == count


def test_k4_the_same_external_id_may_be_used_by_another_organisation(make_organisation):
    # given a client crm-1 in one organisation
    acme, globex = make_organisation("acme"), make_organisation("globex")
    services.create_client(organisation=acme, name="Sales", external_id="crm-1")
    # when another organisation uses the same id
    other = services.create_client(organisation=globex, name="Sales", external_id="crm-1")
    # then it may: ids are unique per organisation
    assert other.external_id == "crm-1"


def test_x6_a_race_for_one_external_id_gets_the_same_error_not_a_500(
    make_organisation, monkeypatch
):
    """Both requests pass the check before saving; the unique constraint refuses the second,
    and the service says so in the same words, inside a transaction still usable."""
    # given a client "crm-1", and the check before saving skipped (as a racing request does)
    organisation = make_organisation("acme")
    services.create_client(organisation=organisation, name="Sales", external_id="crm-1")
    monkeypatch.setattr(module, "_check_external_id_free", lambda client: None)
    count = _count(organisation)
    # when a second client is saved with the same id, inside the caller's transaction
    with transaction.atomic():
        with pytest.raises(ValidationError) as refused:
            services.create_client(organisation=organisation, name="Support", external_id="crm-1")
        # then the transaction still answers queries
        assert _count(organisation) == count
    assert refused.value.message_dict == {"external_id": [TAKEN]}
    assert _count(organisation) == count


def test_x6_changing_to_a_taken_external_id_changes_nothing(make_organisation):
    # given clients crm-1 and x
    organisation = make_organisation("acme")
    services.create_client(organisation=organisation, name="Sales", external_id="crm-1")
    support = services.create_client(organisation=organisation, name="Support", external_id="x")
    # when x is renamed and given crm-1
    with pytest.raises(ValidationError) as refused:
        services.update_client(client=support, name="Help desk", external_id="crm-1")
    # then the error is on external_id
    assert refused.value.message_dict == {"external_id": [TAKEN]}
    # the caller's object and the stored row both keep what they had
    assert (support.name, support.external_id) == ("Support", "x")
    support.refresh_from_db()
    assert (support.name, support.external_id) == ("Support", "x")


def test_k4_an_external_id_can_be_changed_and_removed(make_organisation):
    # given a client with the external id a
    organisation = make_organisation("acme")
    client = services.create_client(organisation=organisation, name="Sales", external_id="a")
    # when it is changed, then removed
    services.update_client(client=client, external_id="b")
    client.refresh_from_db()
    # then each change is stored
    assert client.external_id == "b"
    services.update_client(client=client, external_id="")
    client.refresh_from_db()
    assert client.external_id == ""


def test_x6_an_external_id_over_100_characters_is_refused(make_organisation):
    # given an organisation
    organisation = make_organisation("acme")
    count = _count(organisation)
    # when a client is created with an external id of 101 characters
    with pytest.raises(ValidationError) as refused:
        services.create_client(organisation=organisation, name="Sales", external_id="x" * 101)
    # then a validation error on it, and no client added
    assert list(refused.value.message_dict) == ["external_id"]
    assert _count(organisation) == count


def test_x6_the_database_itself_refuses_a_duplicate_external_id(make_organisation):
    """The last line of defence: the partial unique constraint, blanks left out."""
    # given crm-1 and two blank ids, saved around the service
    organisation = make_organisation("acme")
    Client.objects.create(organisation=organisation, name="A", external_id="crm-1")
    Client.objects.create(organisation=organisation, name="B", external_id="")
    Client.objects.create(organisation=organisation, name="C", external_id="")
    # when crm-1 is saved again, the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(organisation=organisation, name="D", external_id="crm-1")
