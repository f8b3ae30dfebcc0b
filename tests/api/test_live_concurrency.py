"""K4, X1, X2: the API under real concurrent HTTP requests, on PostgreSQL.

pytest-django's `live_server` is a threaded WSGI server: every request runs in its own
thread with its own database connection, as under gunicorn's workers. Each test thread opens
its own HTTP connection, and a barrier lets them all send at once, so the races are the ones
production would meet: the Idempotency-Key claimed by several requests at the same moment,
and more consumptions than credits.
"""

import http.client
import json
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from api import services as api_services
from credits import services as credit_services
from credits.models import BillableAction, Consumption, CreditPool, LotSource, RuleKind
from tests.concurrency.threads import WAIT_SECONDS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTION = "job"  # a flat action priced 10 credits
PRICE = 10


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


def _organisation_with(make_organisation, *, credits: int):
    """An organisation holding `credits`, a flat 10-credit action, and a write key."""
    organisation = make_organisation("live")
    credit_services.save_action(
        action=BillableAction(
            organisation=organisation, code=ACTION, name="Job", rule=RuleKind.FLAT, credits=PRICE
        )
    )
    credit_services.grant(
        organisation=organisation,
        credits=credits,
        source=LotSource.PURCHASE,
        now=timezone.now(),
        reference="live test",
    )
    made = api_services.create_key(
        organisation=organisation, name="live", scope="write", now=timezone.now()
    )
    return organisation, made.secret


def _consumption_request(base_url: str, secret: str, idempotency_key: str):
    """For one thread: connect (before the start), then POST /api/v1/consumptions/."""
    where = urlsplit(base_url)

    def connect() -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        connection.connect()
        return connection

    def send(connection: http.client.HTTPConnection) -> Answer:
        try:
            connection.request(
                "POST",
                "/api/v1/consumptions/",
                body=json.dumps({"action": ACTION}),
                headers={
                    "Authorization": f"Bearer {secret}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": idempotency_key,
                },
            )
            response = connection.getresponse()
            raw = response.read()
            return Answer(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                body=json.loads(raw) if raw else {},
            )
        finally:
            connection.close()

    return connect, send


def send_together(requests: list) -> list[object]:
    """Each request in its own thread and HTTP connection, all connected first (the live
    server's accept queue is short: 32 connections opened at once overflow it) and released
    at once by a barrier. Returns the answers, or the exception a thread met, in order."""
    barrier = threading.Barrier(len(requests), timeout=WAIT_SECONDS)
    outcomes: list[object] = [None] * len(requests)

    def work(index: int, connect, send) -> None:
        try:
            connection = connect()
            barrier.wait()
            outcomes[index] = send(connection)
        except Exception as error:
            outcomes[index] = error

    threads = [
        threading.Thread(target=work, args=(index, *request), daemon=True)
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert [thread.is_alive() for thread in threads] == [False] * len(threads), "stuck"
    return outcomes


def _balance(organisation) -> int:
    return CreditPool.objects.get(organisation=organisation).balance


def _ledger_is_clean(capsys) -> str:
    """`manage.py ledger_check` raises CommandError on any drift; returns what it printed."""
    call_command("ledger_check")
    return capsys.readouterr().out


def test_k4_the_same_idempotency_key_sent_8_times_at_once_consumes_once(
    live_server, make_organisation, capsys
):
    # given an organisation with 100 credits, a flat 10-credit action and a write key
    organisation, secret = _organisation_with(make_organisation, credits=100)
    # when 8 threads, each on its own connection, POST the same consumption with one
    # Idempotency-Key at the same moment
    answers = send_together(
        [_consumption_request(live_server.url, secret, "same-key-8") for _ in range(8)]
    )
    # then no request failed outright
    assert [a for a in answers if not isinstance(a, Answer)] == []
    # and exactly one consumption was recorded, the balance moved once
    consumptions = list(Consumption.objects.filter(client__organisation=organisation))
    assert len(consumptions) == 1
    assert consumptions[0].credits == PRICE
    assert _balance(organisation) == 90
    # and each answer is the 201, its replay, or a 409 request_in_progress
    created = [a for a in answers if a.status == 201]
    in_progress = [a for a in answers if a.status == 409]
    assert len(created) + len(in_progress) == 8
    assert len(created) >= 1
    assert {a.body["id"] for a in created} == {consumptions[0].pk}
    assert {a.body["credits"] for a in created} == {PRICE}
    originals = [a for a in created if a.headers.get("idempotent-replayed") != "true"]
    assert len(originals) == 1  # the others that got a 201 got the stored answer, marked
    assert {a.body["code"] for a in in_progress} <= {"request_in_progress"}
    assert {a.headers["content-type"] for a in in_progress} <= {"application/problem+json"}
    # and the ledger adds up
    assert "ledger clean" in _ledger_is_clean(capsys)


def test_k4_x2_32_consumptions_of_10_against_100_available_exactly_10_succeed(
    live_server, make_organisation, capsys
):
    # given an organisation with 100 credits, a flat 10-credit action and a write key
    organisation, secret = _organisation_with(make_organisation, credits=100)
    # when 32 threads, each on its own connection and with its own Idempotency-Key, consume
    # 10 credits at the same moment
    answers = send_together(
        [_consumption_request(live_server.url, secret, f"race-{n}") for n in range(32)]
    )
    # then every request got an answer
    assert [a for a in answers if not isinstance(a, Answer)] == []
    # and exactly 10 were created and 22 refused with 402 insufficient_credits
    assert sorted(a.status for a in answers) == [201] * 10 + [402] * 22
    refusals = [a.body for a in answers if a.status == 402]
    assert {r["code"] for r in refusals} == {"insufficient_credits"}
    # the refusals came once the credits were gone: 10 needed, 0 available, 10 short
    assert {(r["needed"], r["available"], r["shortfall"]) for r in refusals} == {(10, 0, 10)}
    # and the balance is 0, with 10 consumptions of 10 recorded
    assert _balance(organisation) == 0
    assert (
        list(
            Consumption.objects.filter(client__organisation=organisation).values_list(
                "credits", flat=True
            )
        )
        == [PRICE] * 10
    )
    # and the ledger adds up
    assert "ledger clean" in _ledger_is_clean(capsys)
