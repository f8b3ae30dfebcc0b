"""X5: no one sees another organisation's pages; anonymous visitors are sent to log in."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from clients.models import Client, ClientKind

pytestmark = pytest.mark.django_db

ORGANISATION_PREFIX = "o/<slug:slug>/"


def organisation_routes() -> list[str]:
    """Every page under an organisation's prefix, found from the URL configuration so that a
    page added later is covered without editing this test."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith(ORGANISATION_PREFIX):
                routes.append(route)

    walk(get_resolver().url_patterns, "")
    return routes


def fill(route: str, ids: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(2)
        assert name in ids, f"add an id of the other organisation for <{name}> in this test"
        return str(ids[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


@pytest.fixture
def two_organisations(make_organisation, make_user):
    a = make_organisation("alpha")
    b = make_organisation("bravo")
    from clients import services

    b_client = services.create_client(organisation=b, name="Bravo list", kind=ClientKind.LIST)
    return a, b, b_client


def test_the_walk_finds_every_organisation_page_x5(two_organisations):
    assert {
        "o/<slug:slug>/",
        "o/<slug:slug>/clients/",
        "o/<slug:slug>/clients/<int:client_id>/",
        "o/<slug:slug>/members/",
    } <= set(organisation_routes())


def test_a_member_of_one_organisation_gets_404_on_every_page_of_another_x5(
    client, two_organisations
):
    # Given the owner of Alpha, logged in
    alpha, bravo, bravo_client = two_organisations
    client.login(username="alpha-owner", password="a-long-test-password")
    bravo_ids = {"slug": bravo.slug, "client_id": bravo_client.pk}
    alpha_own = Client.objects.get(organisation=alpha, kind=ClientKind.OWN)
    alpha_ids = {"slug": alpha.slug, "client_id": alpha_own.pk}
    for route in organisation_routes():
        # When she opens any page of Bravo, by GET or POST
        # Then the answer is 404, as if it did not exist
        assert client.get(fill(route, bravo_ids)).status_code == 404, route
        assert client.post(fill(route, bravo_ids), {"name": "x"}).status_code == 404, route
        # while the same page of her own organisation answers
        assert client.get(fill(route, alpha_ids)).status_code == 200, route


def test_a_client_of_another_organisation_is_404_even_under_ones_own_slug_x5(
    client, two_organisations
):
    alpha, _bravo, bravo_client = two_organisations
    client.login(username="alpha-owner", password="a-long-test-password")
    response = client.get(f"/o/{alpha.slug}/clients/{bravo_client.pk}/")
    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, two_organisations):
    _alpha, bravo, bravo_client = two_organisations
    for route in organisation_routes():
        url = fill(route, {"slug": bravo.slug, "client_id": bravo_client.pk})
        response = client.get(url)
        assert response.status_code == 302, route
        assert response["Location"] == f"/login/?next={url}", route
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")


def test_a_member_cannot_create_clients_but_an_admin_can(client, make_organisation, make_user):
    from clients import services
    from clients.models import Role

    organisation = make_organisation("alpha")
    services.add_member(organisation=organisation, user=make_user("mia"), role=Role.MEMBER)
    services.add_member(organisation=organisation, user=make_user("adam"), role=Role.ADMIN)
    form = {"name": "New list", "kind": ClientKind.LIST, "access_mode": "campus"}

    client.login(username="mia", password="a-long-test-password")
    assert client.post("/o/alpha/clients/", form).status_code == 403
    assert Client.objects.filter(organisation=organisation).count() == 1

    client.login(username="adam", password="a-long-test-password")
    response = client.post("/o/alpha/clients/", form)
    created = Client.objects.get(organisation=organisation, name="New list")
    assert response.status_code == 302
    assert response["Location"] == f"/o/alpha/clients/{created.pk}/"
