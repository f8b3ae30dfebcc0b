"""The ledger over the API (K4, X1, B5, X5, B7): entries newest first, each with its deltas
and the balance after it."""

import pytest

from credits.models import LedgerEntry

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/ledger/"


def _assign(api, client, credits: int):
    response = api.post(f"/api/v1/clients/{client.pk}/assignments/", {"credits": credits})
    assert response.status_code == 201
    return response.json()


def test_x1_the_ledger_filtered_by_kind_lists_assignments_with_deltas(make_portal, make_api):
    # given an SMS organisation (998 credits) that assigned 300 then 50 credits
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one, two = portal.clients
    first = _assign(api, one, 300)
    second = _assign(api, two, 50)
    # when the ledger is read for assignments only
    response = api.get(LEDGER, {"kind": "assign"})
    # then both entries, newest first, with their exact deltas and the balance after them
    assert response.status_code == 200
    rows = [
        {k: e[k] for k in ("kind", "credits", "assigned_delta", "balance_after", "client")}
        | {"assignment": e["assignment"]}
        for e in response.json()["results"]
    ]
    assert rows == [
        {
            "kind": "assign",
            "credits": 0,
            "assigned_delta": 50,
            "balance_after": 998,
            "client": two.pk,
            "assignment": second["id"],
        },
        {
            "kind": "assign",
            "credits": 0,
            "assigned_delta": 300,
            "balance_after": 998,
            "client": one.pk,
            "assignment": first["id"],
        },
    ]


def test_x1_the_ledger_lists_every_entry_newest_first(make_portal, make_api):
    # given the fixture's purchase of 1,000 and two SMS of 1 credit each
    portal = make_portal("alpha", preset="sms")
    # when the whole ledger is read
    entries = make_api(portal, scope="read").get(LEDGER).json()["results"]
    # then the debits come first, and the balance after each adds up
    assert [(e["kind"], e["credits"], e["balance_after"]) for e in entries] == [
        ("debit", -1, 998),
        ("debit", -1, 999),
        ("grant", 1000, 1000),
    ]


def test_x1_the_entries_of_one_consumption_name_the_lots_that_paid(make_portal, make_api):
    # given the fixture's first consumption (an AI summary, 10 credits)
    portal = make_portal("alpha", preset="crm")
    consumption = portal.consumptions[0]
    # when the ledger is filtered on it
    entries = make_api(portal).get(LEDGER, {"consumption": consumption.pk}).json()["results"]
    lot = LedgerEntry.objects.get(kind="grant", organisation=portal.organisation).lot_id
    # then its one debit, from the purchased lot
    assert [(e["kind"], e["credits"], e["lot"], e["client"]) for e in entries] == [
        ("debit", -10, lot, portal.clients[0].pk)
    ]


def test_b5_the_ledger_filtered_by_client_and_time(make_portal, make_api):
    # given the fixture's grant and two debits, one per department
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    two = portal.clients[1]
    grant = LedgerEntry.objects.get(kind="grant", organisation=portal.organisation)
    # when the ledger is filtered on the second department, and on time
    by_client = api.get(LEDGER, {"client": two.pk}).json()["results"]
    # the fixture wrote everything at one instant: nothing before it, everything from it
    before = api.get(LEDGER, {"created_before": grant.created_at.isoformat()}).json()["results"]
    since = api.get(LEDGER, {"created_after": grant.created_at.isoformat()}).json()["results"]
    # then its debit only; nothing before the grant, all three from it
    assert [(e["kind"], e["client"]) for e in by_client] == [("debit", two.pk)]
    assert (before, len(since)) == ([], 3)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "gift"},
        {"client": "abc"},
        {"client": str(10**30)},
        {"lot": "1.5"},
        {"consumption": "0"},
        {"created_after": "2025-02-30T00:00:00Z"},
        {"created_before": "0001-01-01T00:00:00+14:00"},
        {"created_before": "2025-01-01T00:00:00+24:00"},
    ],
)
def test_x6_a_malformed_ledger_filter_is_a_400(make_portal, make_api, params):
    # given an organisation
    portal = make_portal("alpha", preset="crm")
    # when the ledger is filtered on a value that cannot be read
    response = make_api(portal).get(LEDGER, params)
    # then 400 naming the filter
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == list(params)


def test_x5_another_organisations_entries_are_never_listed(make_portal, make_api):
    # given two organisations and a key of the first
    alpha, beta = make_portal("alpha", preset="crm"), make_portal("beta", preset="crm")
    api = make_api(alpha)
    theirs = beta.clients[0]
    # when it filters on a client of the second: nothing
    assert api.get(LEDGER, {"client": theirs.pk}).json()["results"] == []
    # when it reads its ledger: only its own clients' entries
    mine = api.get(LEDGER).json()["results"]
    assert {e["client"] for e in mine} == {None, *(c.pk for c in alpha.clients)}


def test_b7_a_tied_key_may_not_read_the_ledger_403(make_portal, make_api):
    # given a key tied to a client
    portal = make_portal("alpha", preset="crm")
    # when it reads the ledger
    response = make_api(portal, client=portal.clients[0]).get(LEDGER)
    # then 403 client_not_allowed
    assert response.status_code == 403
    assert response.json()["code"] == "client_not_allowed"


def test_x6_an_offset_postgresql_does_not_know_is_read_not_refused(make_portal, make_api):
    """Python takes offsets up to ±23:59, PostgreSQL up to ±15:59: the time is sent in UTC."""
    # given the fixture's three entries, all made now
    portal = make_portal("alpha", preset="crm")
    # when the ledger is read before a time far ahead, written with a +20:05 offset
    response = make_api(portal).get(LEDGER, {"created_before": "2153-01-03T03:38:26+20:05"})
    # then every entry
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
