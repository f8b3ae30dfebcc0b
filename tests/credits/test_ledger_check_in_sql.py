"""`ledger_check` (X1) compares in the database and reads only what drifted: each figure it
proves is named with its organisation, and the work it asks of Python does not grow with the
ledger."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credits import services
from credits.audit import ledger_drift
from credits.models import ClientAccount, CreditPool, Lot

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(organisation, make_client, now):
    """Acme: 100 credits, 40 assigned to a monthly-limited list that spent 10 of them and
    holds 50 (30 assigned, 20 from the pool): balance 90, held 50, assigned 0, used 20."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    news = make_client("Newsletter")
    services.assign(organisation=organisation, client=news, credits=40, now=now)
    services.set_spending_limit(client=news, kind="monthly", limit=50, now=now)
    services.debit(client=news, credits=10, action_code="send", now=now)
    services.hold(client=news, credits=50, now=now, expires_at=now + timedelta(hours=1))
    return {"organisation": organisation, "client": news}


# (what is changed behind the services' back, the drifts ledger_check must name)
CORRUPTIONS = {
    "pool held": (
        (CreditPool, {"held": 7}),
        [
            "Acme (acme): held is 7, entries add up to 50",
            "Acme (acme): held (active holds) is 7, entries add up to 50",
        ],
    ),
    "pool assigned": (
        (CreditPool, {"assigned": 1}),
        [
            "Acme (acme): assigned is 1, entries add up to 0",
            "Acme (acme): assigned (clients) is 1, entries add up to 0",
        ],
    ),
    "client assigned": (
        (ClientAccount, {"assigned_remaining": 3}),
        [
            "Acme (acme): assigned (clients) is 0, entries add up to 3",
            "Acme (acme): client “Newsletter” assigned is 3, entries add up to 0",
        ],
    ),
    "client used below its holds": (
        (ClientAccount, {"used": 2}),
        [
            "Acme (acme): client “Newsletter” used is 2, entries add up to 20",
            "Acme (acme): client “Newsletter” used below its holds is 2, entries add up to 20",
        ],
    ),
    "lot remaining": (
        (Lot, {"remaining": 41}),
        [
            "Acme (acme): balance (lots) is 90, entries add up to 41",
            "Acme (acme): lot #{lot} remaining is 41, entries add up to 90",
        ],
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_x1_each_figure_that_drifted_is_named_with_its_organisation(acme, case):
    """X1: the check names the organisation, the figure, the stored value and the sum."""
    (model, change), expected = CORRUPTIONS[case]
    # Given one figure changed behind the services' back
    assert ledger_drift() == []
    rows = model.objects.filter(organisation=acme["organisation"])
    if model is ClientAccount:
        rows = rows.filter(client=acme["client"])
    rows.update(**change)
    lot = Lot.objects.get(organisation=acme["organisation"])
    # When the ledger is checked, then exactly that figure is named
    assert sorted(str(drift) for drift in ledger_drift()) == sorted(
        line.format(lot=lot.pk) for line in expected
    )


def test_x1_a_check_scoped_to_another_organisation_reads_none_of_acmes_drift(
    acme, make_organisation
):
    """X1: `ledger_drift([ids])` checks only those organisations."""
    other = make_organisation("other", name="Other")
    CreditPool.objects.filter(pk=acme["organisation"].pk).update(balance=95)
    assert ledger_drift([other.pk]) == []
    assert len(ledger_drift([acme["organisation"].pk])) == 2


def test_x1_the_check_asks_the_same_queries_for_one_organisation_or_thirty(
    make_organisation, make_client, now
):
    """X1: one set of grouped queries for the whole ledger, never a query per organisation,
    client or lot (the memory the check takes is measured by bench/jobs.py)."""

    def queries_of_the_check() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert ledger_drift() == []
        return len(captured)

    # Given one organisation with a client and a lot
    first = make_organisation("org-0", name="Org 0")
    services.grant(organisation=first, credits=10, source="purchase", now=now)
    make_client("List", org=first)
    one = queries_of_the_check()
    # When 29 more organisations with two lots and two clients each are added
    for number in range(1, 30):
        organisation = make_organisation(f"org-{number}", name=f"Org {number}")
        for _ in range(2):
            services.grant(organisation=organisation, credits=10, source="purchase", now=now)
            make_client(f"List {_}", org=organisation)
    # Then the check asks exactly as many queries
    assert queries_of_the_check() == one
