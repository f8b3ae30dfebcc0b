"""The API's common ground (K4): keys, problems, Idempotency-Key, rate limits."""

import json

import pytest

from api.models import IdempotentRequest
from credits.models import Consumption, CreditPool

pytestmark = pytest.mark.django_db


def _balance(portal) -> int:
    return CreditPool.objects.get(pk=portal.organisation.pk).balance


def test_k4_a_request_without_a_key_is_a_401_problem(make_portal, client):
    # given an organisation
    make_portal("alpha", preset="crm")
    # when its balance is read with no key
    response = client.get("/api/v1/balance/")
    # then the answer is a problem document naming the scheme
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_k4_a_key_reads_its_organisation_balance(make_portal, make_api):
    # given an organisation with 1,000 credits and a read-only key
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, scope="read")
    # when it reads the balance
    response = api.get("/api/v1/balance/")
    # then it gets the figures
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == _balance(portal)
    assert body["available"] == body["balance"] - body["held"]


def test_k4_a_revoked_key_is_refused(make_portal, make_api):
    from django.utils import timezone

    from api import services

    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    services.revoke_key(key=api.key, now=timezone.now())
    response = api.get("/api/v1/balance/")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_k4_a_read_only_key_cannot_consume_and_nothing_moves(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, scope="read")
    before = _balance(portal)
    response = api.post("/api/v1/consumptions/", {"action": "ai_summary"})
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_key"
    assert _balance(portal) == before


def test_k4_consume_then_replay_with_the_same_key_returns_the_same_consumption(
    make_portal, make_api
):
    # given a key and an action priced 5 credits on the CRM card
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = _balance(portal)
    count = Consumption.objects.count()
    # when the same request is sent twice with one Idempotency-Key
    first = api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="k-1")
    second = api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="k-1")
    # then one consumption, the same answer, the second marked as a replay
    assert first.status_code == 201
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert json.loads(second.content) == first.json()
    assert Consumption.objects.count() == count + 1
    assert _balance(portal) == before - first.json()["credits"]


def test_k4_the_same_idempotency_key_with_another_body_is_409(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="k-1")
    before = _balance(portal)
    response = api.post(
        "/api/v1/consumptions/", {"action": "ai_summary", "params": {"x": 1}}, key="k-1"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert _balance(portal) == before


def test_k4_insufficient_credits_is_a_402_with_the_figures(make_portal, make_api):
    # given 1,000 credits of which the fixture spent 20, and SMS at 5 credits each
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = _balance(portal)
    assert before == 980
    # when 200 SMS (1,000 credits) are consumed
    response = api.post(
        "/api/v1/consumptions/", {"action": "sms", "params": {"messages": 200}}, key="k-2"
    )
    # then 402 with the figures, and nothing moved
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "insufficient_credits"
    assert (body["needed"], body["available"], body["shortfall"]) == (1000, 980, 20)
    assert _balance(portal) == before
    # a refusal is an answer too: the same request gets it again, without running again
    assert IdempotentRequest.objects.get(key="k-2").status_code == 402


def test_k4_a_key_over_its_rate_gets_429_with_retry_after(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal, requests_per_minute=2)
    assert api.get("/api/v1/balance/").status_code == 200
    assert api.get("/api/v1/balance/").status_code == 200
    response = api.get("/api/v1/balance/")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_k4_a_request_that_died_holds_its_key_until_its_lease_ends(make_portal, make_api):
    # given a request with key k-9 that started and never answered (its process died)
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from api.models import RequestState

    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    body = {"action": "ai_summary"}
    first = api.post("/api/v1/consumptions/", body, key="k-9")
    IdempotentRequest.objects.filter(key="k-9").update(
        state=RequestState.RUNNING, status_code=None, body=b""
    )
    # when the client retries at once, then after the lease
    during = api.post("/api/v1/consumptions/", body, key="k-9")
    IdempotentRequest.objects.filter(key="k-9").update(
        created_at=timezone.now() - settings.API_IDEMPOTENCY_LEASE - timedelta(seconds=1)
    )
    count = Consumption.objects.count()
    after = api.post("/api/v1/consumptions/", body, key="k-9")
    # then 409 while it may still be running; afterwards the retry runs, and the ledger's own
    # key (the same Idempotency-Key) replays the consumption the dead request made
    assert during.status_code == 409
    assert during.json()["code"] == "request_in_progress"
    assert after.status_code == 201
    assert after.json()["id"] == first.json()["id"]
    assert Consumption.objects.count() == count


def test_k4_answers_are_kept_48_hours_then_forgotten(make_portal, make_api):
    from datetime import timedelta

    from django.utils import timezone

    from api import services

    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="old")
    api.post("/api/v1/consumptions/", {"action": "ai_summary"}, key="new")
    IdempotentRequest.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=49)
    )
    IdempotentRequest.objects.filter(key="new").update(
        created_at=timezone.now() - timedelta(hours=47)
    )
    assert services.forget_old_requests(now=timezone.now()) == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_k4_an_unknown_api_path_is_a_problem_not_the_portal_page(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_k4_a_malformed_body_is_a_400_and_nothing_moves(make_portal, make_api):
    portal = make_portal("alpha", preset="crm")
    api = make_api(portal)
    before = _balance(portal)
    response = api.http.post(
        "/api/v1/consumptions/",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
    assert _balance(portal) == before
