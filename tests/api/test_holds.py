"""Holds through the API (S2, G3, X1, X3, K4): credits set aside for work that runs later,
captured in full or in part (the rest goes back where it came from) or released.

The CRM portal starts with a balance of 980 and nothing held (an SMS message costs 5
credits). The serious-game portal bought 1,000, assigned 100 to each of its two clients, and
each enrolled one learner (6 credits): balance 988, assigned 188, 94 left to each client.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from credits import services as credit_services
from credits.models import ClientAccount, Consumption, CreditPool, Hold

pytestmark = pytest.mark.django_db


def pool(portal) -> tuple[int, int, int]:
    """(balance, held, assigned)."""
    found = CreditPool.objects.get(pk=portal.organisation.pk)
    return found.balance, found.held, found.assigned


def in_an_hour() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


def test_s2_k4_a_hold_sets_credits_aside_and_a_smaller_capture_gives_the_rest_back(
    make_portal, make_api
):
    # given 980 credits, nothing held
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    # when 10 messages (50 credits) are held
    made = api.post(
        "/api/v1/holds/",
        {"action": "sms", "params": {"messages": 10}, "expires_at": in_an_hour()},
        key="h-1",
    )
    # then 50 are held: 930 available
    assert made.status_code == 201
    hold = made.json()
    assert (hold["client"], hold["action"], hold["credits"], hold["status"]) == (
        portal.own.pk,
        "sms",
        50,
        "active",
    )
    assert (hold["from_pool"], hold["from_assigned"], hold["consumption"]) == (50, 0, None)
    assert pool(portal) == (980, 50, 0)
    assert api.get("/api/v1/balance/").json()["available"] == 930
    # when 30 of them are captured
    captured = api.post(f"/api/v1/holds/{hold['id']}/capture/", {"credits": 30}, key="h-2")
    # then a consumption of 30, and the other 20 are available again: 950, nothing held
    assert captured.status_code == 200
    consumption = captured.json()
    assert (consumption["credits"], consumption["hold"], consumption["action"]) == (
        30,
        hold["id"],
        "sms",
    )
    assert pool(portal) == (950, 0, 0)
    read = api.get(f"/api/v1/holds/{hold['id']}/").json()
    assert (read["status"], read["consumption"]) == ("captured", consumption["id"])
    assert read["resolved_at"] is not None


def test_s2_g3_a_smaller_capture_gives_the_rest_back_to_the_clients_assigned_credits(
    make_portal, make_api
):
    # given client one of a serious game with 94 assigned credits left
    portal = make_portal("alpha", preset="serious_game")
    client = portal.clients[0]
    api = make_api(portal)
    assert pool(portal) == (988, 0, 188)
    # when 10 learners (60 credits) are held for it
    hold = api.post(
        "/api/v1/holds/",
        {
            "action": "enrolment",
            "params": {"learners": 10, "game": "Phishing"},
            "client": client.pk,
            "expires_at": in_an_hour(),
        },
    ).json()
    # then the 60 come out of its assigned credits: 34 left, 60 held
    assert (hold["from_assigned"], hold["from_pool"]) == (60, 0)
    assert ClientAccount.objects.get(pk=client.pk).assigned_remaining == 34
    assert pool(portal) == (988, 60, 128)
    # when only 5 learners (30 credits) enrol
    response = api.post(f"/api/v1/holds/{hold['id']}/capture/", {"credits": 30})
    # then 30 are spent and the other 30 are assigned to it again: 64 left
    assert response.status_code == 200
    assert (response.json()["from_assigned"], response.json()["from_pool"]) == (30, 0)
    assert ClientAccount.objects.get(pk=client.pk).assigned_remaining == 64
    assert pool(portal) == (958, 0, 158)


def test_s2_k4_capturing_without_an_amount_spends_the_whole_hold(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    hold = api.post(
        "/api/v1/holds/",
        {"action": "sms", "params": {"messages": 4}, "expires_at": in_an_hour()},
    ).json()
    response = api.post(f"/api/v1/holds/{hold['id']}/capture/")
    assert response.status_code == 200
    assert response.json()["credits"] == 20
    assert pool(portal) == (960, 0, 0)


def test_s2_k4_releasing_a_hold_gives_every_credit_back(make_portal, make_api):
    # given 20 credits held
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    hold = api.post(
        "/api/v1/holds/",
        {"action": "sms", "params": {"messages": 4}, "expires_at": in_an_hour()},
    ).json()
    assert pool(portal) == (980, 20, 0)
    count = Consumption.objects.count()
    # when it is released
    response = api.post(f"/api/v1/holds/{hold['id']}/release/", key="h-3")
    # then the hold answers released, nothing was spent, nothing is held
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["consumption"]) == (hold["id"], "released", None)
    assert body["resolved_at"] is not None
    assert pool(portal) == (980, 0, 0)
    assert Consumption.objects.count() == count


def test_s2_x6_capturing_more_than_held_is_a_validation_error_and_nothing_moves(
    make_portal, make_api
):
    # given 50 credits held
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    hold = api.post(
        "/api/v1/holds/",
        {"action": "sms", "params": {"messages": 10}, "expires_at": in_an_hour()},
    ).json()
    # when 60 are captured
    response = api.post(f"/api/v1/holds/{hold['id']}/capture/", {"credits": 60})
    # then 400, and the hold is still whole and active
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["detail"] == "Cannot capture 60 credits from a hold of 50."
    assert pool(portal) == (980, 50, 0)
    assert Hold.objects.get(pk=hold["id"]).status == "active"


def test_s2_x6_a_hold_must_expire_in_the_future_and_within_a_year(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    far = (timezone.now() + timedelta(days=367)).isoformat()
    answers = [
        api.post("/api/v1/holds/", {"action": "sms", "params": {"messages": 1}, "expires_at": at})
        for at in (past, far)
    ]
    assert [response.status_code for response in answers] == [400, 400]
    assert [response.json()["errors"] for response in answers] == [
        {"expires_at": ["A hold must expire in the future."]},
        {"expires_at": ["A hold expires within 366 days."]},
    ]
    assert pool(portal) == (980, 0, 0)
    assert not Hold.objects.filter(organisation=portal.organisation).exists()


def test_x3_k4_a_hold_sent_twice_with_one_key_is_made_once(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    body = {"action": "sms", "params": {"messages": 2}, "expires_at": in_an_hour()}
    first = api.post("/api/v1/holds/", body, key="h-4")
    second = api.post("/api/v1/holds/", body, key="h-4")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert json.loads(second.content) == first.json()
    assert Hold.objects.filter(organisation=portal.organisation).count() == 1
    assert pool(portal) == (980, 10, 0)


def test_k4_s2_the_list_filters_by_status_and_client_and_pages_by_cursor(make_portal, make_api):
    # given three holds of the own client (one released) and one of client one
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()

    def hold(client):
        return credit_services.hold_action(
            client=client,
            action="sms",
            params={"messages": 1},
            expires_at=now + timedelta(hours=1),
            now=now,
        )

    first, second, third = hold(portal.own), hold(portal.own), hold(portal.own)
    other = hold(portal.clients[0])
    credit_services.release(hold=second, now=now)
    api = make_api(portal, scope="read")

    def found(**params) -> list[int]:
        response = api.get("/api/v1/holds/", params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    # then each filter keeps its holds, newest first, and pages follow the cursor
    assert found(status="active") == [other.pk, third.pk, first.pk]
    assert found(status="released") == [second.pk]
    assert found(client=portal.own.pk, status="active") == [third.pk, first.pk]
    page = api.get("/api/v1/holds/", {"page_size": 3}).json()
    rest = api.get(page["next"]).json()
    assert [row["id"] for row in page["results"] + rest["results"]] == [
        other.pk,
        third.pk,
        second.pk,
        first.pk,
    ]
    assert rest["next"] is None


def test_k4_b7_a_tied_key_cannot_see_or_resolve_another_clients_hold(make_portal, make_api):
    # given an active hold of client two, and a key tied to client one
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    theirs = credit_services.hold_action(
        client=portal.clients[1],
        action="sms",
        params={"messages": 2},
        expires_at=now + timedelta(hours=1),
        now=now,
    )
    api = make_api(portal, client=portal.clients[0])
    # when it reads, captures or releases that hold
    answers = [
        api.get(f"/api/v1/holds/{theirs.pk}/"),
        api.post(f"/api/v1/holds/{theirs.pk}/capture/"),
        api.post(f"/api/v1/holds/{theirs.pk}/release/"),
    ]
    # then not found, and the hold is untouched; its list is empty
    assert [response.status_code for response in answers] == [404, 404, 404]
    assert Hold.objects.get(pk=theirs.pk).status == "active"
    assert pool(portal) == (980, 10, 0)
    assert api.get("/api/v1/holds/").json()["results"] == []
