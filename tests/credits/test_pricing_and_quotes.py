"""Rate cards (C1, C2, D2, M1, G2, G6), quotes and quote-then-confirm consumption (C5)."""

from datetime import timedelta

import pytest

from clients import services as client_services
from credits import services
from credits.audit import ledger_drift
from credits.exceptions import InsufficientCredits, PricingError, QuoteExpired, QuoteUsed
from credits.models import BillableAction, Consumption, LedgerEntry
from tests.credits.conftest import figures, pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_provider(make_organisation, now):
    organisation = make_organisation("corpo", name="Corpo", preset="data_provider")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    return organisation


def own(organisation):
    return organisation.clients.get(kind="own")


def test_each_preset_starts_with_its_seed_systems_rate_card(make_organisation):
    cards = {
        preset: sorted(
            BillableAction.objects.filter(
                organisation=make_organisation(preset.replace("_", ""), preset=preset)
            ).values_list("code", "rule", "credits")
        )
        for preset in ("serious_game", "crm")
    }
    assert cards["serious_game"] == [("campus_visit", "free", 0), ("enrolment", "per_unit", 6)]
    assert cards["crm"] == [
        ("ai_email_draft", "flat", 5),
        ("ai_summary", "flat", 10),
        ("dashboard", "free", 0),
        ("form_submission", "flat", 1),
        ("login", "free", 0),
        ("settings", "free", 0),
        ("sms", "per_unit", 5),
    ]


@pytest.mark.parametrize(
    "code", ["search", "company_view", "favourite", "saved_list", "alert", "share_list"]
)
def test_free_actions_never_change_a_figure_but_are_counted_in_usage_c1(data_provider, now, code):
    before = figures(data_provider)
    consumption = services.consume(client=own(data_provider), action=code, now=now)
    assert figures(data_provider) == before
    assert (consumption.action_code, consumption.credits) == (code, 0)
    assert Consumption.objects.filter(action_code=code).count() == 1


def test_a_data_export_costs_one_credit_per_row_c2(data_provider, now):
    consumption = services.consume(
        client=own(data_provider), action="data_export", params={"rows": 42}, now=now
    )
    assert consumption.credits == 42
    assert consumption.params == {"rows": 42, "unit_credits": 1, "units": 42}
    assert pool_of(data_provider) == (58, 0, 0)


def test_a_translation_costs_by_service_and_complexity_per_page_d2(make_organisation, now):
    organisation = make_organisation("deep", preset="translation")
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    consumption = services.consume(
        client=own(organisation),
        action="translation",
        params={"service": "legal", "complexity": "complex", "pages": 3},
        now=now,
    )
    assert consumption.credits == 360
    with pytest.raises(PricingError, match="No price for complexity=rocket, service=legal"):
        services.consume(
            client=own(organisation),
            action="translation",
            params={"service": "legal", "complexity": "rocket", "pages": 1},
            now=now,
        )
    assert pool_of(organisation) == (640, 0, 0)


def test_enrolling_learners_debits_six_credits_each_at_enrolment_g6(make_organisation, now):
    """G2, G6: one learner in one game costs 6 credits, consumed when enrolled."""
    studio = make_organisation("studio", preset="serious_game")
    services.grant(organisation=studio, credits=600, source="purchase", now=now)
    acme = client_services.create_client(organisation=studio, name="Acme Training")
    services.assign(organisation=studio, client=acme, credits=120, now=now, reference="PO-1")
    consumption = services.consume(
        client=acme,
        action="enrolment",
        params={"learners": 20, "game": "Cyber-security basics"},
        now=now,
    )
    assert (consumption.credits, consumption.from_assigned, consumption.from_pool) == (120, 120, 0)
    assert consumption.params["game"] == "Cyber-security basics"
    assert pool_of(studio) == (480, 0, 0)


def test_bad_parameters_are_refused_with_a_clear_message_x6(data_provider, now):
    before = figures(data_provider)
    for params, message in (
        ({}, "“rows” must be a whole number"),
        ({"rows": 0}, "“rows” must be a whole number"),
        ({"rows": "12"}, "“rows” must be a whole number"),
    ):
        with pytest.raises(PricingError, match=message):
            services.consume(
                client=own(data_provider), action="data_export", params=params, now=now
            )
    with pytest.raises(PricingError, match="Unknown action “teleport”"):
        services.consume(client=own(data_provider), action="teleport", now=now)
    assert figures(data_provider) == before


def test_a_quote_shows_cost_and_balance_before_and_after_without_debiting_c5(data_provider, now):
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 30}, now=now
    )
    assert (recap.credits, recap.balance_before, recap.balance_after, recap.allowed) == (
        30,
        100,
        70,
        True,
    )
    assert recap.expires_at == now + timedelta(minutes=15)
    assert pool_of(data_provider) == (100, 0, 0)


def test_a_quote_says_plainly_when_credits_fall_short_c5(data_provider, now):
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 130}, now=now
    )
    assert (recap.allowed, recap.reason, recap.balance_after) == (
        False,
        "insufficient_credits",
        100,
    )
    assert recap.message == "Not enough credits: 130 needed, 100 available (30 short)."


def test_a_quote_names_the_limit_and_the_exhausted_assignment(make_organisation, now):
    studio = make_organisation("studio", preset="serious_game")
    services.grant(organisation=studio, credits=600, source="purchase", now=now)
    acme = client_services.create_client(organisation=studio, name="Acme Training")
    services.assign(organisation=studio, client=acme, credits=12, now=now)
    recap = services.quote(client=acme, action="enrolment", params={"learners": 3}, now=now)
    assert (recap.allowed, recap.reason) == (False, "assignment_exhausted")
    team = client_services.create_client(organisation=studio, name="Team")
    services.set_spending_limit(client=team, kind="monthly", limit=0, now=now)
    services.set_spending_limit(client=team, kind="monthly", limit=5, draws_from_pool=True, now=now)
    recap = services.quote(client=team, action="enrolment", params={"learners": 1}, now=now)
    assert (recap.allowed, recap.reason) == (False, "limit_reached")


def test_confirming_a_quote_charges_exactly_the_quoted_cost_c5(data_provider, now):
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 30}, now=now
    )
    # the rate changes after the quote was shown
    BillableAction.objects.filter(organisation=data_provider, code="data_export").update(credits=2)
    consumption = services.consume(
        client=own(data_provider), action="data_export", quote=recap, now=now + timedelta(minutes=5)
    )
    assert consumption.credits == 30
    recap.refresh_from_db()
    assert recap.consumption == consumption
    assert pool_of(data_provider) == (70, 0, 0)


def test_a_quote_past_its_validity_is_refused_and_nothing_moves_c5(data_provider, now):
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 30}, now=now
    )
    before = figures(data_provider)
    with pytest.raises(QuoteExpired, match=r"This quote expired at 10:15; ask for a new one\."):
        services.consume(
            client=own(data_provider),
            action="data_export",
            quote=recap,
            now=now + timedelta(minutes=15),
        )
    assert figures(data_provider) == before


def test_a_quote_no_longer_affordable_is_refused_with_the_shortfall_x6(data_provider, now):
    """C5, X6: someone spent meanwhile; the confirmation says how much is missing."""
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 80}, now=now
    )
    services.consume(client=own(data_provider), action="data_export", params={"rows": 50}, now=now)
    before = figures(data_provider)
    with pytest.raises(InsufficientCredits, match="80 needed, 50 available \\(30 short\\)"):
        services.consume(client=own(data_provider), action="data_export", quote=recap, now=now)
    assert figures(data_provider) == before
    recap.refresh_from_db()
    assert recap.consumption is None


def test_a_quote_is_used_once_but_a_retry_with_the_same_key_returns_the_same_consumption_x3(
    data_provider, now
):
    recap = services.quote(
        client=own(data_provider), action="data_export", params={"rows": 10}, now=now
    )
    first = services.consume(
        client=own(data_provider), action="data_export", quote=recap, now=now, idempotency_key="a"
    )
    again = services.consume(
        client=own(data_provider), action="data_export", quote=recap, now=now, idempotency_key="a"
    )
    assert again.pk == first.pk
    with pytest.raises(QuoteUsed):
        services.consume(client=own(data_provider), action="data_export", quote=recap, now=now)
    assert pool_of(data_provider) == (90, 0, 0)
    assert LedgerEntry.objects.filter(kind="debit").count() == 1
    assert ledger_drift() == []
