"""Webhook endpoints, events and deliveries (B3).

An `Event` is written in the transaction of the operation that causes it, with one `Delivery`
per active endpoint subscribed to its type (an outbox): if the operation rolls back, so does
its event, and nothing is sent for it. A delivery is then sent after commit by a Celery task,
retried with backoff, and every try is an `Attempt` row, written after the HTTP call.

The event's id gives the Standard Webhooks `webhook-id` (`msg_<id>`), so every attempt and
every replay of one event carries the same id and receivers can drop duplicates.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Organisation

URL_MAX_LENGTH = 2000
EXCERPT_MAX_BYTES = 1024


class EventType(models.TextChoices):
    LOW_BALANCE = "credits.low_balance", _("Credits under the low-balance threshold")
    EXPIRING = "credits.expiring", _("Credits expiring soon")
    EXPIRED = "credits.expired", _("Credits expired")
    CONSUMPTION_CREATED = "consumption.created", _("Credits consumed")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_PAID = "invoice.paid", _("Invoice paid")
    PURCHASE_COMPLETED = "purchase.completed", _("Purchase completed")
    PING = "ping", _("Test event")


# What an owner may subscribe to; `ping` goes only to the endpoint it is sent to.
SUBSCRIBABLE = [value for value in EventType.values if value != EventType.PING]


class Endpoint(models.Model):
    """Where an organisation wants its events POSTed, and which. The secret signs every
    delivery, so it is stored as such (the owner copies it into the receiver)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("organisation"),
    )
    url = models.CharField(_("URL"), max_length=URL_MAX_LENGTH)
    description = models.CharField(_("description"), max_length=200, blank=True)
    all_events = models.BooleanField(_("every event"), default=False)
    events = models.JSONField(_("events"), default=list, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def receives(self, event_type: str) -> bool:
        return event_type == EventType.PING or self.all_events or event_type in self.events

    @property
    def event_labels(self) -> list[str]:
        labels = dict(EventType.choices)
        return [str(labels.get(value, value)) for value in self.events]


class Event(models.Model):
    """Something that happened, as its receivers read it: `{"type", "timestamp", "data"}`."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="webhook_events",
        verbose_name=_("organisation"),
    )
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="webhook_event_org_recent")
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.type}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed, gave up")
    CANCELLED = "cancelled", _("Not sent: endpoint off")


class Delivery(models.Model):
    """One event to one endpoint. While pending, `next_attempt_at` is when it is due; a
    worker claims it by pushing that time a lease ahead with its own `lease_token`
    (a conditional UPDATE), so two workers never send it at once, and a worker that dies
    leaves it due again when the lease ends."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    replay_of = models.ForeignKey(
        "self",
        verbose_name=_("replay of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # The sweep reads only what is waiting, whatever the history's size.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event.webhook_id} → {self.endpoint}"


class Attempt(models.Model):
    """One HTTP try of a delivery, recorded after the call returned (or failed)."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_set", verbose_name=_("delivery")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response (first kB)"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class ConsumptionCursor(models.Model):
    """How far `consumption.created` events were written for an organisation: the id of the
    last consumption looked at. Moved in the transaction that writes the events, so a
    consumption is emitted once; set to the newest consumption when the organisation starts
    listening, so history is not sent."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("consumption cursor")
        verbose_name_plural = _("consumption cursors")

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.last_id}"


class ConsumptionFence(models.Model):
    """One row. Consumption ids are drawn before their transaction commits, so a row with a
    smaller id may become visible after a larger one. The emitter reads only ids up to
    `safe_id`: the largest id seen at least `SETTLE` ago (`next_id` seen at `next_at`), by
    when every transaction that drew a smaller id has committed or rolled back."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    safe_id = models.BigIntegerField(default=0)
    next_id = models.BigIntegerField(default=0)
    next_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"≤ {self.safe_id}"
