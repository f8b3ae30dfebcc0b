"""Signed as the Standard Webhooks specification says (B3, K4): checked with the
`standardwebhooks` library, an independent implementation of the specification."""

import base64
import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import services, signing

pytestmark = pytest.mark.django_db


def test_a_secret_is_whsec_and_the_base64_of_32_random_bytes_b3():
    # When two secrets are drawn
    first, second = signing.new_secret(), signing.new_secret()
    # Then each is whsec_ and 32 bytes of base64, and they differ
    assert first.startswith("whsec_")
    assert second.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_the_signature_is_the_one_the_standard_webhooks_library_computes_b3():
    # Given a secret, a message id, a time and a body
    secret = signing.new_secret()
    body = b'{"data":{"balance":400},"type":"credits.low_balance"}'
    # When the portal signs it
    mine = signing.sign(secret, webhook_id="msg_42", timestamp=1_780_000_000, body=body)
    # Then the library signs it the same
    theirs = Webhook(secret).sign(
        "msg_42", datetime.fromtimestamp(1_780_000_000, tz=UTC), body.decode()
    )
    assert mine == theirs
    assert mine.startswith("v1,")


def test_a_delivery_arrives_signed_and_verifies_with_the_library_b3_k4(
    make_portal, make_endpoint, receiver
):
    # Given an endpoint of the organisation and a test event for it
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    delivery = services.send_test_event(endpoint=endpoint, now=timezone.now())
    # When it is delivered
    services.deliver(delivery_id=delivery.pk, now=timezone.now())
    # Then the receiver's request verifies with the endpoint's secret, and reads as the event
    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == delivery.event.payload
    assert payload["type"] == "ping"
    assert payload["data"] == {"endpoint": endpoint.pk, "test": True}
    assert request.headers["Webhook-Id"] == f"msg_{delivery.event.pk}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == payload


def test_a_body_changed_on_the_way_does_not_verify_b3(make_portal, make_endpoint, receiver):
    # Given a delivered, signed event
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    delivery = services.send_test_event(endpoint=endpoint, now=timezone.now())
    services.deliver(delivery_id=delivery.pk, now=timezone.now())
    (request,) = receiver.requests
    # When one byte of its body is changed, or another secret is used
    # Then verification fails
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"ping", b"pong"), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(request.body, request.headers)
