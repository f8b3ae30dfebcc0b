"""The fast consume path (issue 12): `consume` prices from each process's rate-card cache
(credits/ratecards.py) and makes one call of the debit, which claims the quote and checks the
card's version under the pool lock (C1, C5, X1, X2, X3, X6).

"Another process" changing the rate card is simulated by writing the rows behind the services'
back (an ORM `update`/`create` or raw SQL), so this process's cache is not told: only the
version the database triggers set can say the card changed.
"""

import dataclasses
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from clients import services as client_services
from clients.models import Client, ClientKind
from credits import ratecards, services
from credits.audit import ledger_drift
from credits.exceptions import (
    InsufficientCredits,
    LimitExceeded,
    PricingError,
    QuoteExpired,
    QuoteMismatch,
    QuoteUsed,
)
from credits.models import (
    ActionPrice,
    BillableAction,
    Consumption,
    CreditPool,
    Quote,
    RuleKind,
    SmsRate,
)
from credits.pricing import match_key
from credits.services import ratecard as ratecard_services
from credits.services import spending
from tests.concurrency.threads import run_together
from tests.credits.conftest import figures, pool_of

pytestmark = pytest.mark.django_db

PATHS = pytest.mark.parametrize("in_database", [True, False], ids=["database", "python"])


@pytest.fixture(autouse=True)
def _no_card_from_another_test():
    ratecards.clear()
    yield
    ratecards.clear()


@pytest.fixture
def shop(make_organisation, now):
    """100 purchased credits and a flat action "send" at 3 credits."""
    organisation = make_organisation("shop", name="Shop")
    _flat(organisation, "send", 3)
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    return organisation


def _flat(organisation, code: str, credits: int, rule: str = RuleKind.FLAT) -> BillableAction:
    return services.save_action(
        action=BillableAction(
            organisation=organisation, code=code, name=code.title(), rule=rule, credits=credits
        )
    )


def own(organisation) -> Client:
    """As a view holds it: the organisation loaded with the client."""
    return Client.objects.select_related("organisation").get(
        organisation=organisation, kind=ClientKind.OWN
    )


def version_of(organisation) -> int:
    return CreditPool.objects.get(pk=organisation.pk).rate_card_version


def _set_price_elsewhere(organisation, code: str, credits: int) -> None:
    """Another process changes a price: raw SQL, so this process's cache hears nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE credits_billableaction SET credits = %s WHERE organisation_id = %s"
            " AND code = %s",
            [credits, organisation.pk, code],
        )


# --- a rate card changed behind the cache ---------------------------------------------------


@PATHS
def test_a_price_changed_by_another_process_is_charged_at_the_new_price_c5(shop, now, in_database):
    """C5, X6: the cached card priced 3; the debit says the card changed; `consume` reads it
    again and charges 5. No stale price is ever charged."""
    client = own(shop)
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        # Given a warm cache that priced "send" at 3
        services.consume(client=client, action="send", now=now)
        # When another process sets the price to 5
        _set_price_elsewhere(shop, "send", 5)
        assert ratecards.card(shop.pk).by_code["send"].credits == 3, "the cache is stale"
        with mock.patch.object(ratecard_services, "debit", wraps=spending.debit) as calls:
            consumption = services.consume(client=client, action="send", now=now)
    # Then the first debit was priced at 3 and refused as repriced, the second charged 5
    assert [call.kwargs["credits"] for call in calls.call_args_list] == [3, 5]
    assert consumption.credits == 5
    assert ratecards.card(shop.pk).version == version_of(shop)
    assert pool_of(shop) == (92, 0, 0)
    assert ledger_drift([shop.pk]) == []


@PATHS
def test_an_action_added_by_another_process_is_found_c1(shop, now, in_database):
    """A refusal ("unknown action") from a cached card stands only once a fresh read agrees."""
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # the card is cached
    BillableAction.objects.create(
        organisation=shop, code="export", name="Export", rule=RuleKind.FLAT, credits=7
    )
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        consumption = services.consume(client=client, action="export", now=now)
    assert (consumption.action_code, consumption.credits) == ("export", 7)
    assert pool_of(shop) == (90, 0, 0)


@PATHS
def test_an_action_switched_off_by_another_process_is_refused_and_moves_nothing_x6(
    shop, now, in_database
):
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # the card is cached
    BillableAction.objects.filter(organisation=shop, code="send").update(is_active=False)
    before = figures(shop)
    with (
        override_settings(CREDITS_DEBIT_IN_DATABASE=in_database),
        pytest.raises(PricingError, match=r"“Send” is not available\."),
    ):
        services.consume(client=client, action="send", now=now)
    assert figures(shop) == before


def test_a_refusal_from_a_current_card_costs_one_look_at_the_pools_version_x6(shop, now):
    """X6: bad input is refused from the cache after one query on the pool's primary key (has
    the card changed?), not a new read of the card, and moves nothing."""
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # the card is cached
    cached, before = ratecards.card(shop.pk), figures(shop)
    with (
        CaptureQueriesContext(connection) as captured,
        pytest.raises(PricingError, match="Unknown action “teleport”"),
    ):
        services.consume(client=client, action="teleport", now=now)
    (query,) = captured.captured_queries
    assert query["sql"].startswith('SELECT "credits_creditpool"."rate_card_version"')
    assert f'WHERE "credits_creditpool"."organisation_id" = {shop.pk}' in query["sql"]
    assert ratecards.card(shop.pk) is cached
    assert figures(shop) == before


@PATHS
def test_a_free_action_priced_by_a_stale_card_is_charged_at_its_new_price_c1(
    shop, now, in_database
):
    """C1: a free action is recorded without a lock, but its card's version is still checked:
    an action that stopped being free is charged."""
    client = own(shop)
    _flat(shop, "look", 0, rule=RuleKind.FREE)
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        free = services.consume(client=client, action="look", now=now)
        BillableAction.objects.filter(organisation=shop, code="look").update(
            rule=RuleKind.FLAT, credits=2
        )
        paid = services.consume(client=client, action="look", now=now)
    assert (free.credits, paid.credits) == (0, 2)
    assert pool_of(shop) == (98, 0, 0)


@PATHS
def test_a_hold_priced_by_a_stale_card_holds_the_new_price_s2(shop, now, in_database):
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # the card is cached
    _set_price_elsewhere(shop, "send", 11)
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        held = services.hold_action(
            client=client, action="send", params={}, expires_at=now + timedelta(hours=1), now=now
        )
    assert held.credits == 11
    assert pool_of(shop) == (97, 11, 0)


def test_a_quote_made_after_a_change_by_another_process_shows_the_new_price_c5(shop, now):
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # the card is cached
    _set_price_elsewhere(shop, "send", 8)
    recap = services.quote(client=client, action="send", params={}, now=now)
    assert (recap.credits, recap.balance_before, recap.balance_after) == (8, 97, 89)


@PATHS
def test_a_card_changing_at_every_attempt_is_priced_at_last_under_the_pool_lock(
    shop, now, in_database
):
    """The retries are bounded: after two stale cards the last attempt reads the card while
    holding the pool lock, which every change of the card needs, so it is current."""
    client = own(shop)
    real = ratecards.reload(shop.pk)
    stale = dataclasses.replace(real, version=real.version - 1)
    with (
        override_settings(CREDITS_DEBIT_IN_DATABASE=in_database),
        mock.patch.object(ratecards, "card", return_value=stale),
        mock.patch.object(ratecard_services, "debit", wraps=spending.debit) as calls,
    ):
        consumption = services.consume(client=client, action="send", now=now)
    assert [call.kwargs["rate_card_version"] for call in calls.call_args_list] == [
        stale.version,
        stale.version,
        real.version,
    ]
    assert consumption.credits == 3
    assert pool_of(shop) == (97, 0, 0)


# --- the version the triggers keep ----------------------------------------------------------


def test_every_change_of_a_rate_card_sets_a_new_version_and_moves_no_figure(
    shop, make_organisation, now
):
    """X1: actions, their prices by parameters and SMS rates, on insert, update and delete,
    each set the pool's version anew (another organisation's stays); no figure moves and
    ledger_check ignores the version."""
    other = make_organisation("other")
    other_version, figures_before = version_of(other), figures(shop)
    seen = [version_of(shop)]

    def changed() -> bool:
        seen.append(version_of(shop))
        return seen[-1] != seen[-2]

    table = BillableAction.objects.create(
        organisation=shop,
        code="translate",
        name="Translate",
        rule=RuleKind.TABLE,
        table_params=["lang"],
    )
    assert changed()
    row = ActionPrice.objects.create(
        action=table, match={"lang": "fr"}, match_key=match_key({"lang": "fr"}), credits=4
    )
    assert changed()
    ActionPrice.objects.filter(pk=row.pk).update(credits=5)
    assert changed()
    row.delete()
    assert changed()
    rate = SmsRate.objects.create(
        organisation=shop, country="FR", name="France", calling_code="33", credits_per_segment=1
    )
    assert changed()
    SmsRate.objects.filter(pk=rate.pk).update(credits_per_segment=2)
    assert changed()
    rate.delete()
    assert changed()
    BillableAction.objects.filter(pk=table.pk).update(name="Translate!")
    assert changed()
    table.delete()
    assert changed()
    assert len(set(seen)) == len(seen), "a version is never handed out twice"
    assert version_of(other) == other_version
    assert figures(shop) == figures_before
    assert ledger_drift([shop.pk, other.pk]) == []


def test_a_cold_card_is_read_in_one_query_with_its_version(shop):
    """The version and every action in one query (a flat-only card needs nothing else)."""
    with CaptureQueriesContext(connection) as captured:
        card = ratecards.reload(shop.pk)
    assert len(captured.captured_queries) == 1
    assert card.version == version_of(shop)
    assert sorted(card.by_code) == ["send"]


def test_a_card_with_table_and_sms_rules_holds_every_row_pricing_needs(make_organisation, now):
    """D2, S1: priced from the cache with no query at all."""
    organisation = make_organisation("mixed", preset="translation")
    services.install_rate_card(organisation=organisation, preset="sms")
    france = SmsRate.objects.get(organisation=organisation, country="FR").credits_per_segment
    card = ratecards.reload(organisation.pk)
    with CaptureQueriesContext(connection) as captured:
        page = card.price(
            card.action("translation"), {"service": "legal", "complexity": "complex", "pages": 3}
        )
        sms = card.price(card.action("sms"), {"text": "Hello", "recipients": ["FR", "FR"]})
    assert captured.captured_queries == []
    assert page.credits == 360
    assert sms.credits == 2 * france


# --- refusals move nothing ------------------------------------------------------------------


@PATHS
@pytest.mark.parametrize(
    "refusal", ["insufficient", "limit", "quote_used", "quote_expired", "quote_mismatch"]
)
def test_a_refused_consume_moves_no_figure_x6(shop, now, in_database, refusal):
    """X6: whatever refuses it, the pool, the accounts, the lots, the entries and the quote
    stay exactly as they were."""
    client = own(shop)
    _flat(shop, "big", 500)
    recap = services.quote(client=client, action="send", params={}, now=now)
    read_before = Quote.objects.get(pk=recap.pk)  # another request's copy, read early
    call = {"client": client, "action": "send", "now": now}
    if refusal == "insufficient":
        call["action"], expected = "big", InsufficientCredits
    elif refusal == "limit":
        call["client"] = client_services.create_client(organisation=shop, name="Capped")
        services.set_spending_limit(client=call["client"], kind="fixed", limit=2, now=now)
        expected = LimitExceeded
    elif refusal == "quote_used":
        services.consume(client=client, action="send", quote=recap, now=now)
        call["quote"], expected = read_before, QuoteUsed
    elif refusal == "quote_expired":
        call["quote"], call["now"] = recap, now + timedelta(minutes=15)
        expected = QuoteExpired
    else:
        call["quote"], call["params"] = recap, {"rows": 3}
        expected = QuoteMismatch
    before = figures(shop)
    claimed_before = Quote.objects.get(pk=recap.pk).consumption_id
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database), pytest.raises(expected):
        services.consume(**call)
    assert figures(shop) == before
    assert Quote.objects.get(pk=recap.pk).consumption_id == claimed_before
    assert Consumption.objects.filter(organisation=shop).count() == (
        1 if refusal == "quote_used" else 0
    )


# --- PostgreSQL: one round trip, and racing consumers of one quote --------------------------


def _no_cursor(*_args, **_kwargs):
    raise AssertionError("consume opened a Django cursor")


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", ["send", "look"], ids=["flat", "free"])
def test_consume_outside_a_transaction_is_one_statement_with_a_warm_cache(shop, now, code):
    """The hot path: with the card cached, one statement and nothing else (observing queries
    sends it through a Django cursor, so the count is made there; the next test proves the
    unobserved call takes the prepared statement). A free action (C1) too."""
    _flat(shop, "look", 0, rule=RuleKind.FREE)
    client = own(shop)
    services.consume(client=client, action=code, now=now)  # warm: the card is read
    with CaptureQueriesContext(connection) as captured:
        consumption = services.consume(client=client, action=code, now=now)
    assert [query["sql"].split("(")[0] for query in captured.captured_queries] == [
        "SELECT outcome, result_id, from_assigned, from_pool, needed, available, limit_credits"
        " FROM credits_debit"
    ]
    stored = Consumption.objects.get(pk=consumption.pk)
    assert (consumption.action_code, consumption.credits, consumption.description) == (
        stored.action_code,
        stored.credits,
        stored.description,
    )
    assert pool_of(shop) == ((94, 0, 0) if code == "send" else (100, 0, 0))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_consume_outside_a_transaction_takes_the_prepared_statement(shop, now):
    """X1: unobserved, `consume` is one run of the statement prepared once per connection,
    which commits itself: no Django cursor, no transaction left open."""
    client = own(shop)
    services.consume(client=client, action="send", now=now)  # warm: the card is read
    with mock.patch.object(connection, "cursor", _no_cursor):
        consumption = services.consume(client=client, action="send", now=now)
    assert _prepared_statements() == ["credits_debit"]
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert Consumption.objects.get(pk=consumption.pk).credits == 3
    assert pool_of(shop) == (94, 0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_quote_is_claimed_by_the_prepared_statement_and_replayed_by_its_key_x3(shop, now):
    """C5, X3: outside a transaction the claim is part of the one statement, and so is the
    refusal of a claimed quote; the same key answers the same consumption (read back)."""
    client = own(shop)
    recap = services.quote(client=client, action="send", params={}, now=now)
    copies = [Quote.objects.get(pk=recap.pk) for _ in range(3)]  # each read before any confirm
    with mock.patch.object(connection, "cursor", _no_cursor):
        first = services.consume(
            client=client, action="send", quote=copies[0], idempotency_key="k", now=now
        )
        with pytest.raises(QuoteUsed):
            services.consume(client=client, action="send", quote=copies[1], now=now)
    again = services.consume(
        client=client, action="send", quote=copies[2], idempotency_key="k", now=now
    )
    assert again.pk == first.pk
    assert Quote.objects.get(pk=recap.pk).consumption_id == first.pk
    assert pool_of(shop) == (97, 0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@PATHS
def test_eight_consumes_of_one_quote_at_once_make_one_consumption_c5_x2(
    shop, now, in_database, settings
):
    """C5, X2: eight requests that each read the quote before any confirmed it, racing: the
    quote is claimed exactly once, seven are told it was used, and the figures are exact."""
    settings.CREDITS_DEBIT_IN_DATABASE = in_database
    recap = services.quote(client=own(shop), action="send", params={}, now=now)
    requests = [(own(shop), Quote.objects.get(pk=recap.pk)) for _ in range(8)]

    def confirm(client: Client, quote: Quote):
        return lambda: services.consume(client=client, action="send", quote=quote, now=now)

    outcomes = run_together(*(confirm(client, quote) for client, quote in requests))
    made = [outcome for outcome in outcomes if isinstance(outcome, Consumption)]
    used = [outcome for outcome in outcomes if isinstance(outcome, QuoteUsed)]
    assert (len(made), len(used)) == (1, 7), outcomes
    assert list(Consumption.objects.filter(organisation=shop).values_list("pk", "credits")) == [
        (made[0].pk, 3)
    ]
    assert Quote.objects.get(pk=recap.pk).consumption_id == made[0].pk
    assert pool_of(shop) == (97, 0, 0)
    assert ledger_drift([shop.pk]) == []
