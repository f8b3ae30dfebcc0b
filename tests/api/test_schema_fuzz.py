"""K4: Schemathesis against the API's own OpenAPI schema, in-process (Django's WSGI app).

The schema is the one drf-spectacular serves at /api/schema/. Every operation gets its
documented examples, the boundaries of each field (Schemathesis' coverage phase), then up to
MAX_EXAMPLES generated requests (valid and invalid), sent with a read-and-write key of an
organisation with history (clients, quotes, consumptions, holds, a paid purchase with its
invoice and lot), so that ids and bodies meet real rows as well as missing ones. Each answer
must be:

* not a server error (`not_a_server_error`: no 5xx, whatever the input);
* documented: its status code among the operation's responses (`status_code_conformance`),
  its content type the documented one (`content_type_conformance`), its body valid against
  the documented schema (`response_schema_conformance`).

Bounded so that the file runs in about a minute on SQLite (32 operations); `make test` runs
it on PostgreSQL too (the database's own limits, integer ranges and text encodings differ).
Generation is derandomised: a failure shows again on the next run, with the request to
reproduce it in the report.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import services as api_services
from billing import services as billing_services
from credits import services as credit_services
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 10  # generated requests per operation, after its documented examples
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CONFIG = {
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    # Examples, then the coverage phase (each field's boundaries: the largest integers, empty
    # and overlong strings, missing and unexpected fields; deterministic), then bounded
    # fuzzing. Stateful sequences are left out: the tenancy and concurrency tests cover them.
    "phases": {"stateful": {"enabled": False}},
}


@pytest.fixture(autouse=True)
def _connection_kept_across_requests():
    """Django's WSGI handler closes the database connection at the end of each request
    (CONN_MAX_AGE 0), and with it the test's transaction on PostgreSQL; Django's own test
    client keeps it open the same way, by not closing on these two signals."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def secret(make_portal, catalogue, recording_gateway) -> str:
    """A read-and-write key of an organisation with history."""
    now = timezone.now()
    portal = make_portal("fuzz", preset="crm")
    set_up_billing(portal.organisation, catalogue["sms"], enterprise=True, now=now)
    billing_services.purchase(organisation=portal.organisation, now=now, method="card", credits=120)
    for client in portal.clients:
        credit_services.hold(
            client=client,
            credits=10,
            expires_at=now + timedelta(days=1),
            now=now,
            action_code="ai_summary",
        )
    return api_services.create_key(
        organisation=portal.organisation,
        name="fuzz",
        scope="write",
        actor=portal.owner,
        now=now,
    ).secret


# Loaded when the module is collected (pytest-django has set Django up by then; serving the
# schema reads no database). Not `schemathesis.pytest.from_fixture`: its lazy loading sets a
# private attribute of pytest's nodes that pytest 9 no longer has.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(CONFIG),
)


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@schema.parametrize()
def test_k4_every_operation_answers_as_documented_and_never_5xx(case, secret):
    # given a key of an organisation with history
    # when a documented or generated request is sent
    # then the answer is not a 5xx, and its status, content type and body are documented
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
