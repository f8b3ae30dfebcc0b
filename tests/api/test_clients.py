"""Clients over the API (K4, G1, G7, X5, X6, B7): create, read, update, (de)activate, and an
`external_id` of the caller's own."""

import pytest

from clients.models import Client, ClientKind
from credits.models import CreditPool

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"


def _client_url(client_id: int, tail: str = "") -> str:
    return f"{CLIENTS}{client_id}/{tail}"


def _balance(portal) -> tuple[int, int, int]:
    pool = CreditPool.objects.get(pk=portal.organisation.pk)
    return pool.balance, pool.held, pool.assigned


def _count(portal) -> int:
    return Client.objects.filter(organisation=portal.organisation).count()


def test_k4_a_key_creates_a_client_with_its_external_id_and_figures(make_portal, make_api):
    # given a CRM organisation (clients are departments) and a read-and-write key
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    # when it creates a client with its own id
    response = api.post(CLIENTS, {"name": "Sales", "external_id": "crm-1187"})
    # then 201 with the new client, of the organisation's kind, and empty figures
    assert response.status_code == 201
    body = response.json()
    created = Client.objects.get(organisation=portal.organisation, name="Sales")
    assert body["id"] == created.pk
    assert (created.kind, created.external_id, created.is_active) == (
        ClientKind.DEPARTMENT,
        "crm-1187",
        True,
    )
    assert {k: body[k] for k in ("name", "kind", "access_mode", "external_id", "is_active")} == {
        "name": "Sales",
        "kind": "department",
        "access_mode": "campus",
        "external_id": "crm-1187",
        "is_active": True,
    }
    assert body["assigned_remaining"] == 0
    assert body["limit"] == {
        "kind": "none",
        "limit": None,
        "used": 0,
        "left": None,
        "draws_from_pool": True,
    }
    assert (body["used"], body["uses"]) == (0, 0)


def test_k4_a_client_reads_with_its_credit_figures(make_portal, make_api):
    # given a serious-game organisation whose clients got 100 credits and spent 6 (one learner)
    portal = make_portal("alpha", preset="serious_game")
    api = make_api(portal, scope="read")
    one = portal.clients[0]
    # when a read-only key reads the client
    response = api.get(_client_url(one.pk))
    # then its figures are those of the ledger
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["kind"]) == (one.pk, "Alpha one", "customer")
    assert body["assigned_remaining"] == 94
    assert body["limit"] == {
        "kind": "none",
        "limit": None,
        "used": 0,
        "left": None,
        "draws_from_pool": False,
    }
    assert (body["used"], body["uses"]) == (6, 1)


def test_k4_patch_renames_and_changes_the_external_id_g7(make_portal, make_api):
    portal = make_portal("alpha", preset="serious_game")
    api = make_api(portal)
    one = portal.clients[0]
    # when the name, the access mode and the external id are changed
    response = api.patch(
        _client_url(one.pk), {"name": "Acme Learning", "access_mode": "scorm", "external_id": "A-9"}
    )
    # then all three are stored and answered
    assert response.status_code == 200
    one.refresh_from_db()
    assert (one.name, one.access_mode, one.external_id) == ("Acme Learning", "scorm", "A-9")
    body = response.json()
    assert (body["name"], body["access_mode"], body["external_id"]) == (
        "Acme Learning",
        "scorm",
        "A-9",
    )


def test_k4_deactivate_then_activate_a_client_keeps_its_credits(make_portal, make_api):
    portal = make_portal("alpha", preset="serious_game")
    api = make_api(portal)
    one = portal.clients[0]
    before = _balance(portal)
    # when the client is deactivated, twice (the state asked for, not a toggle)
    first = api.post(_client_url(one.pk, "deactivate/"))
    again = api.post(_client_url(one.pk, "deactivate/"))
    # then it is inactive and keeps its 94 assigned credits
    assert (first.status_code, again.status_code) == (200, 200)
    assert (again.json()["is_active"], again.json()["assigned_remaining"]) == (False, 94)
    one.refresh_from_db()
    assert one.is_active is False
    # when it is activated again
    response = api.post(_client_url(one.pk, "activate/"))
    # then it is active, and no figure moved
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    one.refresh_from_db()
    assert one.is_active is True
    assert _balance(portal) == before


def test_g1_the_own_client_cannot_be_deactivated_409(make_portal, make_api):
    # given the organisation's own client
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    # when it is deactivated
    response = api.post(_client_url(portal.own.pk, "deactivate/"))
    # then 409 own_client, and it stays active
    assert response.status_code == 409
    assert response.json()["code"] == "own_client"
    portal.own.refresh_from_db()
    assert portal.own.is_active is True


def test_x6_a_duplicate_external_id_is_400_and_no_client_is_added(make_portal, make_api):
    # given a client with the external id "crm-1"
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    assert api.post(CLIENTS, {"name": "Sales", "external_id": "crm-1"}).status_code == 201
    count = _count(portal)
    # when another client is created with the same external id
    response = api.post(CLIENTS, {"name": "Marketing", "external_id": "crm-1"})
    # then a validation error on that field, and no row added
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == {
        "external_id": [
            "The external ID “crm-1” is already used by another client of this organisation."
        ]
    }
    assert _count(portal) == count


def test_x6_patching_to_a_taken_external_id_is_400_and_changes_nothing(make_portal, make_api):
    # given a client with the external id crm-1
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    one, two = portal.clients
    assert api.patch(_client_url(one.pk), {"external_id": "crm-1"}).status_code == 200
    # when another client is renamed and given the same id
    response = api.patch(_client_url(two.pk), {"name": "Renamed", "external_id": "crm-1"})
    # then 400 on external_id, and neither its name nor its id changed
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["external_id"]
    two.refresh_from_db()
    assert (two.name, two.external_id) == ("Alpha two", "")


def test_k4_an_external_id_is_unique_per_organisation_only(make_portal, make_api):
    # given two organisations; the first has a client "shared-7"
    alpha, beta = make_portal("alpha", preset="crm"), make_portal("beta", preset="crm")
    assert (
        make_api(alpha).post(CLIENTS, {"name": "A", "external_id": "shared-7"}).status_code == 201
    )
    # when the second uses the same id
    response = make_api(beta).post(CLIENTS, {"name": "B", "external_id": "shared-7"})
    # then it may; and each finds only its own by that id (X5)
    assert response.status_code == 201
    found = make_api(beta).get(CLIENTS, {"external_id": "shared-7"}).json()["results"]
    assert [c["id"] for c in found] == [response.json()["id"]]


def test_k4_a_client_is_found_by_its_external_id(make_portal, make_api):
    # given two clients with ids of the caller's own
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    created = api.post(CLIENTS, {"name": "Sales", "external_id": "crm-1187"}).json()
    api.post(CLIENTS, {"name": "Support", "external_id": "crm-1188"})
    # when one id is looked up
    response = api.get(CLIENTS, {"external_id": "crm-1187"})
    # then that client only
    assert response.status_code == 200
    assert [(c["id"], c["name"]) for c in response.json()["results"]] == [(created["id"], "Sales")]


def test_k4_the_list_filters_on_active_and_kind_newest_first(make_portal, make_api):
    # given the own client and two departments, the second deactivated
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    one, two = portal.clients
    api.post(_client_url(two.pk, "deactivate/"))
    # when the list is filtered on active and on kind
    active = api.get(CLIENTS, {"active": "true"}).json()["results"]
    inactive = api.get(CLIENTS, {"active": "false"}).json()["results"]
    own = api.get(CLIENTS, {"kind": "own"}).json()["results"]
    # then each filter keeps its clients, newest first
    assert [c["id"] for c in active] == [one.pk, portal.own.pk]
    assert [c["id"] for c in inactive] == [two.pk]
    assert [c["id"] for c in own] == [portal.own.pk]


@pytest.mark.parametrize(
    "params",
    [{"active": "maybe"}, {"kind": "galaxy"}, {"external_id": "x" * 101}, {"cursor": "abc"}],
)
def test_x6_a_malformed_filter_is_a_400(make_portal, make_api, params):
    # given an organisation
    portal = make_portal("alpha", preset="crm")
    # when the list is filtered on a value it cannot read
    response = make_api(portal).get(CLIENTS, params)
    # then 400 naming the filter
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == list(params)


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"name": "Own again", "kind": "own"},
        {"name": "Odd", "access_mode": "teleport"},
        {"name": "Long id", "external_id": "x" * 101},
        {"kind": "list"},
    ],
)
def test_x6_a_bad_client_is_a_400_and_nothing_is_added(make_portal, make_api, body):
    # given an organisation and its clients
    portal = make_portal("alpha", preset="crm")
    count = _count(portal)
    # when a client is created from a bad body
    response = make_api(portal).post(CLIENTS, body)
    # then 400, and no client added
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert _count(portal) == count


def test_k4_creating_with_the_same_idempotency_key_twice_creates_one_client_x3(
    make_portal, make_api
):
    # given an organisation
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    count = _count(portal)
    # when the same creation is sent twice with one Idempotency-Key
    first = api.post(CLIENTS, {"name": "Sales"}, key="c-1")
    second = api.post(CLIENTS, {"name": "Sales"}, key="c-1")
    # then one client, the second answer a replay of the first
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert _count(portal) == count + 1


def test_x5_another_organisations_client_is_404_for_read_and_write(make_portal, make_api):
    # given two organisations and a key of the first
    alpha, beta = make_portal("alpha", preset="crm"), make_portal("beta", preset="crm")
    api = make_api(alpha)
    theirs = beta.clients[0]
    # when it reads, renames and deactivates a client of the second
    responses = [
        api.get(_client_url(theirs.pk)),
        api.patch(_client_url(theirs.pk), {"name": "Mine now"}),
        api.post(_client_url(theirs.pk, "deactivate/")),
    ]
    # then 404 each, and the client is unchanged
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {r.json()["code"] for r in responses} == {"not_found"}
    theirs.refresh_from_db()
    assert (theirs.name, theirs.is_active) == ("Beta one", True)


def test_b7_a_tied_key_sees_its_client_only_and_another_is_404(make_portal, make_api):
    # given a key tied to the first department
    portal = make_portal("alpha", preset="crm")
    one, two = portal.clients
    api = make_api(portal, client=one)
    # when it lists and reads clients
    listed = api.get(CLIENTS).json()["results"]
    # then it sees its own client only; another is not found
    assert [c["id"] for c in listed] == [one.pk]
    assert api.get(_client_url(one.pk)).status_code == 200
    other = api.get(_client_url(two.pk))
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


def test_b7_a_tied_key_cannot_create_or_change_clients_403(make_portal, make_api):
    # given a key tied to the first client
    portal = make_portal("alpha", preset="crm")
    one = portal.clients[0]
    api = make_api(portal, client=one)
    count = _count(portal)
    # when it creates a client, renames its own or deactivates it
    responses = [
        api.post(CLIENTS, {"name": "Sneaky"}),
        api.patch(_client_url(one.pk), {"name": "Renamed"}),
        api.post(_client_url(one.pk, "deactivate/")),
    ]
    # then each is refused as an organisation-wide write, and nothing changed
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {r.json()["code"] for r in responses} == {"client_not_allowed"}
    one.refresh_from_db()
    assert (one.name, one.is_active) == ("Alpha one", True)
    assert _count(portal) == count


def test_k4_a_read_only_key_cannot_patch_403(make_portal, make_api):
    # given a read-only key
    portal = make_portal("alpha", preset="crm")
    one = portal.clients[0]
    # when it renames a client
    response = make_api(portal, scope="read").patch(_client_url(one.pk), {"name": "Renamed"})
    # then 403 read_only_key, and the name is unchanged
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_key"
    one.refresh_from_db()
    assert one.name == "Alpha one"
