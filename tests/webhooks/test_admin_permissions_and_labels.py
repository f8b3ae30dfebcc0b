"""Issue 13 (K1): webhooks' back office reads in French, fields included (the walker of
tests/config/test_admin_permissions.py covers the actions' permissions)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.webhooks.makers import delivery_id

pytestmark = pytest.mark.django_db


def test_a_delivery_page_reads_in_french_fields_included_issue_13(client, make_user, make_portal):
    """Issue 13: the event and endpoint fields were named in English on French pages."""
    # given a delivery, and staff who may read it, reading in French
    delivery = delivery_id(make_portal("alpha"))
    staff = make_user("backoffice", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_delivery"))
    client.force_login(staff)
    client.cookies["django_language"] = "fr"
    # when they open it
    html = client.get(
        reverse("admin:webhooks_delivery_change", args=[delivery]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    # then its fields' labels are French
    assert "Événement :" in html or "Événement\u00a0:" in html
    assert "Point de terminaison" in html
    assert ">Endpoint" not in html
