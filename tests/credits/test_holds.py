"""Holds (S2): available = balance - held; a hold resolves exactly once."""

from datetime import timedelta

import pytest

from credits import services
from credits.audit import ledger_drift
from credits.exceptions import HoldExpired, HoldNotActive, InsufficientCredits, InvalidAmount
from credits.models import ClientAccount, EntryKind, Hold, HoldStatus, LedgerEntry
from credits.selectors import pool_figures
from tests.credits.conftest import assigned_of, figures, pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(organisation, now):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    return organisation


def test_a_hold_reduces_what_is_available_but_not_the_balance_s2(funded, make_client, now):
    campaign = make_client("Campaign")
    services.hold(client=campaign, credits=300, expires_at=now + timedelta(days=2), now=now)
    figures_now = pool_figures(funded)
    assert (figures_now.balance, figures_now.held, figures_now.available) == (1000, 300, 700)


def test_credits_held_cannot_be_spent_by_anyone_else_s2(funded, make_client, now):
    services.hold(client=make_client("A"), credits=900, expires_at=now + timedelta(days=1), now=now)
    own = funded.clients.get(kind="own")
    before = figures(funded)
    with pytest.raises(InsufficientCredits, match="101 needed, 100 available"):
        services.debit(client=own, credits=101, action_code="x", now=now)
    assert figures(funded) == before


def test_a_full_capture_spends_the_held_credits(funded, make_client, now):
    campaign = make_client("Campaign")
    reservation = services.hold(
        client=campaign, credits=300, expires_at=now + timedelta(days=2), now=now, action_code="sms"
    )
    consumption = services.capture(hold=reservation, now=now + timedelta(hours=1))
    assert (consumption.credits, consumption.action_code, consumption.hold_id) == (
        300,
        "sms",
        reservation.pk,
    )
    assert pool_of(funded) == (700, 0, 0)
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.CAPTURED
    assert ledger_drift() == []


def test_a_partial_capture_releases_the_rest_to_where_it_came_from(funded, make_client, now):
    campaign = make_client("Campaign")
    services.assign(organisation=funded, client=campaign, credits=100, now=now)
    services.set_spending_limit(client=campaign, kind="monthly", limit=500, now=now)
    reservation = services.hold(
        client=campaign, credits=300, expires_at=now + timedelta(days=2), now=now
    )
    assert (reservation.from_assigned, reservation.from_pool) == (100, 200)
    assert ClientAccount.objects.get(pk=campaign.pk).used == 200
    consumption = services.capture(hold=reservation, credits=180, now=now)
    assert (consumption.from_assigned, consumption.from_pool) == (100, 80)
    assert assigned_of(campaign) == 0
    assert ClientAccount.objects.get(pk=campaign.pk).used == 80
    assert pool_of(funded) == (820, 0, 0)
    assert ledger_drift() == []


def test_releasing_a_hold_gives_everything_back(funded, make_client, now):
    campaign = make_client("Campaign")
    services.assign(organisation=funded, client=campaign, credits=50, now=now)
    reservation = services.hold(
        client=campaign, credits=80, expires_at=now + timedelta(days=2), now=now
    )
    services.release(hold=reservation, now=now)
    assert assigned_of(campaign) == 50
    assert pool_of(funded) == (1000, 0, 50)
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.RELEASED


def test_a_hold_resolves_only_once(funded, make_client, now):
    reservation = services.hold(
        client=make_client("Campaign"), credits=80, expires_at=now + timedelta(days=2), now=now
    )
    services.capture(hold=reservation, now=now)
    before = figures(funded)
    with pytest.raises(HoldNotActive, match="already Captured"):
        services.release(hold=reservation, now=now)
    with pytest.raises(HoldNotActive):
        services.capture(hold=reservation, now=now)
    assert figures(funded) == before


def test_an_expired_hold_releases_itself_and_cannot_be_captured(funded, make_client, now):
    reservation = services.hold(
        client=make_client("Campaign"), credits=80, expires_at=now + timedelta(hours=1), now=now
    )
    with pytest.raises(HoldExpired):
        services.capture(hold=reservation, now=now + timedelta(hours=2))
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.EXPIRED
    assert pool_of(funded) == (1000, 0, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.HOLD_EXPIRY).count() == 1
    assert services.expire_holds(now=now + timedelta(hours=3)).holds_expired == 0
    assert ledger_drift() == []


def test_the_hold_expiry_job_releases_holds_past_their_time(funded, make_client, now):
    campaign = make_client("Campaign")
    services.hold(client=campaign, credits=80, expires_at=now + timedelta(hours=1), now=now)
    services.hold(client=campaign, credits=20, expires_at=now + timedelta(hours=5), now=now)
    run = services.expire_holds(now=now + timedelta(hours=2))
    assert (run.organisations, run.holds_expired) == (1, 1)
    assert pool_of(funded) == (1000, 20, 0)


def test_capturing_more_than_held_is_refused_and_moves_nothing_x6(funded, make_client, now):
    reservation = services.hold(
        client=make_client("Campaign"), credits=80, expires_at=now + timedelta(days=1), now=now
    )
    before = figures(funded)
    with pytest.raises(InvalidAmount, match="Cannot capture 81 credits from a hold of 80"):
        services.capture(hold=reservation, credits=81, now=now)
    assert figures(funded) == before
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.ACTIVE


def test_a_hold_that_expires_in_the_past_is_refused_x6(funded, make_client, now):
    campaign = make_client("Campaign")
    before = figures(funded)
    with pytest.raises(InvalidAmount):
        services.hold(client=campaign, credits=5, expires_at=now, now=now)
    assert figures(funded) == before


def test_credits_held_on_an_expiring_lot_stay_reserved_until_the_hold_resolves(
    organisation, make_client, now
):
    """S2 with S8: expiry never takes credits reserved for scheduled work; what the hold gives
    back expires at once."""
    services.grant(
        organisation=organisation,
        credits=100,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    reservation = services.hold(
        client=make_client("Campaign"), credits=60, expires_at=now + timedelta(days=3), now=now
    )
    services.expire_due(now=now + timedelta(days=1))
    assert pool_of(organisation) == (60, 60, 0)
    services.capture(hold=reservation, credits=45, now=now + timedelta(days=2))
    assert pool_of(organisation) == (0, 0, 0)
    assert ledger_drift() == []
