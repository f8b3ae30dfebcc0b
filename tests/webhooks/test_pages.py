"""The webhook pages (B3, X5, X6): owners register, change, switch off, test and delete
endpoints, and read every delivery's attempts and replay it; admins and members get 403;
another organisation's endpoint or delivery is a 404; bad input changes nothing."""

import pytest
from django.utils import timezone

from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db

REGISTER = {"events": ["credits.low_balance", "invoice.paid"], "description": "Our CRM"}


@pytest.fixture
def alpha(make_portal):
    return make_portal("alpha")


@pytest.fixture
def delivered(alpha, make_endpoint, receiver):
    """Alpha's endpoint with a test event that failed once (500), then was delivered."""
    endpoint = make_endpoint(alpha.organisation, receiver.url, events=["invoice.paid"])
    now = timezone.now().replace(microsecond=0)
    delivery = services.send_test_event(endpoint=endpoint, now=now)
    receiver.script = [500, 200]
    receiver.body = b'{"error":"try later"}'
    services.deliver(delivery_id=delivery.pk, now=now)
    receiver.body = b'{"ok":true}'
    services.deliver(delivery_id=delivery.pk, now=now + services.RETRY_DELAYS[0])
    return endpoint, delivery


def endpoint_pages(endpoint, delivery) -> list[str]:
    base = f"/o/alpha/developers/webhooks/{endpoint.pk}"
    return [
        "/o/alpha/developers/webhooks/",
        f"{base}/",
        f"{base}/edit/",
        f"{base}/delete/",
        f"/o/alpha/developers/webhooks/deliveries/{delivery.pk}/",
    ]


def test_the_owner_registers_an_endpoint_and_sees_its_secret_b3(client, login, alpha, receiver):
    # Given the owner on the webhooks page
    login(alpha.owner)
    page = client.get("/o/alpha/developers/webhooks/")
    assert page.status_code == 200
    assert "No endpoint yet." in page.content.decode()
    # When she registers her receiver for low balances and paid invoices
    response = client.post("/o/alpha/developers/webhooks/", {"url": receiver.url, **REGISTER})
    # Then it is saved with a new secret, and its page shows the secret and says what to do
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/o/alpha/developers/webhooks/{endpoint.pk}/"
    assert (endpoint.url, endpoint.events, endpoint.all_events, endpoint.description) == (
        receiver.url,
        ["credits.low_balance", "invoice.paid"],
        False,
        "Our CRM",
    )
    assert endpoint.created_by == alpha.owner
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    assert "Endpoint registered. Copy its signing secret into your receiver." in page
    assert 'data-testid="tab-webhooks"' in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"url": "ftp://example.com/x", **REGISTER}, "must start with https:// or http://"),
        ({"url": "http://127.0.0.1:8000/x", **REGISTER}, "only sends to public addresses"),
        ({"url": "https://93.184.215.14/x", "description": "no events"}, "Choose at least one"),
        ({"url": "https://93.184.215.14/x", "events": ["credits.stolen"]}, "Select a valid choice"),
        ({"url": "https://93.184.215.14/" + "a" * 2000, **REGISTER}, "at most 2000 characters"),
        ({"url": "https://93.184.215.14/x", "events": ["ping"]}, "Select a valid choice"),
    ],
)
def test_a_refused_endpoint_shows_why_and_writes_nothing_b3_x6(
    client, login, alpha, settings, form, message
):
    # Given the owner, under the production rule for addresses
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    login(alpha.owner)
    # When she sends a form the portal cannot keep
    response = client.post("/o/alpha/developers/webhooks/", form)
    # Then the page answers 400 with the reason, and no endpoint exists
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Endpoint.objects.count() == 0


def test_admins_and_members_get_403_on_every_webhook_page_and_change_nothing_x5(
    client, login, alpha, delivered
):
    # Given an endpoint with a delivery
    endpoint, delivery = delivered
    before = list(Endpoint.objects.values()), Delivery.objects.count()
    for person in (alpha.admin, alpha.member, alpha.tied):
        login(person)
        for url in endpoint_pages(endpoint, delivery):
            # When they open or post to any webhook page
            # Then it is refused
            assert client.get(url).status_code == 403, url
            assert client.post(url, {"intent": "disable", **REGISTER}).status_code == 403, url
        client.logout()
    # And nothing moved
    assert (list(Endpoint.objects.values()), Delivery.objects.count()) == before


def test_another_organisations_endpoint_and_delivery_are_404_x5(
    client, login, make_portal, delivered
):
    # Given Bravo's owner, and Alpha's endpoint and delivery
    endpoint, delivery = delivered
    bravo = make_portal("bravo")
    login(bravo.owner)
    for url in endpoint_pages(endpoint, delivery)[1:]:
        # When she opens them under her own organisation's address
        own_url = url.replace("/o/alpha/", "/o/bravo/")
        # Then they do not exist for her, and a replay or a switch moves nothing
        assert client.get(own_url).status_code == 404, own_url
        assert client.post(own_url, {"intent": "disable"}).status_code == 404, own_url
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    assert Delivery.objects.count() == 1


def test_the_owner_edits_the_endpoint_and_its_secret_stays_b3(client, login, alpha, delivered):
    endpoint, _delivery = delivered
    secret = endpoint.secret
    login(alpha.owner)
    url = f"/o/alpha/developers/webhooks/{endpoint.pk}/edit/"
    page = client.get(url).content.decode()
    assert endpoint.url in page
    response = client.post(url, {"url": endpoint.url, "all_events": "on", "description": "All"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.all_events, endpoint.events, endpoint.description) == (True, [], "All")
    assert endpoint.secret == secret


def test_the_owner_turns_the_endpoint_off_and_on_b3(client, login, alpha, delivered):
    endpoint, _delivery = delivered
    login(alpha.owner)
    url = f"/o/alpha/developers/webhooks/{endpoint.pk}/"
    client.post(url, {"intent": "disable"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "The endpoint is off" in client.get(url).content.decode()
    client.post(url, {"intent": "enable"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_the_owner_sends_a_test_event_and_sees_its_delivery_b3(client, login, alpha, delivered):
    # Given the owner on her endpoint's page
    endpoint, _delivery = delivered
    login(alpha.owner)
    url = f"/o/alpha/developers/webhooks/{endpoint.pk}/"
    # When she sends a test event
    response = client.post(url, {"intent": "test"})
    # Then a ping delivery is recorded for this endpoint, first in its list
    assert response.status_code == 302
    newest = Delivery.objects.filter(endpoint=endpoint).order_by("-pk").first()
    assert newest.event.type == "ping"
    page = client.get(url).content.decode()
    assert "Test event sent: its delivery is at the top of the list." in page
    first_row = page.index('data-testid="delivery-')
    assert page.index(f'data-testid="delivery-{newest.pk}"') == first_row


def test_an_unknown_action_on_the_endpoint_is_refused_x6(client, login, alpha, delivered):
    endpoint, _delivery = delivered
    login(alpha.owner)
    response = client.post(f"/o/alpha/developers/webhooks/{endpoint.pk}/", {"intent": "explode"})
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    assert Delivery.objects.count() == 1


def test_the_delivery_page_shows_every_attempt_and_replays_it_b3(
    client, login, alpha, delivered, receiver
):
    # Given a delivery that failed once, then succeeded
    _endpoint, delivery = delivered
    login(alpha.owner)
    url = f"/o/alpha/developers/webhooks/deliveries/{delivery.pk}/"
    # When the owner opens it
    page = client.get(url).content.decode()
    # Then both attempts are there, with their status and what the receiver answered
    assert page.count('data-testid="attempt"') == 2
    assert "HTTP 500" in page
    assert "HTTP 200" in page
    assert "{&quot;error&quot;:&quot;try later&quot;}" in page
    assert f"msg_{delivery.event_id}" in page
    # When she replays it
    response = client.post(url)
    # Then a new delivery of the same event exists, and she is shown it
    replay = Delivery.objects.get(replay_of=delivery)
    assert replay.event_id == delivery.event_id
    assert response["Location"] == f"/o/alpha/developers/webhooks/deliveries/{replay.pk}/"
    assert (
        "The event is sent again, with the same webhook-id."
        in client.get(response["Location"]).content.decode()
    )


def test_deleting_asks_first_then_removes_the_endpoint_and_its_deliveries_b3(
    client, login, alpha, delivered
):
    # Given the owner on the delete page of an endpoint with a delivery
    endpoint, _delivery = delivered
    login(alpha.owner)
    url = f"/o/alpha/developers/webhooks/{endpoint.pk}/delete/"
    # When she opens it, nothing is deleted yet
    assert "Delete the endpoint?" in client.get(url).content.decode()
    assert Endpoint.objects.count() == 1
    # When she confirms
    response = client.post(url)
    # Then the endpoint, its deliveries and attempts are gone; the event stays
    assert response["Location"] == "/o/alpha/developers/webhooks/"
    assert Endpoint.objects.count() == Delivery.objects.count() == Attempt.objects.count() == 0
    assert Event.objects.count() == 1


def test_the_list_shows_each_endpoint_with_its_last_delivery_b3(client, login, alpha, delivered):
    endpoint, _delivery = delivered
    login(alpha.owner)
    page = client.get("/o/alpha/developers/webhooks/").content.decode()
    assert f'data-testid="endpoint-{endpoint.pk}"' in page
    assert endpoint.url in page
    assert "Delivered" in page
    assert "<code>invoice.paid</code>" in page
