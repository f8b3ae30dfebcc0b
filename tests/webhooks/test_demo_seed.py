"""The demo's webhooks (B3): an endpoint per organisation with a history of deliveries and
attempts, written as rows, without a single connection."""

import socket

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import PaymentMethod
from demo.catalogue import set_up_billing
from demo.webhooks import seed_webhooks
from webhooks import services
from webhooks.models import Attempt, ConsumptionCursor, Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the demo load opened a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_each_demo_organisation_gets_an_endpoint_with_a_history_and_no_http_b3(
    make_portal, catalogue, no_network
):
    # Given an organisation that bought credits by card, with an alert threshold
    portal = make_portal("studio", preset="serious_game")
    organisation = portal.organisation
    now = timezone.now()
    set_up_billing(organisation, None, enterprise=False, now=now)
    billing.purchase(organisation=organisation, now=now, method=PaymentMethod.CARD, credits=120)
    organisation.pool.low_balance_threshold = 4000
    organisation.pool.save(update_fields=["low_balance_threshold"])
    # When its webhooks are seeded
    endpoint = seed_webhooks(organisation, now)
    # Then its endpoint points at the closed demo port and listens to everything
    assert endpoint.url == "http://127.0.0.1:9/webhooks/studio"
    assert endpoint.all_events is True
    assert endpoint.secret.startswith("whsec_")
    # And its history: a test event, the invoice issued and paid, the
    # purchase, all delivered; and the low-balance alert refused 4 times, retried in 2 hours
    rows = list(
        Delivery.objects.filter(endpoint=endpoint)
        .order_by("pk")
        .values_list("event__type", "status", "attempts")
    )
    assert rows == [
        ("ping", "succeeded", 1),
        ("invoice.issued", "succeeded", 1),
        ("invoice.paid", "succeeded", 1),
        ("purchase.completed", "succeeded", 1),
        ("credits.low_balance", "pending", 4),
    ]
    failing = Delivery.objects.get(endpoint=endpoint, status="pending")
    last = Attempt.objects.filter(delivery=failing).order_by("-number").first()
    assert failing.next_attempt_at - last.at == services.RETRY_DELAYS[3]
    assert "Connection refused" in last.error
    # And the consumptions of its history will not be sent
    newest = organisation.consumptions.order_by("-pk").first()
    assert ConsumptionCursor.objects.get(pk=organisation.pk).last_id >= newest.pk
