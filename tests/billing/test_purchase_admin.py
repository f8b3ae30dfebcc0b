"""Staff see where an unfinished purchase stands and may finish it at once (K1, X4)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Purchase
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def stuck_purchase(make_organisation, default_prices, card, recording_gateway):
    """A purchase whose completion failed an hour ago and waits for its next attempt."""
    organisation = make_organisation("stuck", preset="data_provider")
    card(organisation)
    recording_gateway.script = ["timeout_after"]
    an_hour_ago = timezone.now() - timedelta(hours=1)
    bought = services.purchase(
        organisation=organisation, credits=100, method="card", now=an_hour_ago
    )
    Purchase.objects.filter(pk=bought.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    return bought


def staff_member(make_user, *codenames: str):
    user = make_user("backoffice", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_staff_with_the_permission_finish_an_unfinished_purchase_at_once_x4(
    client, make_user, stuck_purchase, recording_gateway
):
    client.force_login(staff_member(make_user, "view_purchase", "change_purchase"))
    response = client.post(
        reverse("admin:billing_purchase_changelist"),
        {"action": "finish_now", "_selected_action": [stuck_purchase.pk]},
    )
    assert response.status_code == 302
    stuck_purchase.refresh_from_db()
    assert (stuck_purchase.status, pool_of(stuck_purchase.organisation)[0]) == ("paid", 100)
    assert recording_gateway.taken == [Decimal("216.00")]


def test_staff_who_may_only_view_purchases_cannot_finish_them_x5(
    client, make_user, stuck_purchase, recording_gateway
):
    client.force_login(staff_member(make_user, "view_purchase"))
    page = client.get(reverse("admin:billing_purchase_changelist"))
    assert page.status_code == 200
    assert b"finish_now" not in page.content
    client.post(
        reverse("admin:billing_purchase_changelist"),
        {"action": "finish_now", "_selected_action": [stuck_purchase.pk]},
    )
    stuck_purchase.refresh_from_db()
    assert (stuck_purchase.status, recording_gateway.calls) == ("charging", 1)
