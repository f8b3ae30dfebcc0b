"""Webhooks in the back office (K1, B3): endpoints, deliveries with their attempts, events
read-only; staff with the change permission replay a delivery or turn an endpoint off through
the services; the owners' signing secrets are not shown."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def staff_member(make_user, *codenames: str):
    user = make_user("backoffice", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def delivered(make_portal, make_endpoint, receiver):
    portal = make_portal("alpha")
    endpoint = make_endpoint(portal.organisation, receiver.url)
    now = timezone.now()
    delivery = services.send_test_event(endpoint=endpoint, now=now)
    receiver.script = [500]
    services.deliver(delivery_id=delivery.pk, now=now)
    services.deliver(delivery_id=delivery.pk, now=now + services.RETRY_DELAYS[0])
    return endpoint, delivery


EVERYTHING = ("view_endpoint", "change_endpoint", "view_delivery", "change_delivery", "view_event")


def test_staff_read_a_delivery_with_its_attempts_and_no_save_button_k1_b3(
    client, make_user, delivered
):
    _endpoint, delivery = delivered
    client.force_login(staff_member(make_user, *EVERYTHING))
    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<td class="field-status_code">') == 2
    assert "500" in html
    assert "200" in html
    assert 'name="_save"' not in html


def test_staff_replay_a_delivery_through_the_service_k1_b3(client, make_user, delivered, receiver):
    # Given staff with the change permission, and a delivered event
    _endpoint, delivery = delivered
    client.force_login(staff_member(make_user, *EVERYTHING))
    # When they replay it from the list
    response = client.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    # Then a new delivery of the same event exists (its job ran inline after the request)
    assert response.status_code == 302
    replay = Delivery.objects.get(replay_of=delivery)
    assert replay.event_id == delivery.event_id


def test_staff_who_may_only_view_cannot_replay_or_switch_x5(client, make_user, delivered):
    client.force_login(staff_member(make_user, "view_endpoint", "view_delivery", "view_event"))
    page = client.get(reverse("admin:webhooks_delivery_changelist"))
    assert page.status_code == 200
    assert b'value="replay"' not in page.content
    response = client.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "replay", "_selected_action": [delivered[1].pk]},
    )
    # A POST naming the action anyway is refused outright (issue 13), and nothing is replayed
    assert response.status_code == 403
    assert Delivery.objects.count() == 1


def test_staff_turn_an_endpoint_off_and_never_see_its_secret_k1_b3(client, make_user, delivered):
    endpoint, _delivery = delivered
    client.force_login(staff_member(make_user, *EVERYTHING))
    page = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    client.post(
        reverse("admin:webhooks_endpoint_changelist"),
        {"action": "turn_off", "_selected_action": [endpoint.pk]},
    )
    assert Endpoint.objects.get(pk=endpoint.pk).is_active is False


def test_events_are_read_only_k1(client, make_user, delivered):
    _endpoint, delivery = delivered
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:webhooks_event_change", args=[delivery.event_id]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:webhooks_event_add")).status_code == 403
