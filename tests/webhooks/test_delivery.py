"""Sending deliveries (B3, X4): retried with backoff until a 2xx, every attempt recorded with
the same webhook-id; bounded in time; claimed with a lease; replayed on demand."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import services, transport
from webhooks.models import Attempt, Delivery

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


@pytest.fixture
def ping(make_portal, make_endpoint, receiver):
    """A test event waiting to be delivered to the receiver, and the time it was recorded."""
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    now = timezone.now().replace(microsecond=0)
    return services.send_test_event(endpoint=endpoint, now=now), now


def test_a_receiver_answering_500_then_200_gets_a_retry_with_the_same_webhook_id_b3(ping, receiver):
    # Given a receiver that answers 500, then 200
    delivery, now = ping
    receiver.script = [500, 200]
    # When the delivery is sent, it fails and waits 5 seconds
    services.deliver(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + 5 * SECOND
    # Then it is not sent again before its time
    assert services.deliver(delivery_id=delivery.pk, now=now + 4 * SECOND) is None
    assert len(receiver.requests) == 1
    # When its time comes, it is sent again and succeeds
    services.deliver(delivery_id=delivery.pk, now=now + 5 * SECOND)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    assert (delivery.delivered_at, delivery.next_attempt_at) == (now + 5 * SECOND, None)
    # And both attempts are recorded, and both requests carry the same webhook-id and body
    attempts = list(
        Attempt.objects.filter(delivery=delivery).values_list("number", "at", "status_code")
    )
    assert attempts == [(1, now, 500), (2, now + 5 * SECOND, 200)]
    ids = {request.headers["Webhook-Id"] for request in receiver.requests}
    assert ids == {f"msg_{delivery.event_id}"}
    assert receiver.requests[0].body == receiver.requests[1].body


def test_failures_back_off_for_about_a_day_then_the_delivery_gives_up_b3(ping, receiver):
    # Given a receiver that always answers 503
    delivery, now = ping
    receiver.script = [503] * 20
    # When the delivery is sent each time it is due
    moments = []
    while True:
        delivery.refresh_from_db()
        if delivery.status != "pending":
            break
        moments.append(delivery.next_attempt_at)
        services.deliver(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    # Then it was tried 8 times, after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert gaps == list(services.RETRY_DELAYS)
    assert moments[-1] - moments[0] == timedelta(hours=27, minutes=35, seconds=5)
    # And then gave up: failed, nothing more due, nothing more sent
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert services.deliver(delivery_id=delivery.pk, now=now + timedelta(days=3)) is None
    assert services.due_deliveries(now=now + timedelta(days=3)) == []
    assert len(receiver.requests) == 8
    assert Attempt.objects.filter(delivery=delivery).count() == 8


def test_a_receiver_that_is_down_is_an_attempt_with_its_error_b3(
    make_portal, make_endpoint, closed_url
):
    # Given an endpoint where nothing listens
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, closed_url)
    now = timezone.now()
    delivery = services.send_test_event(endpoint=endpoint, now=now)
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then the attempt says the connection was refused, and a retry waits 5 seconds
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert "Connection refused" in attempt.error
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("pending", now + 5 * SECOND)


def test_a_slow_receiver_is_cut_at_the_total_timeout_b3(ping, receiver, monkeypatch):
    # Given a receiver that takes 3 s to answer, and a total timeout of 0.4 s
    delivery, now = ping
    receiver.delay = 3
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT", 0.4)
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then the attempt gave up at the timeout and says so
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.error.startswith("Timed out")
    assert attempt.status_code is None
    assert 300 <= attempt.duration_ms < 2000


def test_an_answer_is_kept_to_its_first_kilobyte_b3(ping, receiver):
    # Given a receiver answering 5,000 bytes
    delivery, now = ping
    receiver.body = b"x" * 5000
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then the attempt keeps 1,024 of them
    assert Attempt.objects.get(delivery=delivery).response_excerpt == "x" * 1024


def test_a_redirect_is_not_followed_and_counts_as_a_failure_b3(ping, receiver):
    # Given a receiver that redirects elsewhere
    delivery, now = ping
    receiver.script = [302]
    receiver.headers = {"Location": "http://127.0.0.1:1/elsewhere"}
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then one request went out, answered 302, and the delivery waits for its retry
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)


def test_a_delivery_held_by_a_worker_is_sent_by_no_one_else_until_its_lease_ends_x4(ping, receiver):
    # Given a worker that claimed the delivery and died before sending
    delivery, now = ping
    assert services.delivery._claim(delivery.pk, now) is not None
    # When another worker, or the sweep, looks for it during the lease
    # Then it is neither due nor sent
    assert services.due_deliveries(now=now + 59 * SECOND) == []
    assert services.deliver(delivery_id=delivery.pk, now=now + 59 * SECOND) is None
    assert receiver.requests == []
    # When the lease has ended, it is taken over and sent, once
    assert services.due_deliveries(now=now + services.LEASE) == [delivery.pk]
    services.deliver(delivery_id=delivery.pk, now=now + services.LEASE)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(receiver.requests) == 1


def test_the_sweep_sends_every_delivery_that_is_due_b3_x4(make_portal, make_endpoint, receiver):
    # Given a delivery whose first attempt failed an hour ago (its retry job was lost)
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    delivery = services.send_test_event(endpoint=endpoint, now=an_hour_ago)
    receiver.script = [500]
    services.deliver(delivery_id=delivery.pk, now=an_hour_ago)
    # When the every-minute sweep runs (its jobs run inline in tests)
    handed = services.send_due(now=timezone.now())
    # Then it was sent again and delivered
    assert handed == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_an_endpoint_turned_off_gets_nothing_of_what_waited_b3(ping, receiver):
    # Given a delivery waiting, and its endpoint turned off
    delivery, now = ping
    services.set_endpoint_active(endpoint=delivery.endpoint, active=False, now=now)
    # When its job runs
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then nothing is sent, and the delivery says why
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("cancelled", None)
    assert delivery.last_error == "Not sent: the endpoint is turned off."


def test_a_replay_sends_the_same_event_again_with_the_same_webhook_id_b3(ping, receiver):
    # Given a delivery that succeeded
    delivery, now = ping
    services.deliver(delivery_id=delivery.pk, now=now)
    # When the owner replays it, and its job runs
    replay = services.replay_delivery(delivery=delivery, now=now + 60 * SECOND)
    services.deliver(delivery_id=replay.pk, now=now + 60 * SECOND)
    # Then a second delivery of the same event went, with its own attempt
    replay.refresh_from_db()
    assert (replay.event_id, replay.replay_of_id, replay.status) == (
        delivery.event_id,
        delivery.pk,
        "succeeded",
    )
    assert Attempt.objects.filter(delivery=replay).count() == 1
    # And the receiver got the same webhook-id and body twice
    first, second = receiver.requests
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"] == f"msg_{delivery.event_id}"
    assert first.body == second.body
    assert Delivery.objects.filter(event_id=delivery.event_id).count() == 2


def test_a_replay_to_an_endpoint_turned_off_is_refused_and_writes_nothing_b3_x6(ping):
    # Given a delivery whose endpoint was turned off
    delivery, now = ping
    services.set_endpoint_active(endpoint=delivery.endpoint, active=False, now=now)
    # When it is replayed
    # Then it is refused, and no delivery is added
    with pytest.raises(services.delivery.WebhookError, match="Turn the endpoint on"):
        services.replay_delivery(delivery=delivery, now=now)
    assert Delivery.objects.count() == 1
