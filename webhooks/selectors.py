"""Reads behind the webhook pages; every one starts from the organisation (X5), so another
organisation's endpoint or delivery is None, and the page a 404."""

import json
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from clients.models import Organisation
from webhooks.models import SUBSCRIBABLE, Attempt, Delivery, DeliveryStatus, Endpoint, EventType

DELIVERIES_SHOWN = 50


def endpoints_of(organisation: Organisation) -> list[Endpoint]:
    """The organisation's endpoints, each with its latest delivery's status and time and
    how many wait to be sent (subqueries on the per-endpoint and pending indexes)."""
    deliveries = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    waiting = (
        Delivery.objects.filter(endpoint=OuterRef("pk"), status=DeliveryStatus.PENDING)
        .order_by()
        .values("endpoint")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Endpoint.objects.filter(organisation=organisation).annotate(
            last_status=Subquery(deliveries.values("status")[:1]),
            last_at=Subquery(deliveries.values("created_at")[:1]),
            waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), Value(0)),
        )
    )


def endpoint_of(organisation: Organisation, endpoint_id: int) -> Endpoint | None:
    return Endpoint.objects.filter(organisation=organisation, pk=endpoint_id).first()


@dataclass(frozen=True)
class EndpointPage:
    endpoint: Endpoint
    deliveries: list[Delivery]
    status: str  # the status filter, "" for all
    waiting: bool  # something is still to be sent: the list refreshes itself


def endpoint_page(endpoint: Endpoint, *, status: str = "") -> EndpointPage:
    """The endpoint's newest deliveries (of one status, if asked), with their events."""
    status = status if status in DeliveryStatus.values else ""
    deliveries = endpoint.deliveries.select_related("event").order_by("-created_at", "-pk")
    if status:
        deliveries = deliveries.filter(status=status)
    shown = list(deliveries[:DELIVERIES_SHOWN])
    waiting = any(delivery.status == DeliveryStatus.PENDING for delivery in shown)
    return EndpointPage(endpoint=endpoint, deliveries=shown, status=status, waiting=waiting)


@dataclass(frozen=True)
class DeliveryPage:
    delivery: Delivery
    attempts: list[Attempt]
    replays: list[Delivery]
    payload: str  # the event's JSON, indented for reading


def delivery_page(organisation: Organisation, delivery_id: int) -> DeliveryPage | None:
    delivery = (
        Delivery.objects.select_related("event", "endpoint", "replay_of")
        .filter(endpoint__organisation=organisation, pk=delivery_id)
        .first()
    )
    if delivery is None:
        return None
    return DeliveryPage(
        delivery=delivery,
        attempts=list(delivery.attempt_set.order_by("at", "pk")),
        replays=list(delivery.replays.order_by("created_at", "pk")),
        payload=json.dumps(delivery.event.payload, indent=2, sort_keys=True, ensure_ascii=False),
    )


def event_choices() -> list[tuple[str, str]]:
    """(type, label) of the events an owner may subscribe to, in the order documented."""
    labels = dict(EventType.choices)
    return [(value, labels[value]) for value in SUBSCRIBABLE]
