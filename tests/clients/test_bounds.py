"""Texts that enter the clients services fit their columns, and refusals are domain errors
(X6, issue 13).

SQLite keeps text of any length in a column of 200 characters; PostgreSQL refuses it with a
`DataError`. Each service checks what it is given first and refuses it with a `ClientsError`
that is also a `ValidationError` on the field (pages show it next to the field), on both
databases, before anything is written.
"""

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from clients import services
from clients.exceptions import ClientNameTaken, ClientsError
from clients.models import Client, Membership, Organisation
from config.errors import DomainError
from credits.models import ClientAccount, CreditPool

pytestmark = pytest.mark.django_db

LONG_NAME = "n" * 201  # a client's or an organisation's name holds 200 characters


@pytest.fixture
def acme(make_organisation):
    organisation = make_organisation("acme", name="Acme")
    services.create_client(organisation=organisation, name="Sales")
    services.create_client(organisation=organisation, name="Other")
    return organisation


def everything() -> dict[str, object]:
    return {
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "clients": list(Client.objects.order_by("pk").values()),
        "rows": [m.objects.count() for m in (Membership, ClientAccount, CreditPool)],
    }


def _create(**values: object) -> Callable[[Organisation], object]:
    return lambda o: services.create_client(organisation=o, **{"name": "New", **values})


def _update(**changes: object) -> Callable[[Organisation], object]:
    return lambda o: services.update_client(client=o.clients.get(name="Sales"), **changes)


def _open(**values: object) -> Callable[[Organisation], object]:
    def call(o: Organisation) -> object:
        owner = o.memberships.get().user
        arguments = {"name": "Other", "slug": "other", **values}
        return services.create_organisation(owner=owner, **arguments)

    return call


def _change(**changes: object) -> Callable[[Organisation], object]:
    return lambda o: services.update_organisation(organisation=o, **changes)


CASES: dict[str, Callable[[Organisation], object]] = {
    "client name of 201 characters": _create(name=LONG_NAME),
    "client name of 5,000 characters": _create(name="n" * 5000),
    "client external id of 101 characters": _create(external_id="e" * 101),
    "client renamed to 201 characters": _update(name=LONG_NAME),
    "client name taken": _create(name="Sales"),
    "client renamed to a taken name": lambda o: services.update_client(
        client=o.clients.get(name="Other"), name="Sales"
    ),
    "organisation name of 201 characters": _open(name=LONG_NAME),
    "organisation slug of 61 characters": _open(slug="s" * 61),
    "organisation time zone of 65 characters": _open(time_zone="Z" * 65),
    "organisation renamed to 201 characters": _change(name=LONG_NAME),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_over_long_text_or_a_taken_name_is_a_domain_error_and_writes_nothing_x6(
    database, acme, case
):
    """X6 (issue 13): refused with a ClientsError naming the field; no row changed."""
    # given an organisation with the clients "Sales" and "Other"
    before = everything()
    # when a service is given a text longer than its column, or a name already taken
    try:
        outcome = CASES[case](acme)
    except Exception as error:
        outcome = error
    # then a domain error (also a ValidationError on the field), and nothing written
    assert isinstance(outcome, ClientsError), f"{case}: {type(outcome).__name__}: {outcome!r:.200}"
    assert isinstance(outcome, ValidationError)
    assert outcome.message_dict
    assert str(outcome).strip()
    assert everything() == before


def test_a_taken_name_is_a_409_domain_error_in_the_organisations_words_x6(acme):
    """Issue 13: the refusal of a taken name carries its status and stable code."""
    # when a second client is named "Sales"
    with pytest.raises(ClientNameTaken) as refused:
        services.create_client(organisation=acme, name="Sales")
    # then the words, the field, the status and the code
    error = refused.value
    assert isinstance(error, DomainError)
    assert str(error) == "The name “Sales” is already used in this organisation."
    assert error.message_dict == {
        "name": ["The name “Sales” is already used in this organisation."]
    }
    assert (error.http_status, error.code) == (409, "client_name_taken")
