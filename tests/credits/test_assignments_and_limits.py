"""Assignments (G3, G4, S5) and spending limits (D4, S5)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from credits import services
from credits.audit import ledger_drift
from credits.exceptions import InsufficientCredits, InvalidAmount, LimitExceeded, NotReassignable
from credits.models import Assignment, ClientAccount
from tests.credits.conftest import assigned_of, figures, pool_of

pytestmark = pytest.mark.django_db


def account(client) -> ClientAccount:
    return ClientAccount.objects.get(pk=client.pk)


def test_assigning_moves_unassigned_credits_to_a_client_with_reference_and_comment_g3(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=500, source="purchase", now=now)
    acme = make_client("Acme Training", kind="customer")
    assignment = services.assign(
        organisation=organisation,
        client=acme,
        credits=120,
        now=now,
        reference="PO-2026-17",
        comment="20 learners x 6 credits",
    )
    assert (assignment.kind, assignment.credits, assignment.reference, assignment.comment) == (
        "assign",
        120,
        "PO-2026-17",
        "20 learners x 6 credits",
    )
    assert assigned_of(acme) == 120
    assert pool_of(organisation) == (500, 0, 120)
    assert ledger_drift() == []


def test_assigning_more_than_is_unassigned_is_refused_and_moves_nothing_g4(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    a, b = make_client("A"), make_client("B")
    services.assign(organisation=organisation, client=a, credits=70, now=now)
    before = figures(organisation)
    with pytest.raises(InsufficientCredits, match="40 needed, 30 available"):
        services.assign(organisation=organisation, client=b, credits=40, now=now)
    assert figures(organisation) == before
    assert Assignment.objects.count() == 1


def test_unassigning_returns_credits_to_the_pool_where_the_policy_allows(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    a = make_client("A")
    services.assign(organisation=organisation, client=a, credits=70, now=now)
    services.unassign(organisation=organisation, client=a, credits=50, now=now, comment="moved")
    assert assigned_of(a) == 20
    assert pool_of(organisation) == (100, 0, 20)
    assert ledger_drift() == []


def test_the_serious_game_preset_never_takes_assigned_credits_back_g3(
    organisation, make_client, now
):
    """G3: assigned credits can never be moved to another client."""
    services.apply_preset(organisation=organisation, preset="serious_game")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    a = make_client("A", kind="customer")
    services.assign(organisation=organisation, client=a, credits=60, now=now)
    before = figures(organisation)
    with pytest.raises(NotReassignable):
        services.unassign(organisation=organisation, client=a, credits=10, now=now)
    assert figures(organisation) == before


def test_a_debit_that_would_pass_the_limit_is_refused_whole_d4(organisation, make_client, now):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    legal = make_client("Legal", kind="sub_account")
    services.set_spending_limit(client=legal, kind="monthly", limit=100, now=now)
    services.debit(client=legal, credits=80, action_code="translate", now=now)
    before = figures(organisation)
    with pytest.raises(LimitExceeded, match="30 credits needed from the pool, 20 left"):
        services.debit(client=legal, credits=30, action_code="translate", now=now)
    assert figures(organisation) == before
    assert account(legal).used == 80


def test_a_monthly_limit_resets_at_the_start_of_the_month_in_the_organisations_zone_d4(
    make_organisation, make_client, now
):
    """D4: the used counter goes back to 0 at the end of each month (organisation's time)."""
    tokyo = make_organisation("tokyo", time_zone="Asia/Tokyo")
    services.grant(organisation=tokyo, credits=1000, source="purchase", now=now)
    team = make_client("Team", org=tokyo)
    services.set_spending_limit(client=team, kind="monthly", limit=100, now=now)
    services.debit(client=team, credits=100, action_code="x", now=now)
    # 31 Jan 15:30 UTC is still January in Paris but already 1 February 00:30 in Tokyo
    feb_in_tokyo = datetime(2026, 1, 31, 15, 30, tzinfo=ZoneInfo("UTC"))
    assert services.reset_monthly(now=feb_in_tokyo - timedelta(hours=1)) == 0
    assert account(team).used == 100
    assert services.reset_monthly(now=feb_in_tokyo) == 1
    assert account(team).used == 0
    assert account(team).window_start == datetime(2026, 2, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    # Re-running the job is harmless
    assert services.reset_monthly(now=feb_in_tokyo + timedelta(hours=1)) == 0
    services.debit(client=team, credits=100, action_code="x", now=feb_in_tokyo)
    assert account(team).used == 100
    assert ledger_drift() == []


def test_a_monthly_limit_also_resets_lazily_when_the_job_has_not_run_yet_d4(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    team = make_client("Team")
    services.set_spending_limit(client=team, kind="monthly", limit=50, now=now)
    services.debit(client=team, credits=50, action_code="x", now=now)
    services.debit(client=team, credits=50, action_code="x", now=now + timedelta(days=20))
    assert account(team).used == 50
    assert pool_of(organisation) == (900, 0, 0)


def test_a_fixed_limit_never_resets_d4(organisation, make_client, now):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    team = make_client("Team")
    services.set_spending_limit(client=team, kind="fixed", limit=50, now=now)
    services.debit(client=team, credits=50, action_code="x", now=now)
    later = now + timedelta(days=95)
    assert services.reset_monthly(now=later) == 0
    before = figures(organisation)
    with pytest.raises(LimitExceeded):
        services.debit(client=team, credits=1, action_code="x", now=later)
    assert figures(organisation) == before


def test_switching_between_fixed_and_monthly_resets_the_used_counter_to_zero_d4(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    team = make_client("Team")
    services.set_spending_limit(client=team, kind="fixed", limit=100, now=now)
    services.debit(client=team, credits=70, action_code="x", now=now)
    services.set_spending_limit(client=team, kind="monthly", limit=100, now=now)
    assert account(team).used == 0
    services.debit(client=team, credits=40, action_code="x", now=now)
    services.set_spending_limit(client=team, kind="fixed", limit=100, now=now)
    assert account(team).used == 0
    assert ledger_drift() == []


def test_changing_the_amount_of_the_same_kind_of_limit_keeps_the_counter(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    team = make_client("Team")
    services.set_spending_limit(client=team, kind="monthly", limit=100, now=now)
    services.debit(client=team, credits=70, action_code="x", now=now)
    services.set_spending_limit(client=team, kind="monthly", limit=200, now=now)
    assert (account(team).used, account(team).limit) == (70, 200)


def test_credits_spent_from_the_assignment_do_not_count_against_the_pool_limit_s5(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    newsletter = make_client("Newsletter")
    services.assign(organisation=organisation, client=newsletter, credits=40, now=now)
    services.set_spending_limit(client=newsletter, kind="fixed", limit=10, now=now)
    services.debit(client=newsletter, credits=50, action_code="sms", now=now)
    assert (account(newsletter).assigned_remaining, account(newsletter).used) == (0, 10)


def test_a_negative_limit_is_refused_x6(organisation, make_client, now):
    team = make_client("Team")
    before = figures(organisation)
    with pytest.raises(InvalidAmount):
        services.set_spending_limit(client=team, kind="monthly", limit=-5, now=now)
    with pytest.raises(InvalidAmount):
        services.set_spending_limit(client=team, kind="weekly", limit=5, now=now)
    assert figures(organisation) == before


def test_a_client_without_a_limit_counts_nothing_and_a_new_limit_starts_from_its_holds_d4(
    organisation, make_client, now
):
    """D4, S5: the used counter belongs to the limit. A list that draws freely counts nothing;
    a limit set later starts from what its active holds reserve, which it will spend."""
    services.grant(organisation=organisation, credits=500, source="purchase", now=now)
    news = make_client("Newsletter")
    reservation = services.hold(
        client=news, credits=20, now=now, expires_at=now + timedelta(days=1)
    )
    services.debit(client=news, credits=30, action_code="send", now=now)
    assert account(news).used == 0
    # When a fixed limit is set, Then the counter starts at what the hold reserves
    services.set_spending_limit(client=news, kind="fixed", limit=100, now=now)
    assert account(news).used == 20
    services.debit(client=news, credits=10, action_code="send", now=now)
    services.release(hold=reservation, now=now)
    assert account(news).used == 10
    # When the limit is removed, Then the counter goes back to 0 and stays there
    services.set_spending_limit(client=news, kind="none", now=now)
    services.debit(client=news, credits=5, action_code="send", now=now)
    assert account(news).used == 0
    assert pool_of(organisation) == (455, 0, 0)
    assert ledger_drift() == []
