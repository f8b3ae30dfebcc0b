"""Quotes through the API (C5, K4): the recap before a paid action, stored, and consumed at
its price at most once.

The CRM portal starts with a balance of 980 (1,000 bought, 10 spent by each of its two
clients); an SMS message costs 5 credits, an AI summary 10.
"""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from credits import services as credit_services
from credits.models import BillableAction, Consumption, CreditPool, Quote

pytestmark = pytest.mark.django_db


def balance(portal) -> int:
    return CreditPool.objects.get(pk=portal.organisation.pk).balance


def test_c5_k4_a_quote_gives_the_cost_and_the_balance_after_and_spends_nothing(
    make_portal, make_api
):
    # given 980 credits
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    # when 3 SMS messages are quoted
    response = api.post("/api/v1/quotes/", {"action": "sms", "params": {"messages": 3}})
    # then 201: 15 credits, 980 → 965, allowed, valid 15 minutes; nothing spent
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in body if key not in ("id", "created_at", "expires_at")} == {
        "client": portal.own.pk,
        "action": "sms",
        "params": {"messages": 3},
        "details": {"unit_credits": 5, "units": 3},
        "credits": 15,
        "balance_before": 980,
        "balance_after": 965,
        "allowed": True,
        "reason": "",
        "message": "",
        "consumption": None,
    }
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(minutes=15)
    assert Quote.objects.get(pk=body["id"]).credits == 15
    assert balance(portal) == 980


def test_c5_k4_a_quote_that_may_not_happen_is_still_201_with_the_reason(make_portal, make_api):
    # given 980 credits
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    # when 200 messages (1,000 credits) are quoted
    response = api.post("/api/v1/quotes/", {"action": "sms", "params": {"messages": 200}})
    # then the recap is created all the same, saying why not, the balance unchanged after it
    assert response.status_code == 201
    body = response.json()
    assert (body["credits"], body["balance_before"], body["balance_after"]) == (1000, 980, 980)
    assert body["allowed"] is False
    assert body["reason"] == "insufficient_credits"
    assert body["message"] == "Not enough credits: 1000 needed, 980 available (20 short)."
    assert balance(portal) == 980


def test_c5_k4_a_quote_for_a_named_client_is_that_clients(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    response = api.post("/api/v1/quotes/", {"action": "ai_summary", "client": portal.clients[1].pk})
    assert response.status_code == 201
    assert response.json()["client"] == portal.clients[1].pk
    assert Quote.objects.get(pk=response.json()["id"]).client == portal.clients[1]


def test_c5_k4_consuming_a_quote_uses_it_and_a_retry_replays_the_consumption(make_portal, make_api):
    # given a quote of 3 messages (15 credits)
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    quote = api.post("/api/v1/quotes/", {"action": "sms", "params": {"messages": 3}}).json()
    count = Consumption.objects.count()
    # when it is consumed with key q-1, then the same request is sent again
    body = {"action": "sms", "quote": quote["id"]}
    first = api.post("/api/v1/consumptions/", body, key="q-1")
    again = api.post("/api/v1/consumptions/", body, key="q-1")
    # then one consumption of the quoted 15 credits; the quote points at it; the retry got
    # the same answer, marked as a replay
    assert first.status_code == 201
    consumption = first.json()
    assert (consumption["credits"], consumption["action"]) == (15, "sms")
    assert consumption["params"] == {"messages": 3, "unit_credits": 5, "units": 3}
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == consumption
    assert Consumption.objects.count() == count + 1
    assert balance(portal) == 965
    read = api.get(f"/api/v1/quotes/{quote['id']}/").json()
    assert read["consumption"] == consumption["id"]
    detail = api.get(f"/api/v1/consumptions/{consumption['id']}/").json()
    assert detail["quote"] == quote["id"]


def test_c5_a_quote_keeps_its_price_when_the_rate_card_changes(make_portal, make_api):
    # given a quote of one AI summary at 10 credits, then the price raised to 12
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    quote = api.post("/api/v1/quotes/", {"action": "ai_summary"}).json()
    action = BillableAction.objects.get(organisation=portal.organisation, code="ai_summary")
    action.credits = 12
    credit_services.save_action(action=action)
    # when the quote is consumed, and the action without a quote
    quoted = api.post("/api/v1/consumptions/", {"action": "ai_summary", "quote": quote["id"]})
    unquoted = api.post("/api/v1/consumptions/", {"action": "ai_summary"})
    # then the quote charged its 10, the new price 12
    assert (quoted.json()["credits"], unquoted.json()["credits"]) == (10, 12)
    assert balance(portal) == 980 - 10 - 12


def test_c5_k4_a_quote_reads_back_as_it_was_made(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    made = api.post("/api/v1/quotes/", {"action": "sms", "params": {"messages": 2}}).json()
    response = api.get(f"/api/v1/quotes/{made['id']}/")
    assert response.status_code == 200
    assert response.json() == made


def test_k4_b7_a_tied_key_quotes_for_its_client_and_cannot_read_anothers_quote(
    make_portal, make_api
):
    # given a key tied to client one, and the fixture's quote of client two
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, client=portal.clients[0])
    others = portal.quotes[1]
    assert others.client == portal.clients[1]
    # when it quotes without naming a client, and reads client two's quote
    mine = api.post("/api/v1/quotes/", {"action": "ai_summary"})
    theirs = api.get(f"/api/v1/quotes/{others.pk}/")
    # then its own client's quote; the other is not found
    assert mine.json()["client"] == portal.clients[0].pk
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "not_found"
    assert api.get(f"/api/v1/quotes/{portal.quotes[0].pk}/").status_code == 200


def test_k4_b7_a_tied_key_cannot_consume_another_clients_quote(make_portal, make_api):
    # given a key tied to client one and a fresh quote of client two
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, client=portal.clients[0])
    quote = credit_services.quote(
        client=portal.clients[1], action="ai_summary", params={}, now=timezone.now()
    )
    # when the key consumes with it
    response = api.post("/api/v1/consumptions/", {"action": "ai_summary", "quote": quote.pk})
    # then not found, as if it did not exist; nothing spent
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert balance(portal) == 980


def test_c5_k4_consuming_a_quote_spends_for_the_quotes_client_by_default(make_portal, make_api):
    # given a quote made for client two
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    two = portal.clients[1]
    quote = api.post("/api/v1/quotes/", {"action": "ai_summary", "client": two.pk}).json()
    # when it is consumed without naming a client
    response = api.post("/api/v1/consumptions/", {"action": "ai_summary", "quote": quote["id"]})
    # then client two spent it
    assert response.status_code == 201
    assert (response.json()["client"], response.json()["credits"]) == (two.pk, 10)
    assert balance(portal) == 970
