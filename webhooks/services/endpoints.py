"""Endpoints as owners register, change, switch off and delete them, and the test event."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from clients.models import Organisation
from credits.models import Consumption
from webhooks import addresses, signing
from webhooks.exceptions import WebhookError
from webhooks.models import (
    SUBSCRIBABLE,
    ConsumptionCursor,
    Delivery,
    Endpoint,
    Event,
    EventType,
)
from webhooks.services.emission import enqueue_deliveries, new_deliveries, payload

MAX_ENDPOINTS = 20  # per organisation
DESCRIPTION_MAX = 200


def _clean(
    url: str, events: Iterable[str], all_events: bool, description: str
) -> tuple[str, list[str], str]:
    """The URL checked (addresses.check), the events known and in a stable order, the
    description bounded; a refusal names the field it is about."""
    target = addresses.check(url)
    if (
        not isinstance(events, list | tuple | set | frozenset)
        or len(events) > len(SUBSCRIBABLE)
        or not all(isinstance(event, str) for event in events)
    ):
        raise WebhookError(_("Choose events from the list."), field="events")
    unknown = set(events) - set(SUBSCRIBABLE)
    if unknown:
        raise WebhookError(
            _("Unknown event: %(event)s.") % {"event": ", ".join(sorted(map(str, unknown)))},
            field="events",
        )
    if not all_events and not events:
        raise WebhookError(_("Choose at least one event, or every event."), field="events")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise WebhookError(
            _("A description has at most %(max)d characters.") % {"max": DESCRIPTION_MAX},
            field="description",
        )
    ordered = [] if all_events else [event for event in SUBSCRIBABLE if event in set(events)]
    return target.url, ordered, description


def _listening_to_consumptions(organisation_id: int, *, besides: int | None = None) -> bool:
    endpoints = Endpoint.objects.filter(organisation_id=organisation_id, is_active=True)
    if besides is not None:
        endpoints = endpoints.exclude(pk=besides)
    return any(
        every or EventType.CONSUMPTION_CREATED in events
        for every, events in endpoints.values_list("all_events", "events")
    )


def _start_consumptions(endpoint: Endpoint, now: datetime) -> None:
    """An organisation that starts listening to `consumption.created` hears of consumptions
    from now on, not of its history: its cursor moves to the newest consumption (by the
    primary key: one index lookup). Nothing to do while another endpoint already listens."""
    if not (endpoint.is_active and endpoint.receives(EventType.CONSUMPTION_CREATED)):
        return
    if _listening_to_consumptions(endpoint.organisation_id, besides=endpoint.pk):
        return
    newest = Consumption.objects.aggregate(newest=Max("pk"))["newest"] or 0
    ConsumptionCursor.objects.update_or_create(
        organisation_id=endpoint.organisation_id,
        defaults={"last_id": newest, "updated_at": now},
    )


@transaction.atomic
def register_endpoint(
    *,
    organisation: Organisation,
    url: str,
    events: Iterable[str],
    all_events: bool = False,
    description: str = "",
    now: datetime,
    actor: AbstractBaseUser | None = None,
) -> Endpoint:
    """A new endpoint with a new signing secret. Refused, writing nothing, for a URL the
    portal will not send to, no events, or one endpoint too many."""
    url, events, description = _clean(url, events, all_events, description)
    if Endpoint.objects.filter(organisation=organisation).count() >= MAX_ENDPOINTS:
        raise WebhookError(
            _("An organisation has at most %(max)d endpoints: delete one first.")
            % {"max": MAX_ENDPOINTS}
        )
    endpoint = Endpoint(
        organisation=organisation,
        url=url,
        events=events,
        all_events=all_events,
        description=description,
        secret=signing.new_secret(),
        created_at=now,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _start_consumptions(endpoint, now)
    endpoint.save()
    return endpoint


@transaction.atomic
def update_endpoint(
    *,
    endpoint: Endpoint,
    url: str,
    events: Iterable[str],
    all_events: bool = False,
    description: str = "",
    now: datetime,
) -> Endpoint:
    """New URL, events or description; the secret stays (receivers keep verifying)."""
    url, events, description = _clean(url, events, all_events, description)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    listened = endpoint.is_active and endpoint.receives(EventType.CONSUMPTION_CREATED)
    endpoint.url, endpoint.events, endpoint.all_events = url, events, all_events
    endpoint.description = description
    if not listened:
        _start_consumptions(endpoint, now)
    endpoint.save(update_fields=["url", "events", "all_events", "description"])
    return endpoint


@transaction.atomic
def set_endpoint_active(*, endpoint: Endpoint, active: bool, now: datetime) -> Endpoint:
    """Switch an endpoint off (nothing more is recorded for it, and what waits is not sent)
    or on again (it hears of what happens from then on)."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    if active:
        _start_consumptions(endpoint, now)
    endpoint.save(update_fields=["is_active"])
    return endpoint


def delete_endpoint(*, endpoint: Endpoint) -> None:
    """The endpoint and its deliveries and attempts; the events stay (other endpoints may
    have them)."""
    Endpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def send_test_event(*, endpoint: Endpoint, now: datetime) -> Delivery:
    """A `ping` event to this endpoint only, whatever it subscribes to, sent like any other
    (signed, retried): the owner sees at once whether the receiver answers."""
    if not endpoint.is_active:
        raise WebhookError(_("Turn the endpoint on before sending it a test event."))
    data = {"endpoint": endpoint.pk, "test": True}
    event = Event.objects.create(
        organisation_id=endpoint.organisation_id,
        type=EventType.PING,
        payload=payload(EventType.PING, data, now),
        created_at=now,
    )
    (delivery,) = Delivery.objects.bulk_create(new_deliveries(event, [endpoint.pk], now))
    enqueue_deliveries([delivery])
    return delivery
