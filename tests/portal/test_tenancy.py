"""X5 on every page of an organisation, found from the URL configuration by itself.

Each route is checked four ways: another organisation's ids answer 404 (GET and POST), a
role without the route's permission answers 403 and moves nothing, a member tied to one client
gets 404 for every other client's things, and an anonymous visitor is sent to log in. A page
added later is walked without editing this file; a new kind of id in a route must be given a
maker in ID_MAKERS below, or the walk fails and says so.
"""

import re
from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from clients.models import Membership, Role
from clients.roles import permissions_of
from tests.credits.conftest import figures
from tests.portal.conftest import Portal
from tests.webhooks import makers as webhook_makers

pytestmark = pytest.mark.django_db

ORGANISATION_PREFIX = "o/<slug:slug>/"


def organisation_routes() -> list[tuple[str, Callable]]:
    """(route, view) for every page under an organisation's prefix."""
    routes: list[tuple[str, Callable]] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith(ORGANISATION_PREFIX):
                routes.append((route, pattern.callback))

    walk(get_resolver().url_patterns, "")
    return routes


def _membership_id(portal: Portal, index: int) -> int:
    return Membership.objects.get(organisation=portal.organisation, user=portal.member).pk


def _invitation_id(portal: Portal, index: int) -> int:
    """The portal's one invitation, recorded (not sent) the first time it is asked for."""
    from django.utils import timezone

    from clients.models import Invitation
    from clients.services.members import record_invitation

    existing = Invitation.objects.filter(organisation=portal.organisation).first()
    if existing is not None:
        return existing.pk
    invitation, _token = record_invitation(
        organisation=portal.organisation,
        email=f"invited@{portal.organisation.slug}.example",
        role=Role.MEMBER,
        client=None,
        invited_by=portal.owner,
        link_base="http://testserver",
        now=timezone.now(),
    )
    return invitation.pk


def _purchase_id(portal: Portal, index: int) -> int:
    """A declined purchase of the portal (the tenancy portals have no price list to buy
    from, and a refusal is enough to be looked at)."""
    from decimal import Decimal

    from django.utils import timezone

    from billing.models import Purchase

    purchase, _created = Purchase.objects.get_or_create(
        organisation=portal.organisation,
        defaults={
            "credits": 10,
            "unit_price": Decimal("1.00"),
            "amount": Decimal("10.00"),
            "currency": "EUR",
            "method": "card",
            "status": "declined",
            "created_at": timezone.now(),
        },
    )
    return purchase.pk


def _invoice_number(portal: Portal, index: int) -> str:
    """The portal's one invoice, issued the first time it is asked for."""
    from decimal import Decimal

    from django.utils import timezone

    from billing import services
    from billing.models import Invoice

    existing = Invoice.objects.filter(organisation=portal.organisation).first()
    if existing is not None:
        return existing.number
    return services.issue_invoice(
        organisation=portal.organisation,
        lines=[services.Line("Credits", 10, Decimal("1.00"), Decimal("10.00"))],
        now=timezone.now(),
    ).number


# How to find, in a portal, an id of each kind a route takes. `index` picks which client's
# (0 is the client the tied member may see, 1 one it may not).
def _api_key_id(portal: Portal, index: int) -> int:
    """A read-only key of the portal's organisation, made the first time it is asked for."""
    from django.utils import timezone

    from api import services
    from api.models import ApiKey

    found = ApiKey.objects.filter(organisation=portal.organisation, name="tenancy").first()
    if found is None:
        found = services.create_key(
            organisation=portal.organisation, name="tenancy", scope="read", now=timezone.now()
        ).key
    return found.pk


ID_MAKERS: dict[str, Callable[[Portal, int], object]] = {
    "slug": lambda portal, index: portal.organisation.slug,
    "client_id": lambda portal, index: portal.clients[index].pk,
    "code": lambda portal, index: portal.quotes[index].action.code,
    "quote_id": lambda portal, index: portal.quotes[index].pk,
    "consumption_id": lambda portal, index: portal.consumptions[index].pk,
    "membership_id": _membership_id,
    "invitation_id": _invitation_id,
    "purchase_id": _purchase_id,
    "number": _invoice_number,
    "key_id": _api_key_id,
    "endpoint_id": webhook_makers.endpoint_id,
    "delivery_id": webhook_makers.delivery_id,
}
# Ids that name one client's things: a member tied to another client must not reach them.
CLIENT_BOUND = {"client_id", "quote_id", "consumption_id"}


def fill(route: str, portal: Portal, index: int = 0) -> str:
    def value(match: re.Match) -> str:
        name = match.group(2)
        assert name in ID_MAKERS, f"give <{name}> a maker in ID_MAKERS"
        return str(ID_MAKERS[name](portal, index))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def params_of(route: str) -> set[str]:
    return set(re.findall(r"<(?:\w+:)?(\w+)>", route))


@pytest.fixture
def alpha_and_bravo(make_portal) -> tuple[Portal, Portal]:
    return make_portal("alpha"), make_portal("bravo")


def test_the_walk_finds_every_organisation_page_x5():
    routes = {route for route, _view in organisation_routes()}
    assert {
        "o/<slug:slug>/",
        "o/<slug:slug>/rates/",
        "o/<slug:slug>/spend/quotes/<int:quote_id>/",
        "o/<slug:slug>/activity/",
        "o/<slug:slug>/activity.xlsx",
        "o/<slug:slug>/usage/",
        "o/<slug:slug>/clients/",
        "o/<slug:slug>/clients/<int:client_id>/assign/",
        "o/<slug:slug>/members/",
    } <= routes
    for route, view in organisation_routes():
        assert hasattr(view, "portal_permission"), f"{route} is not an organisation_page"


def test_every_page_answers_its_own_organisations_owner_x5(client, login, alpha_and_bravo):
    alpha, _bravo = alpha_and_bravo
    login(alpha.owner)
    for route, _view in organisation_routes():
        assert client.get(fill(route, alpha)).status_code == 200, route


def test_another_organisations_ids_answer_404_and_move_nothing_x5(client, login, alpha_and_bravo):
    # Given the owner of Alpha, logged in
    alpha, bravo = alpha_and_bravo
    login(alpha.owner)
    before = figures(bravo.organisation)
    for route, _view in organisation_routes():
        # When she opens any page of Bravo, or sends it a form
        url = fill(route, bravo)
        # Then the answer is 404, as if it did not exist
        assert client.get(url).status_code == 404, route
        assert client.post(url, {"credits": 1, "name": "x", "role": "owner"}).status_code == 404
    # And nothing of Bravo moved
    assert figures(bravo.organisation) == before


def test_a_client_of_another_organisation_is_404_under_ones_own_slug_x5(
    client, login, alpha_and_bravo
):
    alpha, bravo = alpha_and_bravo
    login(alpha.owner)
    for route, _view in organisation_routes():
        bound = params_of(route) & CLIENT_BOUND
        if not bound:
            continue
        url = fill(route, alpha)
        for name in bound:
            own_id = str(ID_MAKERS[name](alpha, 0))
            foreign_id = str(ID_MAKERS[name](bravo, 0))
            url = url.replace(f"/{own_id}/", f"/{foreign_id}/")
        assert client.get(url).status_code == 404, route


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_a_role_without_the_right_gets_403_and_moves_nothing_x5(
    client, login, alpha_and_bravo, role
):
    alpha, _bravo = alpha_and_bravo
    login(alpha.admin if role == Role.ADMIN else alpha.member)
    allowed = permissions_of(role)
    before = figures(alpha.organisation)
    refused = 0
    for route, view in organisation_routes():
        url = fill(route, alpha)
        if view.portal_permission in allowed:
            assert client.get(url).status_code == 200, route
        else:
            refused += 1
            assert client.get(url).status_code == 403, route
            assert client.post(url, {"credits": 1, "role": "owner"}).status_code == 403, route
    assert refused > 0
    assert figures(alpha.organisation) == before


def test_a_member_tied_to_one_client_gets_404_for_every_other_clients_things_x5(
    client, login, alpha_and_bravo
):
    # Given a member tied to Alpha's first client
    alpha, _bravo = alpha_and_bravo
    login(alpha.tied)
    before = figures(alpha.organisation)
    checked = 0
    for route, view in organisation_routes():
        if not params_of(route) & CLIENT_BOUND or view.portal_permission not in {"view", "spend"}:
            continue
        # When she opens a page of the other client (or its quote, its consumption)
        # Then it does not exist for her, while her own client's answers
        assert client.get(fill(route, alpha, index=1)).status_code == 404, route
        assert client.post(fill(route, alpha, index=1), {"credits": 1}).status_code == 404, route
        assert client.get(fill(route, alpha, index=0)).status_code == 200, route
        checked += 1
    assert checked >= 3
    assert figures(alpha.organisation) == before


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, alpha_and_bravo):
    _alpha, bravo = alpha_and_bravo
    for route, _view in organisation_routes():
        url = fill(route, bravo)
        response = client.get(url)
        assert response.status_code == 302, route
        assert response["Location"] == f"/login/?next={url}", route
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")


def test_a_refresh_after_the_session_ended_sends_the_whole_page_to_log_in(client, alpha_and_bravo):
    """The home page's figures refresh by htmx: once the session has ended, the browser is
    told to open the login page (and come back), not to paste the login form into the page."""
    _alpha, _bravo = alpha_and_bravo
    response = client.get(
        "/o/bravo/figures/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/o/bravo/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/o/bravo/"
    assert response.content == b""
