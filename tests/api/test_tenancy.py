"""X5, B7, K4: no API key reaches another organisation's data, a read-only key writes
nothing, a key tied to one client acts for no other — on every route of the API.

The routes are read from the URL conf (everything under the `api` namespace), not listed by
hand, and each must have a line in ROUTES saying how to make an object of organisation B for
it, which body each write method takes and what a tied key meets there. A route without a
line fails `test_x5_every_api_route_has_a_line_in_the_tenancy_table`, and its own cases, so
a new route cannot escape these checks.

Each check that a request was refused also checks that nothing moved: the figures, rows and
states of both organisations (`_state`) are the same before and after.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import Invoice, Package, Purchase
from clients.models import Client
from credits import services as credit_services
from credits.models import (
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    LedgerEntry,
    Lot,
    Quote,
)
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db

ACTION = {"action": "ai_summary", "params": {}}  # 5 credits on the CRM preset's card
WRITE_METHODS = ("post", "put", "patch", "delete")
UNUSED_ID = 10**17  # an id no row has (18 digits, the most a route takes)


# --- the two organisations -----------------------------------------------------------------


@dataclass
class World:
    """Organisation A (whose keys make the requests) and organisation B (whose ids they
    send), each with people, two clients, 1,000 credits, a quote and a consumption per client
    (tests/portal/conftest.py); B also has 20 credits assigned to each client, a hold per
    client, the SMS price list with its packages, and a paid purchase of 120 credits with its
    invoice and lot."""

    a: object
    b: object
    holds: list[Hold]
    purchase: Purchase
    invoice: Invoice
    lot: Lot
    package: Package  # on B's price list, not on sale to A
    keys: dict = field(default_factory=dict)


@pytest.fixture
def world(make_portal, catalogue, recording_gateway) -> World:
    now = timezone.now()
    a = make_portal("alpha", preset="crm")
    b = make_portal("bravo", preset="crm")
    set_up_billing(b.organisation, catalogue["sms"], enterprise=True, now=now)
    purchase = billing_services.purchase(
        organisation=b.organisation, now=now, method="card", credits=120
    )
    assert purchase.status == "paid"
    for client in b.clients:  # something to take back (client_unassign)
        credit_services.assign(organisation=b.organisation, client=client, credits=20, now=now)
    holds = [
        credit_services.hold(
            client=client,
            credits=10,
            expires_at=now + timedelta(days=1),
            now=now,
            action_code="ai_summary",
        )
        for client in b.clients
    ]
    return World(
        a=a,
        b=b,
        holds=holds,
        purchase=purchase,
        invoice=purchase.invoice,
        lot=Lot.objects.filter(organisation=b.organisation).latest("pk"),
        package=Package.objects.filter(price_list=catalogue["sms"]).order_by("pk").first(),
    )


def _state(organisation) -> dict:
    """Everything a request could move in an organisation."""
    org = organisation.pk
    return {
        "pool": list(CreditPool.objects.filter(organisation_id=org).values()),
        "clients": list(Client.objects.filter(organisation_id=org).order_by("pk").values()),
        "accounts": list(
            ClientAccount.objects.filter(client__organisation_id=org).order_by("pk").values()
        ),
        "entries": LedgerEntry.objects.filter(organisation_id=org).count(),
        "consumptions": Consumption.objects.filter(organisation_id=org).count(),
        "holds": list(
            Hold.objects.filter(organisation_id=org).order_by("pk").values_list("pk", "status")
        ),
        "quotes": list(
            Quote.objects.filter(organisation_id=org)
            .order_by("pk")
            .values_list("pk", "consumption_id")
        ),
        "lots": list(
            Lot.objects.filter(organisation_id=org).order_by("pk").values_list("pk", "remaining")
        ),
        "purchases": list(
            Purchase.objects.filter(organisation_id=org).order_by("pk").values_list("pk", "status")
        ),
        "invoices": list(
            Invoice.objects.filter(organisation_id=org).order_by("pk").values_list("pk", "status")
        ),
    }


def _both(world: World) -> tuple[dict, dict]:
    return _state(world.a.organisation), _state(world.b.organisation)


# --- the routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How to exercise one route.

    ids: the URL's parameters for an object of B, for B's client 0 or 1 (None: no id).
    bodies: a valid body for each write method (the same request would succeed with B's own
        write key, so a refusal is the check's doing, not the body's).
    foreign: requests of A's key naming B's ids in the body or query instead of the URL
        (method, body or query); each must be a 404, or an empty list for a list's filter.
    tied: what a key of B tied to client 0 meets here, acting for client 1:
        "not_found"          the object of client 1 is a 404 on every method;
        "client_not_allowed" the route is the whole organisation's: 403 on every method;
        "own_rows"           a list: only client 0's rows; writes naming client 1 are
                             refused with `tied_write` (not_found, or client_not_allowed
                             where only keys of the whole organisation write);
        "organisation"       facts of the whole organisation, the same for every key.
    """

    ids: Callable[[World, int], dict] | None = None
    bodies: dict[str, Callable[[World], object]] = field(default_factory=dict)
    foreign: tuple[tuple[str, Callable[[World], dict]], ...] = ()
    tied: str = "organisation"
    tied_write: str = "not_found"


def _client(w: World, i: int) -> dict:
    return {"pk": w.b.clients[i].pk}


def _hold_body(w: World) -> dict:
    return {**ACTION, "expires_at": (timezone.now() + timedelta(hours=2)).isoformat()}


NO_BODY = {"post": lambda w: None}

ROUTES: dict[str, Route] = {
    "balance": Route(),
    "rate_card": Route(),
    "sms_rates": Route(),
    "quotes": Route(
        bodies={"post": lambda w: ACTION},
        foreign=(("post", lambda w: {**ACTION, "client": w.b.clients[0].pk}),),
        tied="own_rows",
    ),
    "quote": Route(ids=lambda w, i: {"pk": w.b.quotes[i].pk}, tied="not_found"),
    "consumptions": Route(
        bodies={"post": lambda w: ACTION},
        foreign=(
            ("post", lambda w: {**ACTION, "client": w.b.clients[0].pk}),
            ("post", lambda w: {**ACTION, "quote": w.b.quotes[0].pk}),
            ("get", lambda w: {"client": w.b.clients[0].pk}),
        ),
        tied="own_rows",
    ),
    "consumption": Route(ids=lambda w, i: {"pk": w.b.consumptions[i].pk}, tied="not_found"),
    "holds": Route(
        bodies={"post": _hold_body},
        foreign=(
            ("post", lambda w: {**_hold_body(w), "client": w.b.clients[0].pk}),
            ("get", lambda w: {"client": w.b.clients[0].pk}),
        ),
        tied="own_rows",
    ),
    "hold": Route(ids=lambda w, i: {"pk": w.holds[i].pk}, tied="not_found"),
    "hold_capture": Route(
        ids=lambda w, i: {"pk": w.holds[i].pk},
        bodies={"post": lambda w: {"credits": 5}},
        tied="not_found",
    ),
    "hold_release": Route(ids=lambda w, i: {"pk": w.holds[i].pk}, bodies=NO_BODY, tied="not_found"),
    "clients": Route(
        bodies={"post": lambda w: {"name": "Newco"}},
        tied="own_rows",
        tied_write="client_not_allowed",
    ),
    "client": Route(ids=_client, bodies={"patch": lambda w: {"name": "Renamed"}}, tied="not_found"),
    "client_deactivate": Route(ids=_client, bodies=NO_BODY, tied="not_found"),
    "client_activate": Route(ids=_client, bodies=NO_BODY, tied="not_found"),
    "client_assign": Route(
        ids=_client, bodies={"post": lambda w: {"credits": 10}}, tied="not_found"
    ),
    "client_unassign": Route(
        ids=_client, bodies={"post": lambda w: {"credits": 10}}, tied="not_found"
    ),
    "client_limit": Route(
        ids=_client,
        bodies={"put": lambda w: {"kind": "monthly", "limit": 500}},
        tied="not_found",
    ),
    "lots": Route(tied="client_not_allowed"),
    "lot": Route(ids=lambda w, i: {"pk": w.lot.pk}, tied="client_not_allowed"),
    "ledger": Route(tied="client_not_allowed"),
    "usage": Route(foreign=(("get", lambda w: {"client": w.b.clients[0].pk}),), tied="own_rows"),
    "invoices": Route(tied="client_not_allowed"),
    "invoice": Route(ids=lambda w, i: {"pk": w.invoice.pk}, tied="client_not_allowed"),
    "invoice_pdf": Route(ids=lambda w, i: {"pk": w.invoice.pk}, tied="client_not_allowed"),
    "purchases": Route(
        bodies={"post": lambda w: {"credits": 100, "method": "enterprise_terms"}},
        foreign=(("post", lambda w: {"package": w.package.pk, "method": "card"}),),
        tied="client_not_allowed",
    ),
    "purchase": Route(ids=lambda w, i: {"pk": w.purchase.pk}, tied="client_not_allowed"),
    "schema": Route(),
    "docs": Route(),
}


@dataclass(frozen=True)
class Found:
    """A route of the URL conf: its name under `api:`, its URL parameters, its view."""

    name: str
    parameters: tuple[str, ...]
    view: type

    @property
    def methods(self) -> list[str]:
        """What the view answers, in the order a client would try them (OPTIONS aside)."""
        own = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(self.view, m)]
        return [*own[:1], "head", *own[1:]] if "get" in own else own

    @property
    def writes(self) -> list[str]:
        return [m for m in self.methods if m in WRITE_METHODS]


def api_routes() -> dict[str, Found]:
    """Every route under the `api` namespace, by the name it is reversed with."""
    found: dict[str, Found] = {}

    def walk(patterns, namespace: str, parameters: tuple[str, ...]) -> None:
        for pattern in patterns:
            here = (*parameters, *pattern.pattern.converters)
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, inner, here)
            elif isinstance(pattern, URLPattern) and namespace.split(":")[0] == "api":
                name = ":".join([*namespace.split(":")[1:], pattern.name or "?"])
                view = getattr(pattern.callback, "cls", None) or pattern.callback.view_class
                found[name] = Found(name, here, view)

    walk(get_resolver().url_patterns, "", ())
    return found


FOUND = api_routes()
NAMES = sorted(FOUND)
WITH_IDS = [name for name in NAMES if FOUND[name].parameters]


def _line(name: str) -> Route:
    if name not in ROUTES:
        pytest.fail(f"route api:{name} has no line in ROUTES (tests/api/test_tenancy.py)")
    return ROUTES[name]


# --- requests ------------------------------------------------------------------------------


@dataclass
class Key:
    http: HttpClient
    secret: str


def _key(portal, *, scope: str = "write", client=None) -> Key:
    from api import services as api_services

    made = api_services.create_key(
        organisation=portal.organisation,
        name=f"tenancy {scope}",
        scope=scope,
        client=client,
        actor=portal.owner,
        now=timezone.now(),
    )
    return Key(HttpClient(), made.secret)


def _call(key: Key, method: str, path: str, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key.secret}"}
    if method in ("get", "head", "options"):
        return key.http.generic(method.upper(), path, **headers, QUERY_STRING=_query(body))
    data = "" if body is None else json.dumps(body)
    return key.http.generic(method.upper(), path, data, content_type="application/json", **headers)


def _query(params) -> str:
    from urllib.parse import urlencode

    return urlencode(params or {})


def _path(name: str, kwargs: dict | None = None) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


def _code(response) -> str | None:
    if response["Content-Type"] != "application/problem+json":
        return None
    return json.loads(response.content)["code"]


def _body(route: Route, method: str, world: World):
    maker = route.bodies.get(method)
    return maker(world) if maker is not None else {}


# --- the checks ----------------------------------------------------------------------------


def test_x5_every_api_route_has_a_line_in_the_tenancy_table():
    # given the routes under the api namespace, read from the URL conf
    # then each has a line in ROUTES, and each line names a route that exists
    assert set(NAMES) - set(ROUTES) == set(), "routes with no line in ROUTES"
    assert set(ROUTES) - set(NAMES) == set(), "lines in ROUTES for routes that are gone"
    # and a route with an id parameter says how to make that object of organisation B
    assert [n for n in WITH_IDS if ROUTES[n].ids is None] == []
    assert [n for n in NAMES if n not in WITH_IDS and ROUTES[n].ids is not None] == []


@pytest.mark.parametrize("name", WITH_IDS)
def test_x5_k4_an_id_of_another_organisation_is_404_on_every_method(name, world):
    """X5: a key of A sending an id of B gets 404 on every method of the route, exactly as
    for an id that exists nowhere, and nothing of A or B moves."""
    found, route = FOUND[name], _line(name)
    key = _key(world.a)
    path = _path(name, route.ids(world, 0))
    before = _both(world)
    for method in found.methods:
        # when A's key calls the route with B's id
        response = _call(key, method, path, _body(route, method, world))
        # then 404, a problem document (HEAD: no body) saying not_found
        assert response.status_code == 404, (method, response.content[:300])
        if method != "head":
            assert _code(response) == "not_found", method
    # and OPTIONS answers for B's id as for an id no row has: it tells nothing
    unused = _path(name, dict.fromkeys(route.ids(world, 0), UNUSED_ID))
    assert _call(key, "options", path).content == _call(key, "options", unused).content
    # and nothing moved, in either organisation
    assert _both(world) == before


@pytest.mark.parametrize("name", WITH_IDS)
def test_x5_the_ids_of_the_table_are_real_for_their_own_organisation(name, world):
    """The control of the check above: B's own key reads the same id (200), so the 404 was
    the tenancy's doing, not an id that does not exist."""
    found, route = FOUND[name], _line(name)
    if "get" not in found.methods:
        # a write-only route: its object exists in B (the table made it from B's rows)
        assert route.ids(world, 0)["pk"] > 0
        return
    response = _call(_key(world.b), "get", _path(name, route.ids(world, 0)))
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("name", [n for n in NAMES if FOUND[n].writes])
def test_x5_the_bodies_of_the_table_are_accepted_by_their_own_organisation(name, world):
    """The control of the refusals below: with B's own read-and-write key, its own ids and
    the table's bodies, every write method succeeds (2xx), so a refusal elsewhere is the
    key's or the tenancy's doing, not a bad body."""
    found, route = FOUND[name], _line(name)
    key = _key(world.b)
    path = _path(name, route.ids(world, 0) if route.ids else None)
    for method in found.writes:
        response = _call(key, method, path, _body(route, method, world))
        assert 200 <= response.status_code < 300, (method, response.content[:300])


@pytest.mark.parametrize("name", NAMES)
def test_x5_k4_ids_of_another_organisation_in_a_body_or_query_are_not_found(name, world):
    """X5: B's client, quote or package named in A's request body or query is a 404 (for a
    list's filter: no rows), and nothing moves."""
    route = _line(name)
    key = _key(world.a)
    kwargs = route.ids(world, 0) if route.ids else None
    before = _both(world)
    for method, make in route.foreign:
        response = _call(key, method, _path(name, kwargs), make(world))
        if method == "get" and response.status_code == 200:
            assert json.loads(response.content)["results"] == [], make(world)
        else:
            assert response.status_code == 404, (method, make(world), response.content[:300])
            assert _code(response) == "not_found"
    assert _both(world) == before


@pytest.mark.parametrize("name", NAMES)
def test_k4_a_read_only_key_writes_nothing_on_any_route(name, world):
    """K4: every write method answers a read-only key 403 `read_only_key` (its own
    organisation's ids, valid bodies) and nothing moves; its reads are answered."""
    found, route = FOUND[name], _line(name)
    key = _key(world.b, scope="read")
    kwargs = route.ids(world, 0) if route.ids else None
    path = _path(name, kwargs)
    before = _both(world)
    for method in found.writes:
        # when the read-only key writes
        response = _call(key, method, path, _body(route, method, world))
        # then 403 read_only_key
        assert response.status_code == 403, (method, response.content[:300])
        assert _code(response) == "read_only_key", method
    # and nothing moved
    assert _both(world) == before
    # and it reads
    if "get" in found.methods:
        assert _call(key, "get", path).status_code == 200


@pytest.mark.parametrize("name", NAMES)
def test_b7_x5_a_key_tied_to_one_client_cannot_act_for_another(name, world):
    """B7: a key of B tied to client 0 meets client 1's objects as if they did not exist,
    the organisation-wide routes refuse it, lists show client 0's rows only, and nothing
    moves."""
    found, route = FOUND[name], _line(name)
    mine, other = world.b.clients
    key = _key(world.b, client=mine)
    before = _both(world)
    if route.tied == "not_found":
        # when it calls the route with client 1's object, on every method
        path = _path(name, route.ids(world, 1))
        for method in found.methods:
            response = _call(key, method, path, _body(route, method, world))
            # then 404
            assert response.status_code == 404, (method, response.content[:300])
        # while client 0's own object is there for it (where the route reads)
        if "get" in found.methods:
            assert _call(key, "get", _path(name, route.ids(world, 0))).status_code == 200
    elif route.tied == "client_not_allowed":
        path = _path(name, route.ids(world, 0) if route.ids else None)
        for method in found.methods:
            response = _call(key, method, path, _body(route, method, world))
            assert response.status_code == 403, (method, response.content[:300])
            if method != "head":
                assert _code(response) == "client_not_allowed", method
    elif route.tied == "own_rows":
        path = _path(name)
        for method in found.writes:
            # a write naming client 1 is refused
            body = {**_body(route, method, world), "client": other.pk}
            response = _call(key, method, path, body)
            assert _code(response) == route.tied_write, (method, response.content[:300])
            assert response.status_code == (404 if route.tied_write == "not_found" else 403)
        if "get" in found.methods:
            _assert_only_own_rows(name, key, mine, other)
    else:
        assert route.tied == "organisation", route.tied
        for method in found.methods:
            assert _call(key, method, _path(name)).status_code == 200, method
    assert _both(world) == before


def _assert_only_own_rows(name: str, key: Key, mine, other) -> None:
    """A list read by a tied key: the tied client's rows only; asking for the other
    client's is a 404 or an empty list."""
    answer = json.loads(_call(key, "get", _path(name)).content)
    if name == "usage":
        assert answer["client"] == mine.pk
    else:
        rows = answer["results"]
        ids = {row["id"] if name == "clients" else row["client"] for row in rows}
        assert ids == {mine.pk}, rows
    if name == "clients":
        return  # the client list has no client filter: its rows were checked above
    asked = _call(key, "get", _path(name), {"client": other.pk})
    if asked.status_code == 200:
        assert json.loads(asked.content)["results"] == []
    else:
        assert asked.status_code == 404
