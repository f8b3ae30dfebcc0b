"""Webhook history is kept WEBHOOKS_RETENTION_DAYS, then deleted by a daily job (B3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import services
from webhooks.models import Attempt, Delivery, Event

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def test_b3_events_past_the_retention_go_with_their_deliveries_and_attempts(
    make_portal, make_endpoint, receiver, settings
):
    # Given 90 days of retention, an event of 91 days ago delivered then replayed, and one of
    # 89 days ago, each with its attempts
    settings.WEBHOOKS_RETENTION_DAYS = 90
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    now = timezone.now()
    old = services.send_test_event(endpoint=endpoint, now=now - 91 * DAY)
    services.deliver(delivery_id=old.pk, now=now - 91 * DAY)
    replay = services.replay_delivery(delivery=old, now=now - 91 * DAY)
    services.deliver(delivery_id=replay.pk, now=now - 91 * DAY)
    recent = services.send_test_event(endpoint=endpoint, now=now - 89 * DAY)
    services.deliver(delivery_id=recent.pk, now=now - 89 * DAY)
    # When the daily job runs, in batches of one event
    deleted = services.forget_old_events(now=now, batch=1)
    # Then the old event went with its two deliveries and their attempts; the recent stayed
    assert deleted == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.event_id]
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(Attempt.objects.values_list("delivery_id", flat=True)) == [recent.pk]
    # And a second run finds nothing more to do
    assert services.forget_old_events(now=now) == 0
