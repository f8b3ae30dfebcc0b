"""`consumption.created` (B3, C1, X3, X4): written by a set-based job, not by the consume path.

The job (`emit_consumptions`, every 10 s) reads the consumptions of the organisations that
listen, after each one's cursor and up to the settled id (the fence, SETTLE behind), in
batches; each batch writes its events and moves the cursors in one transaction. So each
consumption is emitted once, none is skipped, history before listening is not sent, and the
number of queries depends on the batches, not on the consumptions.
"""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from clients.models import Client, ClientKind
from credits import services as credits
from credits.models import Consumption, LotSource
from webhooks import services
from webhooks.models import ConsumptionCursor, Delivery, Event
from webhooks.services.consumptions import SETTLE

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)
RECEIVER = "http://127.0.0.1:9/hooks"


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


def spend(organisation, times: int, *, credits_each: int = 3, now=T0) -> list[Consumption]:
    client = own_client(organisation)
    return [
        credits.debit(client=client, credits=credits_each, action_code="export", now=now)
        for _ in range(times)
    ]


def emit_settled(now=T0, **options) -> int:
    """The job at `now`, then once the fence has settled: what a receiver sees ~10 s later."""
    first = services.emit_consumptions(now=now, **options)
    second = services.emit_consumptions(now=now + SETTLE, **options)
    return first.events + second.events


def consumption_ids() -> list[int]:
    return [
        payload["data"]["consumption"]["id"]
        for payload in Event.objects.filter(type="consumption.created")
        .order_by("pk")
        .values_list("payload", flat=True)
    ]


@pytest.fixture
def acme(make_organisation):
    organisation = make_organisation("acme", name="Acme")
    credits.grant(organisation=organisation, credits=10_000, source=LotSource.PURCHASE, now=T0)
    return organisation


@pytest.fixture
def listening(acme, make_endpoint):
    """Acme with history (2 consumptions) before its endpoint listens to consumptions."""
    spend(acme, 2)
    return make_endpoint(acme, RECEIVER, events=["consumption.created"], now=T0)


def test_each_consumption_becomes_one_event_with_its_figures_b3_c1(acme, listening):
    # Given an endpoint listening to consumptions, and 3 consumptions of 3 credits since
    made = spend(acme, 3)
    # When the job runs and the fence settles
    emitted = emit_settled()
    # Then 3 events, one per consumption, in order, each with one delivery
    assert emitted == 3
    assert consumption_ids() == [consumption.pk for consumption in made]
    client = own_client(acme)
    first = Event.objects.filter(type="consumption.created").order_by("pk").first()
    assert first.payload == {
        "type": "consumption.created",
        "timestamp": "2026-03-10T08:00:00Z",
        "data": {
            "consumption": {
                "id": made[0].pk,
                "client": {"id": client.pk, "name": client.name, "external_id": None},
                "action": "export",
                "description": "",
                "credits": 3,
                "from_assigned": 0,
                "from_pool": 3,
                "hold": None,
                "created_at": "2026-03-10T08:00:00Z",
            }
        },
    }
    assert Delivery.objects.filter(endpoint=listening).count() == 3


def test_history_before_listening_is_not_sent_b3(acme, listening):
    # Given 2 consumptions made before the endpoint listened, none since
    # When the job runs
    # Then nothing is emitted
    assert emit_settled() == 0
    assert Event.objects.count() == 0


def test_a_second_run_emits_nothing_again_and_only_what_is_new_later_b3_x3(acme, listening):
    # Given 3 consumptions emitted
    spend(acme, 3)
    assert emit_settled() == 3
    # When the job runs again
    # Then nothing is emitted twice
    assert emit_settled(T0 + timedelta(minutes=1)) == 0
    # When 1 more consumption happens
    (late,) = spend(acme, 1)
    # Then the next runs emit it, once
    assert emit_settled(T0 + timedelta(minutes=2)) == 1
    assert emit_settled(T0 + timedelta(minutes=3)) == 0
    assert consumption_ids()[-1] == late.pk
    assert len(consumption_ids()) == len(set(consumption_ids())) == 4


def test_a_consumption_waits_for_the_fence_to_settle_b3_x4(acme, listening):
    # Given 2 consumptions and a first run of the job that set the fence
    spend(acme, 2)
    assert services.emit_consumptions(now=T0).events == 0
    # When it runs again before SETTLE has passed
    # Then nothing yet: a smaller id may still be committing
    assert services.emit_consumptions(now=T0 + SETTLE - timedelta(seconds=1)).events == 0
    # When SETTLE has passed since the fence was set
    # Then both are emitted
    assert services.emit_consumptions(now=T0 + SETTLE).events == 2


def test_the_number_of_queries_does_not_grow_with_the_consumptions_b3(acme, listening):
    # Given 3 consumptions, emitted while counting the queries
    spend(acme, 3)
    services.emit_consumptions(now=T0)
    with CaptureQueriesContext(connection) as few:
        assert services.emit_consumptions(now=T0 + SETTLE).events == 3
    # When 40 more are emitted
    spend(acme, 40)
    services.emit_consumptions(now=T0 + 2 * SETTLE)
    with CaptureQueriesContext(connection) as many:
        assert services.emit_consumptions(now=T0 + 3 * SETTLE).events == 40
    # Then the same number of queries did it
    assert len(many) == len(few)


def test_batches_emit_everything_once_b3(acme, listening):
    # Given 5 consumptions, and batches of 2
    made = spend(acme, 5)
    services.emit_consumptions(now=T0, batch=2)
    # When the job runs once the fence settled
    run = services.emit_consumptions(now=T0 + SETTLE, batch=2)
    # Then 3 batches wrote the 5 events, in order, and the cursor is past the last
    assert (run.events, run.batches) == (5, 3)
    assert consumption_ids() == [consumption.pk for consumption in made]
    assert ConsumptionCursor.objects.get(pk=acme.pk).last_id >= made[-1].pk


def test_only_organisations_that_listen_have_their_consumptions_emitted_b3_x5(
    acme, listening, make_organisation
):
    # Given another organisation, without endpoint, that spends too
    other = make_organisation("other")
    credits.grant(organisation=other, credits=100, source=LotSource.PURCHASE, now=T0)
    spend(other, 2)
    (own,) = spend(acme, 1)
    # When the job runs
    emit_settled()
    # Then only Acme's consumption is emitted, to Acme
    assert consumption_ids() == [own.pk]
    assert set(Event.objects.values_list("organisation_id", flat=True)) == {acme.pk}


def test_an_endpoint_that_stops_listening_and_starts_again_hears_only_what_comes_after_b3(
    acme, listening
):
    # Given the endpoint turned off while 2 consumptions happen
    services.set_endpoint_active(endpoint=listening, active=False, now=T0)
    spend(acme, 2)
    emit_settled()
    # When it is turned on again and 1 more consumption happens
    services.set_endpoint_active(endpoint=listening, active=True, now=T0)
    (after,) = spend(acme, 1)
    emit_settled(T0 + timedelta(minutes=1))
    # Then only that one is emitted
    assert consumption_ids() == [after.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_consumption_committed_after_a_newer_one_is_not_skipped_b3_x4(
    make_organisation, make_endpoint
):
    """On PostgreSQL, ids are drawn before commit: Bravo's consumption takes its id while its
    transaction stays open, and Alpha's, newer, commits first. A job reading up to the newest
    id would move Bravo's cursor past Bravo's consumption before it became visible; the fence
    reads only up to an id seen SETTLE ago."""
    # Given two organisations listening
    alpha, bravo = make_organisation("alpha"), make_organisation("bravo")
    for organisation in (alpha, bravo):
        credits.grant(organisation=organisation, credits=100, source=LotSource.PURCHASE, now=T0)
        make_endpoint(organisation, RECEIVER, events=["consumption.created"], now=T0)
    # And Bravo's consumption written in a transaction that stays open
    drawn, release = threading.Event(), threading.Event()
    bravo_ids: list[int] = []

    def slow_bravo() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                bravo_ids.append(spend(bravo, 1)[0].pk)
                drawn.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_bravo)
    thread.start()
    assert drawn.wait(10)
    (alpha_consumption,) = spend(alpha, 1)
    assert alpha_consumption.pk > bravo_ids[0]
    # When the job runs while Bravo's transaction is open
    # Then nothing is emitted yet, not even Alpha's, which is visible
    assert services.emit_consumptions(now=T0).events == 0
    assert consumption_ids() == []
    # When Bravo's transaction commits, and the job runs once SETTLE has passed
    release.set()
    thread.join(10)
    emitted = services.emit_consumptions(now=T0 + SETTLE).events
    # Then both are emitted, once each, and nothing more later
    assert emitted == 2
    assert sorted(consumption_ids()) == sorted([alpha_consumption.pk, bravo_ids[0]])
    assert emit_settled(T0 + 2 * SETTLE) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_once_emit_each_consumption_once_b3_x4(acme, make_endpoint):
    # Given 30 consumptions and an endpoint listening since before them
    make_endpoint(acme, RECEIVER, events=["consumption.created"], now=T0)
    made = spend(acme, 30)
    services.emit_consumptions(now=T0)
    # When two jobs run at the same moment, in batches of 7
    barrier = threading.Barrier(2)

    def job() -> None:
        try:
            barrier.wait(5)
            services.emit_consumptions(now=T0 + SETTLE, batch=7)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # Then each consumption has exactly one event
    assert sorted(consumption_ids()) == [consumption.pk for consumption in made]
