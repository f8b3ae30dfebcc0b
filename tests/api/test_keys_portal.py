"""Developers → API keys in the portal (K4, B7, X5, X6): owners create a key whose secret
shows once, list keys without it, revoke them; admins and members may not; another
organisation's key is not found; bad input is a form error and makes no key."""

import re

import pytest
from django.utils import timezone

from api import services
from api.models import ApiKey
from api.services import hash_secret

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"cpk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def alpha(make_portal):
    return make_portal("alpha", preset="sms")


@pytest.fixture
def login(client):
    """Log the test client in as one of the portal's people."""
    return client.force_login


def _create(http, slug: str = "alpha", **fields):
    """Post the creation form: a read-and-write key of 600 requests a minute, unless told."""
    body = {"name": "CRM sync", "scope": "write", "client": "", "requests_per_minute": 600}
    return http.post(f"/o/{slug}/developers/keys/", {**body, **fields})


def test_k4_the_owner_creates_a_key_and_sees_its_secret_once(client, login, alpha):
    # given the owner on the Developers page
    login(alpha.owner)
    # when she creates a read-and-write key of 600 requests a minute
    response = _create(client)
    # then the next page shows its secret, which is the key's (only its hash is stored)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    [secret] = set(SECRET.findall(html))
    key = ApiKey.objects.get(organisation=alpha.organisation)
    assert (key.name, key.scope, key.client, key.requests_per_minute) == (
        "CRM sync",
        "write",
        None,
        600,
    )
    assert (key.prefix, key.secret_hash, key.created_by) == (
        secret[:12],
        hash_secret(secret),
        alpha.owner,
    )
    assert 'data-copy="api-key-secret"' in html
    assert "js/developers.js" in html
    # and the key works at once
    balance = client.get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert balance.status_code == 200


def test_k4_the_list_shows_the_keys_but_never_a_secret_again(client, login, alpha):
    # given a key created on the page, and one tied to the first list, revoked
    login(alpha.owner)
    secret = SECRET.search(_create(client).content.decode()).group()
    tied = services.create_key(
        organisation=alpha.organisation,
        name="Newsletter sender",
        scope="read",
        client=alpha.clients[0],
        now=timezone.now(),
    )
    services.revoke_key(key=tied.key, now=timezone.now())
    # when the page is opened again
    response = client.get("/o/alpha/developers/keys/")
    html = response.content.decode()
    # then both keys are listed by name, prefix, scope, client and state, with no secret
    assert response.status_code == 200
    assert SECRET.search(html) is None
    assert secret not in html
    assert tied.secret not in html
    for text in (
        "CRM sync",
        f"<code>{secret[:12]}…</code>",
        "Read and write",
        "Newsletter sender",
        f"<code>{tied.key.prefix}…</code>",
        "Read only",
        alpha.clients[0].name,
        "Revoked on",
        "alpha-owner",
    ):
        assert text in html, text
    assert f'data-testid="revoke-{secret[:12]}"' in html
    assert f'data-testid="revoke-{tied.key.prefix}"' not in html  # revoked: nothing to revoke
    assert 'href="/api/docs/"' in html


def test_k4_b7_a_key_tied_to_a_list_acts_for_that_list_only(client, login, alpha):
    login(alpha.owner)
    response = _create(client, client=str(alpha.clients[0].pk), scope="read")
    assert response.status_code == 200
    key = ApiKey.objects.get(organisation=alpha.organisation)
    assert (key.client, key.scope) == (alpha.clients[0], "read")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"scope": "admin"},
        {"requests_per_minute": 0},
        {"requests_per_minute": 1_000_001},
        {"requests_per_minute": "fast"},
        {"client": "999999999"},
    ],
)
def test_k4_x6_bad_input_is_a_form_error_and_makes_no_key(client, login, alpha, fields):
    login(alpha.owner)
    response = _create(client, **fields)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert SECRET.search(response.content.decode()) is None
    assert ApiKey.objects.count() == 0


def test_k4_x5_a_list_of_another_organisation_cannot_be_tied_to_a_key(
    client, login, alpha, make_portal
):
    bravo = make_portal("bravo")
    login(alpha.owner)
    response = _create(client, client=str(bravo.clients[0].pk))
    assert response.status_code == 400
    assert ApiKey.objects.count() == 0


def test_k4_revoking_asks_first_then_the_key_is_refused(client, login, alpha):
    # given a key of the organisation
    made = services.create_key(
        organisation=alpha.organisation, name="Old script", scope="read", now=timezone.now()
    )
    login(alpha.owner)
    url = f"/o/alpha/developers/keys/{made.key.pk}/revoke/"
    # when the owner opens its revoke page, nothing is revoked yet
    asked = client.get(url)
    assert asked.status_code == 200
    assert "Revoke “Old script”?" in asked.content.decode()
    assert ApiKey.objects.get(pk=made.key.pk).revoked_at is None
    # when she confirms
    response = client.post(url)
    # then back to the list with a message, the key revoked and refused by the API
    assert (response.status_code, response["Location"]) == (302, "/o/alpha/developers/keys/")
    assert ApiKey.objects.get(pk=made.key.pk).revoked_at is not None
    listed = client.get(response["Location"]).content.decode()
    assert f"The key “Old script” ({made.key.prefix}…) is revoked" in listed
    refused = client.get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")


def test_k4_revoking_twice_keeps_the_first_date(client, login, alpha):
    made = services.create_key(
        organisation=alpha.organisation, name="Old script", scope="read", now=timezone.now()
    )
    login(alpha.owner)
    url = f"/o/alpha/developers/keys/{made.key.pk}/revoke/"
    client.post(url)
    first = ApiKey.objects.get(pk=made.key.pk).revoked_at
    client.post(url)
    assert ApiKey.objects.get(pk=made.key.pk).revoked_at == first
    assert 'data-testid="already-revoked"' in client.get(url).content.decode()


@pytest.mark.parametrize("who", ["admin", "member", "tied"])
def test_k4_x5_only_owners_manage_keys_others_get_403_and_nothing_moves(client, login, alpha, who):
    made = services.create_key(
        organisation=alpha.organisation, name="Old script", scope="read", now=timezone.now()
    )
    login(getattr(alpha, who))
    assert client.get("/o/alpha/developers/keys/").status_code == 403
    assert _create(client).status_code == 403
    revoke = f"/o/alpha/developers/keys/{made.key.pk}/revoke/"
    assert client.get(revoke).status_code == 403
    assert client.post(revoke).status_code == 403
    assert list(ApiKey.objects.values_list("name", "revoked_at")) == [("Old script", None)]


def test_k4_x5_another_organisations_key_is_not_found(client, login, alpha, make_portal):
    bravo = make_portal("bravo")
    theirs = services.create_key(
        organisation=bravo.organisation, name="Bravo's", scope="read", now=timezone.now()
    )
    login(alpha.owner)
    revoke = f"/o/alpha/developers/keys/{theirs.key.pk}/revoke/"
    assert client.get(revoke).status_code == 404
    assert client.post(revoke).status_code == 404
    assert client.get(f"/o/bravo/developers/keys/{theirs.key.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=theirs.key.pk).revoked_at is None
    assert "Bravo's" not in client.get("/o/alpha/developers/keys/").content.decode()


def test_k4_the_developers_link_shows_for_owners_only_and_is_current_on_its_pages(
    client, login, alpha
):
    login(alpha.owner)
    html = client.get("/o/alpha/developers/keys/").content.decode()
    assert '<a href="/o/alpha/developers/keys/" aria-current="page">Developers</a>' in html
    assert 'data-testid="tab-api-keys"' in html
    home = client.get("/o/alpha/").content.decode()
    assert '<a href="/o/alpha/developers/keys/">Developers</a>' in home
    client.logout()
    login(alpha.admin)
    assert "/developers/keys/" not in client.get("/o/alpha/").content.decode()
