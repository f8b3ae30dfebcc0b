"""Forty people create a client with the same name at the same moment (X6, issue 13).

Every one of them passes the check before saving; the database's unique constraint lets one
row in and refuses the others. Before issue 13, 22 of 40 such requests answered 500 (an
IntegrityError). Each refused one must get the domain error (`ClientNameTaken`, a
`ClientsError`), the page a form error, and nothing be created twice.
"""

import pytest
from django.test import Client as Browser
from django.urls import reverse

from clients import services
from clients.exceptions import ClientNameTaken, ClientsError
from clients.models import Client
from credits.models import ClientAccount
from tests.api.conftest import ApiClient, make_api  # noqa: F401 - the API's fixture
from tests.concurrency.threads import run_together
from tests.portal.conftest import make_portal  # noqa: F401 - the portal's fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 40
TAKEN = "The name “Globex” is already used in this organisation."


def test_forty_racing_creations_of_one_name_make_one_client_and_39_domain_errors_x6(
    make_organisation,
):
    """X6 (issue 13): exactly one client is created; the 39 others are refused with the
    domain error that names the taken name; no other exception escapes."""
    # given an organisation with its own client only
    organisation = make_organisation("race-names")
    before = Client.objects.filter(organisation=organisation).count()

    # when 40 threads create a client named "Globex" at once
    def create() -> Client:
        return services.create_client(organisation=organisation, name="Globex")

    outcomes = run_together(*[create] * RACERS)

    # then one is created and 39 are refused with the domain error, in the same words
    created = [o for o in outcomes if isinstance(o, Client)]
    refused = [o for o in outcomes if isinstance(o, ClientNameTaken)]
    others = [o for o in outcomes if not isinstance(o, Client | ClientNameTaken)]
    assert (len(created), len(refused), others) == (1, RACERS - 1, [])
    assert all(isinstance(o, ClientsError) for o in refused)
    assert {str(o) for o in refused} == {TAKEN}
    assert {(o.http_status, o.code) for o in refused} == {(409, "client_name_taken")}
    assert Client.objects.filter(organisation=organisation).count() == before + 1
    assert ClientAccount.objects.filter(client__name="Globex").count() == 1


def test_forty_racing_pages_creating_one_name_answer_one_redirect_and_39_form_errors_x6(
    make_portal,  # noqa: F811 - the fixture imported above
):
    """X6 (issue 13): through the portal's page, one request creates the client (302) and
    39 show the form again with the error on the name (200); none answers 500."""
    # given 40 browsers of the organisation's owner, logged in
    portal = make_portal("race-pages", preset="crm")
    url = reverse("org:client_new", kwargs={"slug": portal.organisation.slug})
    browsers = []
    for _ in range(RACERS):
        browser = Browser()
        browser.force_login(portal.owner)
        browsers.append(browser)
    before = Client.objects.filter(organisation=portal.organisation).count()

    # when each posts a new client named "Globex" at once
    def post(browser: Browser):
        return lambda: browser.post(url, {"name": "Globex"})

    responses = run_together(*[post(browser) for browser in browsers])

    # then one redirect, 39 form errors on the name, no error page
    statuses = sorted(getattr(r, "status_code", type(r).__name__) for r in responses)
    assert statuses == [200] * (RACERS - 1) + [302]
    errors = [r.context["form"].errors for r in responses if r.status_code == 200]
    assert errors == [{"name": [TAKEN]}] * (RACERS - 1)
    assert Client.objects.filter(organisation=portal.organisation).count() == before + 1


def test_forty_racing_api_creations_of_one_name_answer_one_201_and_39_409_problems_x6(
    make_portal,  # noqa: F811 - the fixtures imported above
    make_api,  # noqa: F811
):
    """X6 (issue 13): through the API, one request creates the client (201) and 39 get the
    409 problem `client_name_taken`; none answers 500, one client exists."""
    # given 40 API clients of the organisation, each with its own connection
    portal = make_portal("race-api", preset="crm")
    first = make_api(portal)
    callers = [ApiClient(http=Browser(), key=first.key, secret=first.secret) for _ in range(RACERS)]
    before = Client.objects.filter(organisation=portal.organisation).count()

    # when each creates a client named "Globex" at once
    def post(caller: ApiClient):
        return lambda: caller.post("/api/v1/clients/", {"name": "Globex"})

    responses = run_together(*[post(caller) for caller in callers])

    # then one 201 and 39 problems in the same words, with the stable code
    statuses = sorted(getattr(r, "status_code", type(r).__name__) for r in responses)
    assert statuses == [201] + [409] * (RACERS - 1)
    problems = [r.json() for r in responses if r.status_code == 409]
    assert {(p["code"], p["detail"]) for p in problems} == {("client_name_taken", TAKEN)}
    assert Client.objects.filter(organisation=portal.organisation).count() == before + 1
