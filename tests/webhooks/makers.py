"""Ids of a portal's webhook endpoint and delivery, for tests that walk every page (the
tenancy test's ID_MAKERS: `"endpoint_id": endpoint_id, "delivery_id": delivery_id`).

The endpoint is registered through the service, on a public address literal (no DNS lookup,
allowed under the production rule); its delivery is written as rows, so no job is enqueued
and nothing is ever sent, whether the test's transaction commits or not.
"""

from django.utils import timezone

from webhooks import services
from webhooks.models import Delivery, Endpoint, Event, EventType

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address: nothing is sent to it


def endpoint_id(portal, index: int = 0) -> int:
    """The portal's one endpoint, registered the first time it is asked for."""
    existing = Endpoint.objects.filter(organisation=portal.organisation).first()
    if existing is not None:
        return existing.pk
    return services.register_endpoint(
        organisation=portal.organisation,
        url=PUBLIC_URL,
        events=[],
        all_events=True,
        now=timezone.now(),
        actor=portal.owner,
    ).pk


def delivery_id(portal, index: int = 0) -> int:
    """A test event's delivery to that endpoint, already given up on (nothing to send)."""
    endpoint = Endpoint.objects.get(pk=endpoint_id(portal))
    existing = Delivery.objects.filter(endpoint=endpoint).first()
    if existing is not None:
        return existing.pk
    now = timezone.now()
    event = Event.objects.create(
        organisation=portal.organisation,
        type=EventType.PING,
        payload=services.payload(EventType.PING, {"endpoint": endpoint.pk, "test": True}, now),
        created_at=now,
    )
    return Delivery.objects.create(
        event=event, endpoint=endpoint, status="failed", attempts=8, created_at=now
    ).pk
