"""Every refusal of the spending routes (K4): its HTTP status, its stable `code`, its figures,
and nothing moved (X6).

The CRM portal (`make_portal(preset="crm")`) starts with 1,000 purchased credits of which
its two clients spent 10 each (AI summary): a balance of 980, nothing held or assigned. SMS
cost 5 credits a message there.
"""

import hashlib
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from api.models import IdempotentRequest, RequestState
from clients import services as client_services
from credits import services as credit_services
from credits.models import ClientAccount, Consumption, CreditPool, Hold, LedgerEntry, Lot

pytestmark = pytest.mark.django_db

FIGURES = ("needed", "available", "shortfall", "limit")


def snapshot(portal) -> dict:
    """Every figure a refusal must leave as it was: the pool, each client's account, each
    lot, and the rows of consumptions, holds and ledger entries."""
    organisation = portal.organisation
    pool = CreditPool.objects.get(pk=organisation.pk)
    return {
        "pool": (pool.balance, pool.held, pool.assigned),
        "accounts": sorted(
            ClientAccount.objects.filter(organisation=organisation).values_list(
                "pk", "assigned_remaining", "used"
            )
        ),
        "lots": sorted(
            Lot.objects.filter(organisation=organisation).values_list("pk", "remaining")
        ),
        "consumptions": Consumption.objects.filter(organisation=organisation).count(),
        "holds": sorted(Hold.objects.filter(organisation=organisation).values_list("pk", "status")),
        "entries": LedgerEntry.objects.filter(organisation=organisation).count(),
    }


def problem_of(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:credit-portal:problem:{code}"
    return body


def no_figures(body: dict) -> bool:
    return not any(name in body for name in FIGURES)


# --- 402: credits short ---------------------------------------------------------------------


def test_k4_c1_insufficient_credits_is_402_with_needed_available_shortfall(make_portal, make_api):
    # given 980 credits and SMS at 5 credits a message
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = snapshot(portal)
    # when 197 messages (985 credits) are consumed
    response = api.post(
        "/api/v1/consumptions/", {"action": "sms", "params": {"messages": 197}}, key="r-1"
    )
    # then 402, 5 short, and nothing moved
    body = problem_of(response, 402, "insufficient_credits")
    assert (body["needed"], body["available"], body["shortfall"]) == (985, 980, 5)
    assert "limit" not in body
    assert body["detail"] == "Not enough credits: 985 needed, 980 available (5 short)."
    assert snapshot(portal) == before


def test_k4_d4_limit_reached_is_402_with_the_limit_and_what_is_left(make_portal, make_api):
    # given client one under a fixed limit of 15 credits (a new window: 0 used)
    portal = make_portal("alpha", preset="crm")
    client = portal.clients[0]
    credit_services.set_spending_limit(client=client, kind="fixed", limit=15, now=timezone.now())
    api = make_api(portal)
    before = snapshot(portal)
    # when it consumes 4 messages (20 credits)
    response = api.post(
        "/api/v1/consumptions/",
        {"action": "sms", "params": {"messages": 4}, "client": client.pk},
        key="r-2",
    )
    # then 402: 20 needed, 15 left of 15, 5 short; nothing moved
    body = problem_of(response, 402, "limit_reached")
    assert (body["needed"], body["available"], body["shortfall"], body["limit"]) == (20, 15, 5, 15)
    assert body["detail"] == (
        "Spending limit reached: 20 credits needed from the pool, 15 left of the limit of 15."
    )
    assert snapshot(portal) == before


def test_k4_g3_assignment_exhausted_is_402_with_what_is_assigned(make_portal, make_api):
    # given a serious-game organisation: clients spend only what is assigned to them; client
    # one was assigned 100 and enrolled one learner (6 credits), 94 left
    portal = make_portal("alpha", preset="serious_game")
    client = portal.clients[0]
    assert ClientAccount.objects.get(pk=client.pk).assigned_remaining == 94
    api = make_api(portal)
    before = snapshot(portal)
    # when it enrols 16 learners (96 credits)
    response = api.post(
        "/api/v1/consumptions/",
        {
            "action": "enrolment",
            "params": {"learners": 16, "game": "Phishing"},
            "client": client.pk,
        },
        key="r-3",
    )
    # then 402: 96 needed, 94 assigned, 2 short; nothing moved
    body = problem_of(response, 402, "assignment_exhausted")
    assert (body["needed"], body["available"], body["shortfall"]) == (96, 94, 2)
    assert "limit" not in body
    assert snapshot(portal) == before


# --- 409: conflicts -------------------------------------------------------------------------


def test_k4_c5_quote_expired_is_409_and_says_when(make_portal, make_api):
    # given a quote made 16 minutes ago (valid for 15)
    portal = make_portal("alpha", preset="crm")
    quote = credit_services.quote(
        client=portal.own,
        action="ai_summary",
        params={},
        now=timezone.now() - timedelta(minutes=16),
    )
    api = make_api(portal)
    before = snapshot(portal)
    # when it is consumed
    response = api.post(
        "/api/v1/consumptions/", {"action": "ai_summary", "quote": quote.pk}, key="r-4"
    )
    # then 409 with the time it expired (the organisation's clock), nothing spent
    body = problem_of(response, 409, "quote_expired")
    local = quote.expires_at.astimezone(ZoneInfo(portal.organisation.time_zone))
    assert body["detail"] == f"This quote expired at {local:%H:%M}; ask for a new one."
    assert no_figures(body)
    assert snapshot(portal) == before
    quote.refresh_from_db()
    assert quote.consumption_id is None


def test_k4_c5_quote_used_is_409_on_a_second_consumption(make_portal, make_api):
    # given a quote consumed once
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    quote = api.post("/api/v1/quotes/", {"action": "ai_summary"}).json()
    first = api.post(
        "/api/v1/consumptions/", {"action": "ai_summary", "quote": quote["id"]}, key="a"
    )
    assert first.status_code == 201
    before = snapshot(portal)
    # when it is consumed again under another key
    response = api.post(
        "/api/v1/consumptions/", {"action": "ai_summary", "quote": quote["id"]}, key="b"
    )
    # then 409 and nothing spent twice
    body = problem_of(response, 409, "quote_used")
    assert body["detail"] == "This quote was already used."
    assert no_figures(body)
    assert snapshot(portal) == before


def test_k4_c5_quote_mismatch_is_409_for_another_action(make_portal, make_api):
    # given a quote for an AI summary
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    quote = api.post("/api/v1/quotes/", {"action": "ai_summary"}).json()
    before = snapshot(portal)
    # when it is used for an e-mail draft
    response = api.post(
        "/api/v1/consumptions/", {"action": "ai_email_draft", "quote": quote["id"]}, key="r-5"
    )
    # then 409, nothing spent
    body = problem_of(response, 409, "quote_mismatch")
    assert body["detail"] == "This quote was made for another action or other parameters."
    assert snapshot(portal) == before


def test_k4_x3_idempotency_conflict_is_409_for_another_body(make_portal, make_api):
    # given a consumption made with key k-1
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    assert api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="k-1").status_code == 201
    before = snapshot(portal)
    # when k-1 comes back with another body
    response = api.post("/api/v1/consumptions/", {"action": "ai_email_draft"}, key="k-1")
    # then 409, and the second body did not run
    body = problem_of(response, 409, "idempotency_conflict")
    assert body["detail"] == (
        "This Idempotency-Key was used with another request body; use a new key for a new request."
    )
    assert no_figures(body)
    assert snapshot(portal) == before


def test_k4_x3_request_in_progress_is_409_while_the_key_runs(make_portal, make_api):
    # given a request with key k-run, this very body, still running
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    raw = json.dumps({"action": "ai_summary"})
    digest = hashlib.sha256()
    for part in ("POST", "/api/v1/consumptions/", "application/json"):
        digest.update(part.encode() + b"\0")
    digest.update(raw.encode())
    IdempotentRequest.objects.create(
        organisation=portal.organisation,
        key="k-run",
        fingerprint=digest.hexdigest(),
        state=RequestState.RUNNING,
        created_at=timezone.now(),
    )
    before = snapshot(portal)
    # when the same request arrives again
    response = api.post("/api/v1/consumptions/", raw, key="k-run")
    # then 409: it waits for the first to answer; nothing ran
    body = problem_of(response, 409, "request_in_progress")
    assert body["detail"] == (
        "A request with this Idempotency-Key is still running; retry in a moment to get its answer."
    )
    assert snapshot(portal) == before
    assert IdempotentRequest.objects.get(key="k-run").state == RequestState.RUNNING


def test_k4_s2_hold_not_active_is_409_for_a_released_hold(make_portal, make_api):
    # given a hold of 3 messages (15 credits), released
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    expires = (timezone.now() + timedelta(hours=1)).isoformat()
    hold = api.post(
        "/api/v1/holds/", {"action": "sms", "params": {"messages": 3}, "expires_at": expires}
    ).json()
    assert api.post(f"/api/v1/holds/{hold['id']}/release/").status_code == 200
    before = snapshot(portal)
    # when it is captured
    response = api.post(f"/api/v1/holds/{hold['id']}/capture/", {}, key="r-6")
    # then 409, nothing spent
    body = problem_of(response, 409, "hold_not_active")
    # (the service words it with the status's label, "Released": compared without case)
    assert body["detail"].casefold() == "this hold is already released."
    assert no_figures(body)
    assert snapshot(portal) == before


def test_k4_s2_hold_expired_is_409_and_its_credits_are_back(make_portal, make_api):
    # given a hold of 15 credits made two hours ago that expired an hour ago
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    hold = credit_services.hold_action(
        client=portal.own,
        action="sms",
        params={"messages": 3},
        expires_at=now - timedelta(hours=1),
        now=now - timedelta(hours=2),
    )
    api = make_api(portal)
    # when it is captured
    response = api.post(f"/api/v1/holds/{hold.pk}/capture/", {"credits": 10}, key="r-7")
    # then 409; nothing was spent and the 15 held credits are available again
    body = problem_of(response, 409, "hold_expired")
    assert body["detail"] == "This hold expired; its credits were released."
    pool = CreditPool.objects.get(pk=portal.organisation.pk)
    assert (pool.balance, pool.held) == (980, 0)
    assert Consumption.objects.filter(hold=hold).count() == 0
    assert Hold.objects.get(pk=hold.pk).status == "expired"


def test_k4_client_inactive_is_409_and_nothing_moves(make_portal, make_api):
    # given client two deactivated
    portal = make_portal("alpha", preset="crm")
    client = client_services.set_client_active(client=portal.clients[1], active=False)
    api = make_api(portal)
    before = snapshot(portal)
    # when it consumes
    response = api.post(
        "/api/v1/consumptions/", {"action": "ai_summary", "client": client.pk}, key="r-8"
    )
    # then 409
    body = problem_of(response, 409, "client_inactive")
    assert body["detail"] == "This client is inactive."
    assert no_figures(body)
    assert snapshot(portal) == before


# --- 400: bad input -------------------------------------------------------------------------


def test_k4_x6_validation_error_is_400_with_errors_per_field(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = snapshot(portal)
    # when every field is wrong
    response = api.post(
        "/api/v1/consumptions/", {"action": "", "client": 0, "params": []}, key="r-9"
    )
    # then 400 naming each field and why
    body = problem_of(response, 400, "validation_error")
    assert body["errors"] == {
        "action": ["This field may not be blank."],
        "params": ['Expected a dictionary of items but got type "list".'],
        "client": ["Ensure this value is greater than or equal to 1."],
    }
    assert no_figures(body)
    assert snapshot(portal) == before


def test_k4_x6_a_number_beyond_any_price_is_a_validation_error_not_a_500(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = snapshot(portal)
    response = api.post(
        "/api/v1/consumptions/", {"action": "sms", "params": {"messages": 10**20}}, key="r-10"
    )
    body = problem_of(response, 400, "validation_error")
    assert body["errors"] == {"params": ["Numbers are at most 1,000,000,000 in absolute value."]}
    assert snapshot(portal) == before


def test_k4_c2_pricing_error_is_400_for_an_unknown_action(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = snapshot(portal)
    response = api.post("/api/v1/consumptions/", {"action": "teleport"}, key="r-11")
    body = problem_of(response, 400, "pricing_error")
    assert body["detail"] == "Unknown action “teleport”."
    assert no_figures(body)
    assert snapshot(portal) == before


def test_k4_c2_pricing_error_is_400_for_a_missing_unit(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = snapshot(portal)
    response = api.post("/api/v1/consumptions/", {"action": "sms"}, key="r-12")
    body = problem_of(response, 400, "pricing_error")
    assert body["detail"] == "The parameter “messages” must be a whole number of at least 1."
    assert snapshot(portal) == before


# --- 403, 404 -------------------------------------------------------------------------------


def test_k4_read_only_key_is_403_on_every_spending_write(make_portal, make_api):
    # given a read-only key and an active hold
    portal = make_portal("alpha", preset="crm")
    hold = credit_services.hold_action(
        client=portal.own,
        action="sms",
        params={"messages": 1},
        expires_at=timezone.now() + timedelta(hours=1),
        now=timezone.now(),
    )
    api = make_api(portal, scope="read")
    before = snapshot(portal)
    expires = (timezone.now() + timedelta(hours=1)).isoformat()
    writes = [
        ("/api/v1/consumptions/", {"action": "ai_summary"}),
        ("/api/v1/quotes/", {"action": "ai_summary"}),
        ("/api/v1/holds/", {"action": "ai_summary", "expires_at": expires}),
        (f"/api/v1/holds/{hold.pk}/capture/", {}),
        (f"/api/v1/holds/{hold.pk}/release/", {}),
    ]
    quotes = portal.organisation.quotes.count()
    for path, body in writes:
        response = api.post(path, body)
        problem = problem_of(response, 403, "read_only_key")
        assert problem["detail"] == (
            "This API key may only read; create a read-and-write key to write."
        )
    assert snapshot(portal) == before
    assert portal.organisation.quotes.count() == quotes


def test_k4_x5_not_found_is_404_for_another_organisation_and_nothing_moves(make_portal, make_api):
    # given two organisations; alpha's key
    alpha = make_portal("alpha", preset="crm")
    beta = make_portal("beta", preset="crm")
    api = make_api(alpha)
    beta_hold = credit_services.hold_action(
        client=beta.own,
        action="sms",
        params={"messages": 1},
        expires_at=timezone.now() + timedelta(hours=1),
        now=timezone.now(),
    )
    before = (snapshot(alpha), snapshot(beta))
    # when it names beta's client, quote, consumption and hold
    answers = [
        api.post(
            "/api/v1/consumptions/", {"action": "ai_summary", "client": beta.clients[0].pk}, key="x"
        ),
        api.post("/api/v1/consumptions/", {"action": "ai_summary", "quote": beta.quotes[0].pk}),
        api.post("/api/v1/quotes/", {"action": "ai_summary", "client": beta.clients[0].pk}),
        api.get(f"/api/v1/quotes/{beta.quotes[0].pk}/"),
        api.get(f"/api/v1/consumptions/{beta.consumptions[0].pk}/"),
        api.get(f"/api/v1/holds/{beta_hold.pk}/"),
        api.post(f"/api/v1/holds/{beta_hold.pk}/capture/"),
        api.post(f"/api/v1/holds/{beta_hold.pk}/release/"),
        api.get(f"/api/v1/holds/{2**70}/"),
    ]
    # then every answer is the same 404, and neither organisation moved
    for response in answers:
        body = problem_of(response, 404, "not_found")
        assert body["detail"] == "Not found."
        assert no_figures(body)
    assert (snapshot(alpha), snapshot(beta)) == before
