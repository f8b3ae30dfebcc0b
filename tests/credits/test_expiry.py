"""Expiry policies (D3, S4, M2, G3) and proportional expiry of assigned credits (S8)."""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError

from credits import services
from credits.audit import ledger_drift
from credits.exceptions import InsufficientCredits, InvalidAmount
from credits.models import CreditPool, EntryKind, LedgerEntry, Lot
from credits.services import proportional_shares
from tests.credits.conftest import assigned_of, figures, pool_of

pytestmark = pytest.mark.django_db


def test_s8_expired_credits_leave_unassigned_first_then_lists_in_proportion(
    organisation, make_client, now
):
    """S8 worked example: 450 credits expire with 100 unassigned and lists holding 300, 200
    and 100. The 100 unassigned go first; the other 350 are taken 175 / 117 / 58 (exact
    shares 175, 116.67, 58.33; the credit left by rounding down goes to the largest
    remainder)."""
    # Given 700 credits, 450 of them in a lot expiring in 30 days, and three lists
    services.grant(organisation=organisation, credits=250, source="purchase", now=now)
    expiring = services.grant(
        organisation=organisation,
        credits=450,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=30),
    )
    big, mid, small = make_client("Big"), make_client("Mid"), make_client("Small")
    for client, credits in ((big, 300), (mid, 200), (small, 100)):
        services.assign(organisation=organisation, client=client, credits=credits, now=now)
    assert pool_of(organisation) == (700, 0, 600)
    # When the lot expires
    run = services.expire_due(now=now + timedelta(days=30))
    # Then 450 credits are gone: 100 unassigned, then 175 / 117 / 58 from the lists
    assert (run.organisations, run.credits_expired) == (1, 450)
    assert (assigned_of(big), assigned_of(mid), assigned_of(small)) == (125, 83, 42)
    assert pool_of(organisation) == (250, 0, 250)
    assert Lot.objects.get(pk=expiring.pk).remaining == 0
    assert ledger_drift() == []


def test_s8_shares_are_exact_and_ties_go_to_the_larger_weight_then_the_older_client():
    """S8: largest remainder; equal remainders go to the larger assignment, then the smaller
    client id (the older client): deterministic."""
    assert proportional_shares(350, {1: 300, 2: 200, 3: 100}) == {1: 175, 2: 117, 3: 58}
    # 10 over three equal weights: 3.33 each; the one credit left goes to the oldest client
    assert proportional_shares(10, {7: 50, 3: 50, 5: 50}) == {3: 4, 5: 3, 7: 3}
    # equal remainders (0.5 each) for weights 1 and 3 → the larger weight wins
    assert proportional_shares(2, {1: 1, 2: 3}) == {1: 0, 2: 2}
    assert proportional_shares(0, {1: 5}) == {1: 0}
    assert proportional_shares(6, {1: 1, 2: 2, 3: 3}) == {1: 1, 2: 2, 3: 3}


def test_nothing_expires_from_the_lists_while_unassigned_credits_cover_it_s8(
    organisation, make_client, now
):
    services.grant(
        organisation=organisation,
        credits=500,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    listed = make_client("List")
    services.assign(organisation=organisation, client=listed, credits=100, now=now)
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    services.expire_due(now=now + timedelta(days=1))
    assert assigned_of(listed) == 100
    assert pool_of(organisation) == (100, 0, 100)


def test_sms_preset_credits_expire_24_months_after_purchase_s4(organisation, now):
    services.apply_preset(organisation=organisation, preset="sms")
    lot = services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    assert lot.expires_at == now + relativedelta(months=24)
    services.expire_due(now=now + relativedelta(months=24) - timedelta(seconds=1))
    assert pool_of(organisation) == (1000, 0, 0)
    services.expire_due(now=now + relativedelta(months=24))
    assert pool_of(organisation) == (0, 0, 0)
    assert ledger_drift() == []


def test_a_new_purchase_extends_the_expiry_of_the_credits_still_held_s4(organisation, now):
    services.apply_preset(organisation=organisation, preset="sms")
    first = services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    a_year_later = now + relativedelta(months=12)
    second = services.grant(
        organisation=organisation, credits=500, source="purchase", now=a_year_later
    )
    first.refresh_from_db()
    assert first.expires_at == second.expires_at == a_year_later + relativedelta(months=24)
    extension = LedgerEntry.objects.get(kind=EntryKind.EXTENSION)
    assert (extension.lot_id, extension.credits) == (first.pk, 0)
    services.expire_due(now=now + relativedelta(months=24))
    assert pool_of(organisation) == (1500, 0, 0)


@pytest.mark.parametrize(
    ("policy", "field"),
    [({"expiry_months": 0}, "expiry_months"), ({"reminder_days": -1}, "reminder_days")],
)
def test_a_policy_with_months_below_one_or_negative_days_is_refused_x6(
    organisation, now, policy, field
):
    """X6: refused with the field named; the policy stays as it was (D3, S4)."""
    services.update_policy(organisation=organisation, expiry_kind="inactivity", expiry_months=12)
    before = CreditPool.objects.filter(pk=organisation.pk).values().get()
    with pytest.raises(ValidationError) as refusal:
        services.update_policy(organisation=organisation, **policy)
    assert list(refusal.value.message_dict) == [field]
    assert CreditPool.objects.filter(pk=organisation.pk).values().get() == before


def test_a_policy_that_never_expires_keeps_its_months_for_later(organisation, now):
    """Switching to "never" and back finds the months set before (D3)."""
    services.update_policy(organisation=organisation, expiry_kind="inactivity", expiry_months=18)
    services.update_policy(organisation=organisation, expiry_kind="never")
    pool = services.update_policy(organisation=organisation, expiry_kind="inactivity")
    assert (pool.expiry_kind, pool.expiry_months) == ("inactivity", 18)


def test_without_the_policy_flag_a_purchase_extends_nothing(organisation, now):
    services.update_policy(
        organisation=organisation, expiry_kind="after_purchase", expiry_months=24
    )
    first = services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    services.grant(
        organisation=organisation,
        credits=5,
        source="purchase",
        now=now + relativedelta(months=12),
    )
    first.refresh_from_db()
    assert first.expires_at == now + relativedelta(months=24)


def test_translation_credits_survive_while_the_account_is_used_within_12_months_d3(
    organisation, now
):
    """D3: credits do not expire while used at least once every 12 months."""
    services.apply_preset(organisation=organisation, preset="translation")
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    eleven_months = now + relativedelta(months=11)
    services.debit(client=own, credits=10, action_code="translate", now=eleven_months)
    services.expire_due(now=now + relativedelta(months=13))
    assert pool_of(organisation) == (990, 0, 0)
    # ... and expire after 12 months without any use
    services.expire_due(now=eleven_months + relativedelta(months=12))
    assert pool_of(organisation) == (0, 0, 0)
    assert ledger_drift() == []


def test_inactivity_expiry_applies_before_a_late_debit_d3(organisation, now):
    services.apply_preset(organisation=organisation, preset="translation")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    with pytest.raises(InsufficientCredits):
        services.debit(
            client=own, credits=10, action_code="x", now=now + relativedelta(months=12, days=1)
        )
    # the expiry that was due stands only if the job runs: the refusal moved nothing
    assert pool_of(organisation) == (100, 0, 0)
    services.expire_due(now=now + relativedelta(months=12, days=1))
    assert pool_of(organisation) == (0, 0, 0)


def test_a_plan_allowance_expires_at_its_cycle_end_and_is_spent_first_m2(organisation, now):
    """M2: included credits are spent first and never roll over; purchased credits stay."""
    services.apply_preset(organisation=organisation, preset="crm")
    purchased = services.grant(organisation=organisation, credits=300, source="purchase", now=now)
    cycle_end = now + relativedelta(months=1)
    allowance = services.grant(
        organisation=organisation,
        credits=100,
        source="plan_allowance",
        now=now,
        expires_at=cycle_end,
    )
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=60, action_code="form", now=now)
    assert Lot.objects.get(pk=allowance.pk).remaining == 40
    services.expire_due(now=cycle_end)
    assert Lot.objects.get(pk=allowance.pk).remaining == 0
    assert Lot.objects.get(pk=purchased.pk).remaining == 300
    assert pool_of(organisation) == (300, 0, 0)


def test_a_plan_allowance_without_a_cycle_end_is_refused_x6(organisation, now):
    before = figures(organisation)
    with pytest.raises(InvalidAmount):
        services.grant(organisation=organisation, credits=100, source="plan_allowance", now=now)
    assert figures(organisation) == before


def test_serious_game_credits_never_expire_g3(organisation, make_client, now):
    services.apply_preset(organisation=organisation, preset="serious_game")
    lot = services.grant(organisation=organisation, credits=600, source="purchase", now=now)
    assert lot.expires_at is None
    run = services.expire_due(now=now + relativedelta(years=10))
    assert (run.organisations, run.credits_expired) == (0, 0)
    assert pool_of(organisation) == (600, 0, 0)


def test_running_the_expiry_job_twice_expires_each_lot_once_x4(organisation, now):
    services.grant(
        organisation=organisation,
        credits=80,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    later = now + timedelta(days=2)
    first, second = services.expire_due(now=later), services.expire_due(now=later)
    assert (first.credits_expired, second.credits_expired) == (80, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1


def test_an_operation_after_an_expiry_date_expires_the_lot_first_without_the_job(organisation, now):
    """The pool's next expiry tells every operation when to look for due lots, so a debit
    made after a lot's expiry (before the job ran) never spends the expired credits."""
    services.grant(
        organisation=organisation,
        credits=100,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    services.grant(organisation=organisation, credits=50, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=30, action_code="x", now=now + timedelta(days=2))
    assert pool_of(organisation) == (20, 0, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert services.expire_due(now=now + timedelta(days=2)).credits_expired == 0
    assert ledger_drift() == []


def test_credits_a_hold_gives_back_as_its_lot_expires_expire_with_the_rest_s8(
    organisation, make_client, now
):
    """Found by the stateful test: the S8 shares must count credits that a hold gave back in
    the same operation (expiry once stopped the organisation with a ValueError)."""
    a, b = make_client("A"), make_client("B")
    services.grant(organisation=organisation, credits=20, source="purchase", now=now)
    services.grant(
        organisation=organisation,
        credits=20,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    services.assign(organisation=organisation, client=a, credits=10, now=now)
    services.assign(organisation=organisation, client=b, credits=30, now=now)
    services.hold(client=a, credits=10, expires_at=now + timedelta(days=1), now=now)
    run = services.expire_due(now=now + timedelta(days=1))
    assert (run.holds_expired, run.credits_expired) == (1, 20)
    assert (assigned_of(a), assigned_of(b)) == (5, 15)
    assert pool_of(organisation) == (20, 0, 20)
    assert ledger_drift() == []


def test_valid_credits_never_stand_in_for_credits_held_on_an_expired_lot_s2(
    organisation, make_client, now
):
    """Found by the stateful test: the held credits stay on the expired lot, so capturing
    the hold later leaves the purchased credits whole."""
    services.grant(organisation=organisation, credits=10, source="purchase", now=now)
    services.grant(
        organisation=organisation,
        credits=10,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    reservation = services.hold(
        client=make_client("A"), credits=10, expires_at=now + timedelta(days=30), now=now
    )
    assert services.expire_due(now=now + timedelta(days=2)).credits_expired == 0
    services.capture(hold=reservation, now=now + timedelta(days=3))
    assert pool_of(organisation) == (10, 0, 0)
    assert ledger_drift() == []


def test_credits_granted_after_an_inactivity_expiry_start_a_new_clock_d3(organisation, now):
    """Found by the stateful test: they used to expire on arrival."""
    services.apply_preset(organisation=organisation, preset="translation")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    later = now + relativedelta(months=13)
    assert services.expire_due(now=later).credits_expired == 100
    services.grant(organisation=organisation, credits=50, source="promotion", now=later)
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=5, action_code="x", now=later)
    assert services.expire_due(now=later).credits_expired == 0
    assert pool_of(organisation) == (45, 0, 0)


def test_s2_the_job_leaves_alone_a_pool_whose_past_due_credits_are_all_held(
    organisation, make_client, now
):
    """S2, issue 15: credits past their expiry that a hold reserves stay until the hold
    resolves; the job does not visit that pool run after run, and expires them once the hold
    has expired."""
    # Given 40 credits expiring tomorrow, all reserved by a hold that expires in 10 days
    services.grant(
        organisation=organisation,
        credits=40,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    services.hold(
        client=organisation.clients.get(kind="own"),
        credits=40,
        now=now,
        expires_at=now + timedelta(days=10),
    )
    # When the job runs after the lot's expiry, then it expires nothing there, and the next
    # run does not come back to that pool
    first = services.expire_due(now=now + timedelta(days=2))
    assert (first.organisations, first.credits_expired) == (1, 0)
    assert services.expire_due(now=now + timedelta(days=3)).organisations == 0
    assert pool_of(organisation) == (40, 40, 0)
    # When it runs after the hold's expiry, then the hold is released and the credits expire
    run = services.expire_due(now=now + timedelta(days=11))
    assert (run.organisations, run.holds_expired, run.credits_expired) == (1, 1, 40)
    assert pool_of(organisation) == (0, 0, 0)
    assert ledger_drift() == []
