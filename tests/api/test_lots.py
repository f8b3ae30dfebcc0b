"""Lots over the API, with their expiry (K4, M1, S4, B4, X5, B7)."""

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from credits import services as credit_services
from credits.models import CreditPool, LotSource

pytestmark = pytest.mark.django_db

LOTS = "/api/v1/lots/"


@pytest.fixture
def crm_lots(make_portal):
    """A CRM organisation (credits never expire by policy) with 980 of its 1,000 purchased
    credits left, a promotion of 50 expiring in 30 days and an adjustment of 20 expiring in
    90 days."""
    portal = make_portal("alpha", preset="crm")
    now = timezone.now().replace(microsecond=0)
    soon = credit_services.grant(
        organisation=portal.organisation,
        credits=50,
        source=LotSource.PROMOTION,
        now=now,
        expires_at=now + timedelta(days=30),
        reference="welcome",
    )
    later = credit_services.grant(
        organisation=portal.organisation,
        credits=20,
        source=LotSource.ADJUSTMENT,
        now=now,
        expires_at=now + timedelta(days=90),
    )
    return SimpleNamespace(portal=portal, now=now, soon=soon, later=later)


def _times(lots: list[dict]) -> list[datetime | None]:
    return [
        datetime.fromisoformat(lot["expires_at"]) if lot["expires_at"] else None for lot in lots
    ]


def test_m1_lots_list_newest_first_with_their_remaining_and_expiry(crm_lots, make_api):
    # given a purchase, a promotion and an adjustment
    given = crm_lots
    # when a read-only key lists the lots
    response = make_api(given.portal, scope="read").get(LOTS)
    # then each with its source, credits, remaining and expiry, newest first
    assert response.status_code == 200
    lots = response.json()["results"]
    assert [(lot["id"], lot["source"], lot["quantity"], lot["remaining"]) for lot in lots] == [
        (given.later.pk, "adjustment", 20, 20),
        (given.soon.pk, "promotion", 50, 50),
        (lots[2]["id"], "purchase", 1000, 980),
    ]
    assert _times(lots) == [given.now + timedelta(days=90), given.now + timedelta(days=30), None]
    assert [lot["live"] for lot in lots] == [True, True, True]
    assert lots[1]["reference"] == "welcome"


def test_b4_lots_filtered_by_expiry_window(crm_lots, make_api):
    # given lots expiring in 30 and 90 days, and one never
    given = crm_lots
    api = make_api(given.portal)
    # when they are filtered on either side of 60 days
    before = api.get(LOTS, {"expires_before": (given.now + timedelta(days=60)).isoformat()})
    after = api.get(LOTS, {"expires_after": (given.now + timedelta(days=60)).isoformat()})
    # then each side has its lot; the never-expiring lot is on neither
    assert [lot["id"] for lot in before.json()["results"]] == [given.soon.pk]
    assert [lot["id"] for lot in after.json()["results"]] == [given.later.pk]


def test_m1_a_lot_spent_first_is_no_longer_live(crm_lots, make_api):
    """Soonest expiry first: five AI summaries (50 credits) empty the promotion."""
    # given the promotion of 50, spent by five consumptions of 10
    given = crm_lots
    for _ in range(5):
        credit_services.consume(client=given.portal.own, action="ai_summary", now=given.now)
    api = make_api(given.portal)
    # when the lots are filtered on live, and on source
    spent = api.get(LOTS, {"live": "false"}).json()["results"]
    live = api.get(LOTS, {"live": "true"}).json()["results"]
    promotions = api.get(LOTS, {"source": "promotion"}).json()["results"]
    # then the promotion is spent, the others live with what they had
    assert [(lot["id"], lot["remaining"], lot["live"]) for lot in spent] == [
        (given.soon.pk, 0, False)
    ]
    assert [(lot["id"], lot["remaining"]) for lot in live] == [
        (given.later.pk, 20),
        (live[1]["id"], 980),
    ]
    assert [lot["id"] for lot in promotions] == [given.soon.pk]


def test_m1_one_lot_reads_with_its_figures(crm_lots, make_api):
    # given the promotion of 50 expiring in 30 days
    given = crm_lots
    # when it is read
    response = make_api(given.portal).get(f"{LOTS}{given.soon.pk}/")
    # then its figures and expiry
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["quantity"], body["remaining"], body["unit_cost"]) == (
        given.soon.pk,
        50,
        50,
        None,
    )
    assert datetime.fromisoformat(body["expires_at"]) == given.now + timedelta(days=30)


@pytest.mark.parametrize(
    "params",
    [
        {"live": "sometimes"},
        {"source": "gift"},
        {"expires_before": "yesterday"},
        {"expires_after": "9999-12-31T23:00:00-14:00"},
    ],
)
def test_x6_a_malformed_lot_filter_is_a_400(crm_lots, make_api, params):
    # given an organisation with lots
    given = crm_lots
    # when the lots are filtered on a value that cannot be read
    response = make_api(given.portal).get(LOTS, params)
    # then 400 naming the filter
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == list(params)


def test_x5_another_organisations_lot_is_404_and_never_listed(crm_lots, make_portal, make_api):
    # given a lot of the first organisation, and a key of a second
    given = crm_lots
    beta = make_portal("beta", preset="crm")
    api = make_api(beta)
    # when the second reads it
    response = api.get(f"{LOTS}{given.soon.pk}/")
    # then it is not found, and the second lists only its own lot
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert [lot["remaining"] for lot in api.get(LOTS).json()["results"]] == [980]


def test_b7_a_tied_key_may_not_read_the_organisations_lots_403(crm_lots, make_api):
    # given a key tied to a client
    given = crm_lots
    api = make_api(given.portal, client=given.portal.clients[0])
    # when it lists or reads lots
    responses = [api.get(LOTS), api.get(f"{LOTS}{given.soon.pk}/")]
    # then 403 client_not_allowed each, and nothing moved
    assert [r.status_code for r in responses] == [403, 403]
    assert {r.json()["code"] for r in responses} == {"client_not_allowed"}
    assert CreditPool.objects.get(pk=given.portal.organisation.pk).balance == 1050
