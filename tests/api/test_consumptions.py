"""Consumptions through the API (C1, C4, X1, B7, K4): consume for a client, list with filters
by cursor, read one with the lots that paid.

The CRM portal starts with a balance of 980 (one never-expiring purchase of 1,000; its two
clients spent 10 each on an AI summary); an SMS message costs 5 credits.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from credits import services as credit_services
from credits.models import Consumption, CreditPool, LotSource

pytestmark = pytest.mark.django_db


def balance(portal) -> int:
    return CreditPool.objects.get(pk=portal.organisation.pk).balance


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_k4_b7_a_tied_key_consumes_for_its_client_and_another_client_is_not_found(
    make_portal, make_api
):
    # given a key tied to client one (X)
    portal = make_portal("alpha", preset="crm")
    x, y = portal.clients
    api = make_api(portal, client=x)
    count = Consumption.objects.count()
    # when it consumes for client two (Y) by id
    refused = api.post("/api/v1/consumptions/", {"action": "ai_summary", "client": y.pk})
    # then 404, as if Y did not exist, and nothing spent
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert (balance(portal), Consumption.objects.count()) == (980, count)
    # when it consumes without naming a client
    made = api.post("/api/v1/consumptions/", {"action": "ai_summary"})
    # then the consumption is X's
    assert made.status_code == 201
    assert made.json()["client"] == x.pk
    assert balance(portal) == 970


def test_k4_a_key_of_the_whole_organisation_consumes_for_its_own_client_by_default(
    make_portal, make_api
):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    response = api.post("/api/v1/consumptions/", {"action": "sms", "params": {"messages": 2}})
    assert response.status_code == 201
    body = response.json()
    assert (body["client"], body["credits"], body["from_pool"], body["from_assigned"]) == (
        portal.own.pk,
        10,
        10,
        0,
    )
    assert body["params"] == {"messages": 2, "unit_credits": 5, "units": 2}
    assert balance(portal) == 970


def test_c1_k4_a_free_action_is_recorded_and_debits_nothing(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    response = api.post("/api/v1/consumptions/", {"action": "login"})
    assert response.status_code == 201
    assert (response.json()["action"], response.json()["credits"]) == ("login", 0)
    assert balance(portal) == 980


def test_k4_c4_the_list_pages_by_cursor_newest_first(make_portal, make_api):
    # given five consumptions: the fixture's two and three more
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    for _ in range(3):
        credit_services.consume(client=portal.own, action="form_submission", now=now)
    api = make_api(portal, scope="read")
    everything = list(
        Consumption.objects.filter(organisation=portal.organisation)
        .order_by("-id")
        .values_list("id", flat=True)
    )
    assert len(everything) == 5
    # when it is read two at a time, following `next`
    first = api.get("/api/v1/consumptions/", {"page_size": 2})
    second = api.get(first.json()["next"])
    third = api.get(second.json()["next"])
    # then the five come newest first, two, two and one, and the last page ends the list
    assert first.status_code == second.status_code == third.status_code == 200
    assert ids(first) + ids(second) + ids(third) == everything
    assert [len(ids(page)) for page in (first, second, third)] == [2, 2, 1]
    assert first.json()["previous"] is None
    assert third.json()["next"] is None
    assert urlsplit(first.json()["next"]).path == "/api/v1/consumptions/"
    assert "page_size=2" in urlsplit(first.json()["next"]).query


def test_k4_c4_the_list_filters_by_client_action_time_and_hold(make_portal, make_api):
    # given consumptions at known times: own client's SMS a day ago, an AI summary now,
    # client one's form an hour ago, and a captured hold of client two
    portal = make_portal("alpha", preset="crm")
    own, one, two = portal.own, *portal.clients
    now = timezone.now()
    sms = credit_services.consume(
        client=own, action="sms", params={"messages": 1}, now=now - timedelta(days=1)
    )
    summary = credit_services.consume(client=own, action="ai_summary", now=now)
    form = credit_services.consume(
        client=one, action="form_submission", now=now - timedelta(hours=1)
    )
    hold = credit_services.hold_action(
        client=two,
        action="sms",
        params={"messages": 2},
        expires_at=now + timedelta(hours=1),
        now=now,
    )
    captured = credit_services.capture(hold=hold, now=now)
    api = make_api(portal, scope="read")

    def found(**params) -> list[int]:
        response = api.get("/api/v1/consumptions/", params)
        assert response.status_code == 200
        return ids(response)

    # then each filter keeps exactly its consumptions, most recent first
    assert found(client=own.pk) == [summary.pk, sms.pk]
    assert found(client=one.pk) == [portal.consumptions[0].pk, form.pk]
    assert found(action="sms") == [captured.pk, sms.pk]
    assert found(action="sms", client=own.pk) == [sms.pk]
    assert found(hold=hold.pk) == [captured.pk]
    before = (now - timedelta(hours=2)).isoformat()
    assert found(created_before=before) == [sms.pk]
    assert found(created_after=before, client=own.pk) == [summary.pk]
    assert found(client=10**12) == []


def test_k4_x6_a_malformed_filter_is_a_400_naming_it(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, scope="read")
    response = api.get("/api/v1/consumptions/", {"client": "x", "created_after": "yesterday"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {
        "client": ["Enter a whole number."],
        "created_after": ["Enter a valid date/time."],
    }


def test_k4_b7_a_tied_key_lists_only_its_clients_consumptions(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, client=portal.clients[1], scope="read")
    response = api.get("/api/v1/consumptions/")
    assert ids(response) == [portal.consumptions[1].pk]
    assert (
        api.get("/api/v1/consumptions/", {"client": portal.clients[0].pk}).json()["results"] == []
    )
    refused = api.get(f"/api/v1/consumptions/{portal.consumptions[0].pk}/")
    assert refused.status_code == 404


def test_x1_k4_a_consumption_reads_with_the_lots_that_paid_soonest_expiry_first(
    make_portal, make_api
):
    # given 5 promotional credits expiring in 10 days beside the never-expiring purchase
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    purchase = portal.organisation.lots.get(source=LotSource.PURCHASE)
    promotion = credit_services.grant(
        organisation=portal.organisation,
        credits=5,
        source=LotSource.PROMOTION,
        expires_at=now + timedelta(days=10),
        now=now,
    )
    api = make_api(portal)
    # when an AI summary (10 credits) is consumed and read back
    made = api.post("/api/v1/consumptions/", {"action": "ai_summary"}).json()
    response = api.get(f"/api/v1/consumptions/{made['id']}/")
    # then the promotion paid 5 first, the purchase the other 5
    assert response.status_code == 200
    body = response.json()
    assert body["paid_by"] == [
        {
            "lot": promotion.pk,
            "credits": 5,
            "expires_at": timezone.localtime(promotion.expires_at).isoformat(),
        },
        {"lot": purchase.pk, "credits": 5, "expires_at": None},
    ]
    assert {key: body[key] for key in made} == made
    assert body["quote"] is None


def test_s2_k4_a_captured_consumption_names_its_hold(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    hold = credit_services.hold_action(
        client=portal.own,
        action="sms",
        params={"messages": 1},
        expires_at=now + timedelta(hours=1),
        now=now,
    )
    captured = credit_services.capture(hold=hold, now=now)
    api = make_api(portal, scope="read")
    body = api.get(f"/api/v1/consumptions/{captured.pk}/").json()
    assert (body["hold"], body["credits"]) == (hold.pk, 5)
    assert sum(lot["credits"] for lot in body["paid_by"]) == 5
