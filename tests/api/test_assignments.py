"""Assignments and spending limits over the API (K4, G3, G4, S5, D4, X2, X3, X6, B7)."""

import pytest
from django.utils import timezone

from credits import services as credit_services
from credits.models import Assignment, ClientAccount, CreditPool, LedgerEntry

pytestmark = pytest.mark.django_db


def _url(client, tail: str) -> str:
    return f"/api/v1/clients/{client.pk}/{tail}"


def _put(api, path: str, body: dict):
    """The conftest's ApiClient has no PUT (yet): the same request, by hand."""
    return api.http.put(path, body, content_type="application/json", **api._headers(None))


def _figures(portal, client) -> tuple[int, int, int, int]:
    """balance, held, assigned of the pool; the client's assigned credits."""
    pool = CreditPool.objects.get(pk=portal.organisation.pk)
    account = ClientAccount.objects.get(pk=client.pk)
    return pool.balance, pool.held, pool.assigned, account.assigned_remaining


def test_g3_assign_then_unassign_moves_exact_pool_figures(make_portal, make_api):
    # given an SMS organisation with 998 credits, none assigned
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    assert _figures(portal, one) == (998, 0, 0, 0)
    # when 300 credits are assigned to a list, with a reference and a comment
    assigned = api.post(
        _url(one, "assignments/"),
        {"credits": 300, "reference": "PO-118", "comment": "Spring campaign"},
        key="a-1",
    )
    # then 201 with the assignment, and the pool's figures say so
    assert assigned.status_code == 201
    body = assigned.json()
    assert {k: body[k] for k in ("client", "kind", "credits", "reference", "comment")} == {
        "client": one.pk,
        "kind": "assign",
        "credits": 300,
        "reference": "PO-118",
        "comment": "Spring campaign",
    }
    balance = api.get("/api/v1/balance/").json()
    assert (balance["balance"], balance["assigned"], balance["unassigned"]) == (998, 300, 698)
    assert api.get(_url(one, "")).json()["assigned_remaining"] == 300
    # when 120 are taken back
    taken = api.post(_url(one, "unassignments/"), {"credits": 120}, key="a-2")
    # then the client keeps 180 and the pool has 818 waiting to be assigned
    assert taken.status_code == 201
    assert (taken.json()["kind"], taken.json()["credits"]) == ("unassign", 120)
    balance = api.get("/api/v1/balance/").json()
    assert (balance["balance"], balance["assigned"], balance["unassigned"]) == (998, 180, 818)
    assert api.get(_url(one, "")).json()["assigned_remaining"] == 180
    assert _figures(portal, one) == (998, 0, 180, 180)


def test_x3_an_assignment_retried_with_its_key_assigns_once(make_portal, make_api):
    # given a list with nothing assigned
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    # when 50 credits are assigned twice with one Idempotency-Key
    first = api.post(_url(one, "assignments/"), {"credits": 50}, key="a-1")
    second = api.post(_url(one, "assignments/"), {"credits": 50}, key="a-1")
    # then one assignment, and 50 assigned
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] == first.json()["id"]
    assert Assignment.objects.filter(client=one).count() == 1
    assert _figures(portal, one) == (998, 0, 50, 50)


def test_x2_assigning_more_than_unassigned_is_402_with_figures_and_nothing_moves(
    make_portal, make_api
):
    # given 998 credits of which 300 are assigned to the first list: 698 unassigned
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one, two = portal.clients
    api.post(_url(one, "assignments/"), {"credits": 300})
    entries = LedgerEntry.objects.count()
    # when 700 are assigned to the second list
    response = api.post(_url(two, "assignments/"), {"credits": 700})
    # then 402 with the figures, and nothing moved
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "insufficient_credits"
    assert (body["needed"], body["available"], body["shortfall"]) == (700, 698, 2)
    assert _figures(portal, two) == (998, 0, 300, 0)
    assert LedgerEntry.objects.count() == entries


def test_x2_taking_back_more_than_assigned_is_402_and_nothing_moves(make_portal, make_api):
    # given a list with 40 assigned credits
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    api.post(_url(one, "assignments/"), {"credits": 40})
    # when 41 are taken back
    response = api.post(_url(one, "unassignments/"), {"credits": 41})
    # then 402 with the figures, and nothing moved
    assert response.status_code == 402
    body = response.json()
    assert (body["code"], body["needed"], body["available"], body["shortfall"]) == (
        "insufficient_credits",
        41,
        40,
        1,
    )
    assert _figures(portal, one) == (998, 0, 40, 40)


def test_g3_serious_game_credits_cannot_be_taken_back_409(make_portal, make_api):
    # given a serious-game client with 94 assigned credits left
    portal = make_portal("alpha", preset="serious_game")
    api = make_api(portal)
    one = portal.clients[0]
    before = _figures(portal, one)
    assert before == (988, 0, 188, 94)
    # when some are taken back
    response = api.post(_url(one, "unassignments/"), {"credits": 10})
    # then the policy refuses, and nothing moved
    assert response.status_code == 409
    assert response.json()["code"] == "not_reassignable"
    assert _figures(portal, one) == before


def test_x6_an_inactive_client_receives_no_credits_409(make_portal, make_api):
    # given a deactivated list
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    api.post(f"/api/v1/clients/{one.pk}/deactivate/")
    # when credits are assigned to it
    response = api.post(_url(one, "assignments/"), {"credits": 10})
    # then 409 client_inactive, and nothing moved
    assert response.status_code == 409
    assert response.json()["code"] == "client_inactive"
    assert _figures(portal, one) == (998, 0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [{}, {"credits": 0}, {"credits": -5}, {"credits": 1.5}, {"credits": 10**13}, {"credits": "x"}],
)
def test_x6_a_bad_number_of_credits_is_400_and_nothing_moves(make_portal, make_api, body):
    # given a list
    portal = make_portal("alpha", preset="sms")
    one = portal.clients[0]
    # when a bad number of credits is assigned
    response = make_api(portal).post(_url(one, "assignments/"), body)
    # then 400 on credits, and nothing moved
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == ["credits"]
    assert _figures(portal, one) == (998, 0, 0, 0)


def test_d4_a_monthly_limit_is_set_and_visible_on_the_client(make_portal, make_api):
    # given a list with no limit
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    # when a monthly limit of 500 is set
    response = _put(api, _url(one, "limit/"), {"kind": "monthly", "limit": 500})
    # then the client answers with it, and reads with it afterwards
    assert response.status_code == 200
    expected = {"kind": "monthly", "limit": 500, "used": 0, "left": 500, "draws_from_pool": True}
    assert response.json()["limit"] == expected
    assert api.get(_url(one, "")).json()["limit"] == expected
    account = ClientAccount.objects.get(pk=one.pk)
    assert (account.limit_kind, account.limit, account.used) == ("monthly", 500, 0)


def test_d4_spending_counts_against_the_limit_and_switching_kind_resets_it(make_portal, make_api):
    # given a fixed limit of 30 on a CRM department, which then spends 10 (one AI summary)
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    one = portal.clients[0]
    _put(api, _url(one, "limit/"), {"kind": "fixed", "limit": 30})
    credit_services.consume(client=one, action="ai_summary", now=timezone.now())
    assert api.get(_url(one, "")).json()["limit"]["used"] == 10
    # when the limit switches to monthly
    response = _put(api, _url(one, "limit/"), {"kind": "monthly", "limit": 30})
    # then its counter starts again at 0 (D4)
    assert response.json()["limit"] == {
        "kind": "monthly",
        "limit": 30,
        "used": 0,
        "left": 30,
        "draws_from_pool": True,
    }


def test_d4_no_limit_clears_it_and_draws_from_pool_can_be_turned_off(make_portal, make_api):
    # given a list with a fixed limit of 100
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    _put(api, _url(one, "limit/"), {"kind": "fixed", "limit": 100})
    # when the limit is removed (a limit sent with it is ignored) and drawing from the pool stopped
    response = _put(
        api, _url(one, "limit/"), {"kind": "none", "limit": 5, "draws_from_pool": False}
    )
    # then no limit, no counter, no drawing from the pool
    assert response.status_code == 200
    assert response.json()["limit"] == {
        "kind": "none",
        "limit": None,
        "used": 0,
        "left": None,
        "draws_from_pool": False,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "monthly"},
        {"kind": "fixed", "limit": None},
        {"kind": "fixed", "limit": -1},
        {"kind": "weekly", "limit": 10},
        {"limit": 10},
    ],
)
def test_x6_a_bad_limit_is_400_and_the_limit_is_unchanged(make_portal, make_api, body):
    # given a list with a fixed limit of 100
    portal = make_portal("alpha", preset="sms")
    api = make_api(portal)
    one = portal.clients[0]
    _put(api, _url(one, "limit/"), {"kind": "fixed", "limit": 100})
    # when a bad limit is sent
    response = _put(api, _url(one, "limit/"), body)
    # then 400, and the limit is unchanged
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    account = ClientAccount.objects.get(pk=one.pk)
    assert (account.limit_kind, account.limit) == ("fixed", 100)


def test_b7_a_tied_key_cannot_assign_nor_set_limits_403_and_another_client_is_404(
    make_portal, make_api
):
    # given a key tied to the first list
    portal = make_portal("alpha", preset="sms")
    one, two = portal.clients
    api = make_api(portal, client=one)
    # when it assigns to its own list, takes back, or raises its own limit
    own = [
        api.post(_url(one, "assignments/"), {"credits": 10}),
        api.post(_url(one, "unassignments/"), {"credits": 10}),
        _put(api, _url(one, "limit/"), {"kind": "none"}),
    ]
    # then each is an organisation-wide write it may not make
    assert [r.status_code for r in own] == [403, 403, 403]
    assert {r.json()["code"] for r in own} == {"client_not_allowed"}
    # and another list is not found at all
    other = api.post(_url(two, "assignments/"), {"credits": 10})
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    assert _figures(portal, one) == (998, 0, 0, 0)
    assert _figures(portal, two) == (998, 0, 0, 0)


def test_x5_another_organisations_client_is_404_and_nothing_moves(make_portal, make_api):
    # given two organisations and a key of the first
    alpha, beta = make_portal("alpha", preset="sms"), make_portal("beta", preset="sms")
    api = make_api(alpha)
    theirs = beta.clients[0]
    # when it assigns to, takes back from and limits a client of the second
    responses = [
        api.post(_url(theirs, "assignments/"), {"credits": 10}),
        api.post(_url(theirs, "unassignments/"), {"credits": 10}),
        _put(api, _url(theirs, "limit/"), {"kind": "fixed", "limit": 1}),
    ]
    # then 404 each, and nothing moved
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert _figures(beta, theirs) == (998, 0, 0, 0)
    assert ClientAccount.objects.get(pk=theirs.pk).limit_kind == "none"


def test_k4_a_read_only_key_cannot_assign_403(make_portal, make_api):
    # given a read-only key
    portal = make_portal("alpha", preset="sms")
    one = portal.clients[0]
    # when it assigns credits
    response = make_api(portal, scope="read").post(_url(one, "assignments/"), {"credits": 10})
    # then 403 read_only_key, and nothing moved
    assert (response.status_code, response.json()["code"]) == (403, "read_only_key")
    assert _figures(portal, one) == (998, 0, 0, 0)
