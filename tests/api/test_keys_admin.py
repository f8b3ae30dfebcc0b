"""API keys in the back office (K4): staff create a key through the service and see its
secret once; the list and a key's page never show its hash; "Revoke" revokes through the
service; remembered requests are read only."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from api import services
from api.models import ApiKey, IdempotentRequest
from api.services import hash_secret

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"cpk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
ADD = "/admin/api/apikey/add/"
LIST = "/admin/api/apikey/"


@pytest.fixture
def alpha(make_portal):
    return make_portal("alpha", preset="crm")


def test_k4_staff_add_a_key_through_the_service_and_see_the_secret_once(admin_client, alpha):
    # given staff on the "add API key" page
    assert admin_client.get(ADD).status_code == 200
    # when they add a read-and-write key tied to Alpha's first client
    response = admin_client.post(
        ADD,
        {
            "organisation": alpha.organisation.pk,
            "name": "Partner import",
            "scope": "write",
            "client": alpha.clients[0].pk,
            "requests_per_minute": 120,
        },
        follow=True,
    )
    # then the confirmation carries the secret, which is the stored key's
    assert response.status_code == 200
    html = response.content.decode()
    [secret] = SECRET.findall(html)
    key = ApiKey.objects.get()
    assert (key.organisation, key.name, key.scope, key.client, key.requests_per_minute) == (
        alpha.organisation,
        "Partner import",
        "write",
        alpha.clients[0],
        120,
    )
    assert (key.prefix, key.secret_hash) == (secret[:12], hash_secret(secret))
    assert key.created_by.is_superuser
    # and neither the list nor the key's page shows the secret or its hash again
    for page in (LIST, f"{LIST}{key.pk}/change/"):
        shown = admin_client.get(page).content.decode()
        assert secret not in shown, page
        assert key.secret_hash not in shown, page
        assert key.prefix in shown, page


def test_k4_x5_staff_cannot_tie_a_key_to_another_organisations_client(
    admin_client, alpha, make_portal
):
    bravo = make_portal("bravo", preset="crm")
    response = admin_client.post(
        ADD,
        {
            "organisation": alpha.organisation.pk,
            "name": "Wrong",
            "scope": "read",
            "client": bravo.clients[0].pk,
            "requests_per_minute": 120,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "This client belongs to another organisation." in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_k4_x6_a_rate_out_of_bounds_is_a_form_error(admin_client, alpha):
    response = admin_client.post(
        ADD,
        {
            "organisation": alpha.organisation.pk,
            "name": "Too fast",
            "scope": "read",
            "requests_per_minute": 2_000_000,
        },
    )
    assert response.status_code == 200
    assert ApiKey.objects.count() == 0


def test_k4_the_revoke_action_revokes_through_the_service_and_the_key_is_refused(
    admin_client, alpha, client
):
    # given two keys, one already revoked on 1 January
    live = services.create_key(
        organisation=alpha.organisation, name="Live", scope="read", now=timezone.now()
    )
    old = services.create_key(
        organisation=alpha.organisation, name="Old", scope="read", now=timezone.now()
    )
    first_revoked = timezone.now().replace(month=1, day=1)
    services.revoke_key(key=old.key, now=first_revoked)
    # when staff revoke both from the list
    response = admin_client.post(
        LIST,
        {"action": "revoke", "_selected_action": [live.key.pk, old.key.pk]},
        follow=True,
    )
    # then the live one is revoked, the old one keeps its date, and the API refuses the key
    assert "1 key revoked: it is refused from now on." in response.content.decode()
    assert ApiKey.objects.get(pk=live.key.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=old.key.pk).revoked_at == first_revoked
    refused = client.get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {live.secret}")
    assert refused.status_code == 401


def test_k4_a_key_is_never_edited_or_deleted_in_admin(admin_client, alpha):
    made = services.create_key(
        organisation=alpha.organisation, name="Live", scope="read", now=timezone.now()
    )
    page = f"{LIST}{made.key.pk}/change/"
    # the page is read only: posting a change changes nothing
    admin_client.post(page, {"name": "Renamed", "scope": "write", "requests_per_minute": 1})
    key = ApiKey.objects.get(pk=made.key.pk)
    assert (key.name, key.scope) == ("Live", "read")
    assert admin_client.get(f"{LIST}{made.key.pk}/delete/").status_code == 403


def test_k4_staff_who_may_only_view_keys_cannot_revoke(client, make_user, alpha):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    made = services.create_key(
        organisation=alpha.organisation, name="Live", scope="read", now=timezone.now()
    )
    client.force_login(viewer)
    assert client.get(LIST).status_code == 200
    client.post(LIST, {"action": "revoke", "_selected_action": [made.key.pk]})
    assert ApiKey.objects.get(pk=made.key.pk).revoked_at is None


def test_k4_remembered_requests_are_read_only_in_admin(admin_client, alpha, make_api):
    make_api(alpha).post("/api/v1/consumptions/", {"action": "ai_summary"}, key="k-1")
    record = IdempotentRequest.objects.get()
    assert admin_client.get("/admin/api/idempotentrequest/").status_code == 200
    assert admin_client.get(f"/admin/api/idempotentrequest/{record.pk}/change/").status_code == 200
    assert admin_client.get("/admin/api/idempotentrequest/add/").status_code == 403
    assert admin_client.get(f"/admin/api/idempotentrequest/{record.pk}/delete/").status_code == 403


def test_k4_x6_a_rate_out_of_bounds_is_said_in_staffs_words_not_the_constraints_name(
    admin_client, alpha
):
    """Issue 13: `Constraint "api_key_rate_in_range" is violated.` no more."""
    # given an organisation, when staff add a key of 2,000,000 requests a minute
    response = admin_client.post(
        ADD,
        {
            "organisation": alpha.organisation.pk,
            "name": "Too fast",
            "scope": "read",
            "requests_per_minute": 2_000_000,
        },
    )
    # then the form says the range, and no key exists
    html = response.content.decode()
    assert "Requests per minute go from 1 to 1,000,000." in html
    assert "api_key_rate_in_range" not in html
    assert ApiKey.objects.count() == 0
