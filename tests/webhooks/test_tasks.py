"""The webhook jobs (K2, B3, X4): a delivery job schedules its own retry when it is near,
leaves later ones to the sweep, and the beat runs the sweep and the consumption emitter."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from webhooks import services, tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(monkeypatch):
    """Celery as with a broker (not inline); the retries it is asked to schedule."""
    calls = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, eta: calls.append((args, eta)))
    app.conf.task_always_eager = False
    yield calls
    app.conf.task_always_eager = True


@pytest.fixture
def ping(make_portal, make_endpoint, receiver):
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    return services.send_test_event(endpoint=endpoint, now=timezone.now())


def test_a_failed_delivery_schedules_its_retry_5_seconds_later_b3(ping, receiver, scheduled):
    # Given a receiver answering 500
    receiver.script = [500]
    # When the delivery job runs
    status = tasks.deliver(ping.pk)
    # Then it schedules itself again when the retry is due
    ping.refresh_from_db()
    assert status == "pending"
    assert scheduled == [((ping.pk,), ping.next_attempt_at + timedelta(milliseconds=100))]


def test_a_retry_hours_away_is_left_to_the_sweep_b3(ping, receiver, scheduled):
    # Given a delivery at its fourth attempt (the next would be 2 hours later)
    receiver.script = [500] * 4
    now = timezone.now()
    for delay in (timedelta(0), *services.RETRY_DELAYS[:2]):
        now += delay
        services.deliver(delivery_id=ping.pk, now=now)
    ping.refresh_from_db()
    ping.next_attempt_at = timezone.now() - timedelta(seconds=1)
    ping.save(update_fields=["next_attempt_at"])
    # When its job runs and it fails again
    assert tasks.deliver(ping.pk) == "pending"
    # Then nothing is scheduled: the every-minute sweep sends it when due
    assert scheduled == []


def test_a_delivery_job_for_a_delivery_that_is_gone_or_done_does_nothing_x4(ping, receiver):
    tasks.deliver(ping.pk)
    assert tasks.deliver(ping.pk) is None  # delivered already
    assert tasks.deliver(10**12) is None  # never existed (or its endpoint was deleted)
    assert len(receiver.requests) == 1


def test_the_beat_runs_the_sweep_every_minute_and_the_emitter_every_10_seconds_k2():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["webhooks-send-due"] == {"task": "webhooks.send_due", "schedule": 60.0}
    assert schedule["webhooks-emit-consumptions"] == {
        "task": "webhooks.emit_consumptions",
        "schedule": 10.0,
    }
    assert {"webhooks.deliver", "webhooks.send_due", "webhooks.emit_consumptions"} <= set(app.tasks)
