"""The ledger under real concurrent requests (X2, X3, X4, S2).

Every worker is a thread with its own PostgreSQL connection, and a barrier lets them all go at
once. The tests are transactional (no test transaction around them) so the workers see the
data set up here and each other's commits, as requests and jobs in production do.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Sum

from clients import services as client_services
from clients.models import Client, ClientKind
from credits import services
from credits.audit import ledger_drift
from credits.exceptions import HoldExpired, HoldNotActive, InsufficientCredits
from credits.models import (
    ClientAccount,
    Consumption,
    CreditPool,
    EntryKind,
    Hold,
    HoldStatus,
    IdempotencyKey,
    LedgerEntry,
    Lot,
    LotSource,
)
from tests.concurrency.threads import WAIT_SECONDS, run_together

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=PARIS)


def pool_figures(organisation) -> tuple[int, int, int]:
    pool = CreditPool.objects.get(pk=organisation.pk)
    return pool.balance, pool.held, pool.assigned


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_racing_debits_on_a_pool_paying_for_five_let_exactly_five_through_x2(
    make_organisation,
):
    """X2: concurrent debits never overspend the pool; the ones it cannot pay are refused."""
    # Given a pool of 50 credits and four clients drawing from it
    organisation = make_organisation("race-debits")
    clients = [
        client_services.create_client(organisation=organisation, name=f"Client {n}")
        for n in range(4)
    ]
    services.grant(
        organisation=organisation,
        credits=50,
        source=LotSource.PURCHASE,
        expires_at=None,
        now=T0,
    )
    spent_at = T0 + timedelta(minutes=1)

    def spend(client_pk: int) -> Callable[[], object]:
        return lambda: services.debit(
            client=Client.objects.get(pk=client_pk),
            credits=10,
            action_code="send",
            now=spent_at,
        )

    # When 16 debits of 10 credits race, four per client
    outcomes = run_together(*(spend(clients[n % 4].pk) for n in range(16)))

    # Then exactly 5 are paid and 11 refused for want of credits, with nothing left over
    assert Counter(type(outcome).__name__ for outcome in outcomes) == {
        "Consumption": 5,
        "InsufficientCredits": 11,
    }
    refusals = [o for o in outcomes if isinstance(o, InsufficientCredits)]
    assert [(r.needed, r.available) for r in refusals] == [(10, 0)] * 11
    paid = [o for o in outcomes if isinstance(o, Consumption)]
    assert len({consumption.pk for consumption in paid}) == 5
    assert pool_figures(organisation) == (0, 0, 0)
    assert Consumption.objects.filter(organisation=organisation).count() == 5
    debits = LedgerEntry.objects.filter(organisation=organisation, kind=EntryKind.DEBIT)
    assert debits.aggregate(total=Sum("credits"))["total"] == -50
    assert list(Lot.objects.filter(organisation=organisation).values_list("remaining")) == [(0,)]
    assert ledger_drift() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_racing_retries_with_one_idempotency_key_debit_once_x3(make_organisation):
    """X3: the same request sent eight times at once has its effect once, and every sender
    gets the same consumption back."""
    # Given a pool of 100 credits
    organisation = make_organisation("race-retries")
    client = own_client(organisation)
    services.grant(
        organisation=organisation,
        credits=100,
        source=LotSource.PURCHASE,
        expires_at=None,
        now=T0,
    )
    spent_at = T0 + timedelta(minutes=1)

    def retry() -> object:
        return services.debit(
            client=Client.objects.get(pk=client.pk),
            credits=10,
            action_code="send",
            params={"campaign": 7},
            now=spent_at,
            idempotency_key="send-campaign-7",
        )

    # When eight workers send the same debit with the same idempotency key at once
    outcomes = run_together(*([retry] * 8))

    # Then one consumption is made, debited once, and all eight get its id back
    assert [type(outcome).__name__ for outcome in outcomes] == ["Consumption"] * 8
    consumption = Consumption.objects.get(organisation=organisation)
    assert [outcome.pk for outcome in outcomes] == [consumption.pk] * 8
    assert consumption.credits == 10
    assert pool_figures(organisation) == (90, 0, 0)
    assert list(
        LedgerEntry.objects.filter(organisation=organisation, kind=EntryKind.DEBIT).values_list(
            "credits", "consumption_id", "idempotency_key"
        )
    ) == [(-10, consumption.pk, "send-campaign-7")]
    assert list(
        IdempotencyKey.objects.filter(organisation=organisation).values_list("key", "result_id")
    ) == [("send-campaign-7", consumption.pk)]
    assert ledger_drift() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_capture_release_and_expiry_racing_on_one_hold_resolve_it_exactly_once_s2(
    make_organisation,
):
    """S2/X2: a hold resolves once, whichever of capture, release and the expiry jobs gets
    there first; the others are refused (or find nothing to do) and change nothing."""
    # Given a client with 10 assigned credits and a fixed limit of 1,000 (so its used counter
    # counts) holding 30 (10 assigned + 20 from the pool) until an hour after T0, in a pool of
    # 100 credits
    organisation = make_organisation("race-hold")
    client = client_services.create_client(organisation=organisation, name="Globex")
    services.grant(
        organisation=organisation,
        credits=100,
        source=LotSource.PURCHASE,
        expires_at=None,
        now=T0,
    )
    services.assign(organisation=organisation, client=client, credits=10, now=T0)
    services.set_spending_limit(client=client, kind="fixed", limit=1000, now=T0)
    reservation = services.hold(
        client=client, credits=30, expires_at=T0 + timedelta(hours=1), now=T0, action_code="send"
    )
    assert (reservation.from_assigned, reservation.from_pool) == (10, 20)
    before_expiry = T0 + timedelta(minutes=5)
    after_expiry = T0 + timedelta(hours=2)

    def fresh_hold() -> Hold:
        return Hold.objects.get(pk=reservation.pk)

    # When capture and release (before the hold's expiry) race both expiry jobs (after it)
    capture, release, expire_holds, expire_due = run_together(
        lambda: services.capture(hold=fresh_hold(), now=before_expiry),
        lambda: services.release(hold=fresh_hold(), now=before_expiry),
        lambda: services.expire_holds(now=after_expiry),
        lambda: services.expire_due(now=after_expiry),
    )

    # Then nothing failed but by refusing an inactive hold, and exactly one resolved the hold
    outcomes = [capture, release, expire_holds, expire_due]
    expected_types = (Consumption, Hold, services.ExpiryRun, HoldNotActive)
    assert [o for o in outcomes if not isinstance(o, expected_types)] == []
    effects = {
        "capture": isinstance(capture, Consumption),
        "release": isinstance(release, Hold),
        "expire_holds": getattr(expire_holds, "holds_expired", None) == 1,
        "expire_due": getattr(expire_due, "holds_expired", None) == 1,
    }
    winners = [name for name, had_effect in effects.items() if had_effect]
    assert len(winners) == 1, (winners, capture, release, expire_holds, expire_due)
    winner = winners[0]
    # ...the hold's final status is the winner's, and the losers were refused or found nothing
    expected_status = {
        "capture": HoldStatus.CAPTURED,
        "release": HoldStatus.RELEASED,
        "expire_holds": HoldStatus.EXPIRED,
        "expire_due": HoldStatus.EXPIRED,
    }[winner]
    assert fresh_hold().status == expected_status
    refusal = HoldExpired if expected_status == HoldStatus.EXPIRED else HoldNotActive
    for name, outcome in {"capture": capture, "release": release}.items():
        if name != winner:
            assert type(outcome) is refusal, (name, outcome)
    for name, outcome in {"expire_holds": expire_holds, "expire_due": expire_due}.items():
        if name != winner:
            assert isinstance(outcome, services.ExpiryRun), (name, outcome)
            assert (outcome.holds_expired, outcome.credits_expired) == (0, 0), (name, outcome)
    # ...the ledger resolves the hold with one entry of the winner's kind
    resolving = LedgerEntry.objects.filter(hold_id=reservation.pk).exclude(kind=EntryKind.HOLD)
    assert list(resolving.exclude(held_delta=0).values_list("kind", "held_delta")) == [
        (
            {
                HoldStatus.CAPTURED: EntryKind.CAPTURE,
                HoldStatus.RELEASED: EntryKind.RELEASE,
                HoldStatus.EXPIRED: EntryKind.HOLD_EXPIRY,
            }[expected_status],
            -30,
        )
    ]
    # ...and the figures are exact: a capture spends 30 (the 10 assigned, 20 from the pool), a
    # release or an expiry gives all 30 back where they came from
    account = ClientAccount.objects.get(pk=client.pk)
    if expected_status == HoldStatus.CAPTURED:
        assert pool_figures(organisation) == (70, 0, 0)
        assert (account.assigned_remaining, account.used) == (0, 20)
        assert list(
            Consumption.objects.filter(organisation=organisation).values_list(
                "credits", "from_assigned", "from_pool", "hold_id"
            )
        ) == [(30, 10, 20, reservation.pk)]
    else:
        assert pool_figures(organisation) == (100, 0, 10)
        assert (account.assigned_remaining, account.used) == (10, 0)
        assert Consumption.objects.filter(organisation=organisation).count() == 0
    assert ledger_drift() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_expiry_runs_at_once_expire_each_lot_exactly_once_x4(make_organisation):
    """X4: two expire_due runs at the same time expire each lot once, assigned credits
    included, and leave credits that do not expire alone."""
    # Given lots of 100 and 60 credits expiring a day after T0, 40 that never expire, and 30
    # and 20 credits assigned to two clients
    organisation = make_organisation("race-expiry")
    first, second = (
        client_services.create_client(organisation=organisation, name=name)
        for name in ("Initech", "Umbrella")
    )
    expiring = [
        services.grant(
            organisation=organisation,
            credits=credits,
            source=LotSource.PURCHASE,
            expires_at=T0 + timedelta(days=1),
            now=T0,
        )
        for credits in (100, 60)
    ]
    lasting = services.grant(
        organisation=organisation,
        credits=40,
        source=LotSource.PURCHASE,
        expires_at=None,
        now=T0,
    )
    services.assign(organisation=organisation, client=first, credits=30, now=T0)
    services.assign(organisation=organisation, client=second, credits=20, now=T0)
    assert pool_figures(organisation) == (200, 0, 50)
    run_at = T0 + timedelta(days=2)

    # When two expiry jobs run at once
    runs = run_together(
        lambda: services.expire_due(now=run_at),
        lambda: services.expire_due(now=run_at),
    )

    # Then the 160 expiring credits expire once, all in one run: the 150 unassigned first, then
    # 10 of the assigned credits, split 6/4 in proportion to the clients' 30/20 (S8)
    assert [type(run).__name__ for run in runs] == ["ExpiryRun", "ExpiryRun"]
    assert sorted((run.holds_expired, run.credits_expired) for run in runs) == [(0, 0), (0, 160)]
    lot_expiries = LedgerEntry.objects.filter(
        organisation=organisation, kind=EntryKind.EXPIRY
    ).exclude(credits=0)
    assert sorted(lot_expiries.values_list("lot_id", "credits")) == sorted(
        [(expiring[0].pk, -100), (expiring[1].pk, -60)]
    )
    client_expiries = LedgerEntry.objects.filter(
        organisation=organisation, kind=EntryKind.EXPIRY, credits=0
    )
    assert sorted(client_expiries.values_list("client_id", "assigned_delta")) == sorted(
        [(first.pk, -6), (second.pk, -4)]
    )
    remaining = dict(Lot.objects.filter(organisation=organisation).values_list("pk", "remaining"))
    assert remaining == {expiring[0].pk: 0, expiring[1].pk: 0, lasting.pk: 40}
    assert pool_figures(organisation) == (40, 0, 40)
    assigned = dict(
        ClientAccount.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "pk", "assigned_remaining"
        )
    )
    assert assigned == {first.pk: 24, second.pk: 16}
    assert ledger_drift() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_debit_waiting_for_the_pool_sees_the_account_as_the_lock_holder_left_it_x2(
    make_organisation,
):
    """X2, G3: every writer of a client's account holds the pool lock, so a debit that waited
    for it reads the account afterwards, as the holder committed it; it neither spends
    assigned credits that were just taken back nor goes below zero."""
    # Given a client with 10 assigned credits in a pool of 100
    organisation = make_organisation("race-account")
    client = client_services.create_client(organisation=organisation, name="Globex")
    services.grant(organisation=organisation, credits=100, source=LotSource.PURCHASE, now=T0)
    services.assign(organisation=organisation, client=client, credits=10, now=T0)
    taken_back = threading.Event()

    def take_back() -> None:
        with transaction.atomic():
            CreditPool.objects.select_for_update().get(pk=organisation.pk)
            services.unassign(organisation=organisation, client=client, credits=10, now=T0)
            taken_back.set()
            time.sleep(0.5)  # the debit below starts now and waits for the pool lock

    def spend() -> Consumption:
        assert taken_back.wait(WAIT_SECONDS)
        return services.debit(client=client, credits=10, action_code="send", now=T0)

    # When a debit of 10 starts while the assignment is being taken back
    _, consumption = run_together(take_back, spend)
    # Then it is paid from the pool, as the account stands after the take-back
    assert (consumption.from_assigned, consumption.from_pool) == (0, 10)
    assert pool_figures(organisation) == (90, 0, 0)
    assert ClientAccount.objects.get(pk=client.pk).assigned_remaining == 0
    assert ledger_drift() == []
