"""On PostgreSQL a debit is one statement (`credits_debit`, credits/sql/credits_debit.sql); the
Python path is the reference, and both must write exactly the same rows (D4, S5, S8, M2, X1,
X3, X6). The Python rules the function relies on are also checked on SQLite, on the cases this
module runs on PostgreSQL too, in tests/credits/test_rule_twins.py.

The differential test replays random histories (grants with and without expiry, assignments,
limits of every kind, holds, debits with and without idempotency keys, time crossing month
ends and expiries) twice, once with each path, and compares every row either wrote: ledger
entries, consumptions, lots, pool and client figures, idempotency keys, and what each call
returned or refused.

Since issue 12 the histories also quote and consume (C1, C5): consumptions of a flat and a free
action, with and without a key, of the latest quote (read now, or read before anyone confirmed
it), and price changes made behind the rate-card cache's back, as another process would. Both
paths must claim each quote once, answer QuoteUsed alike, and never charge a stale price.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clients import services as client_services
from clients.models import ClientKind
from credits import services
from credits.audit import ledger_drift
from credits.exceptions import CreditsError, InsufficientCredits, LimitExceeded
from credits.models import (
    BillableAction,
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    IdempotencyKey,
    LedgerEntry,
    Lot,
    Quote,
    RuleKind,
)
from credits.presets import PRESETS
from credits.services import database_debit
from credits.services.spending import _debit_fingerprint
from tests.credits.conftest import figures
from tests.credits.test_rule_twins import WINDOW_CASES

database_debit_in_database = database_debit.debit_in_database

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SLUGS = itertools.count(1)
START = datetime(2026, 1, 27, 9, 0, tzinfo=UTC)
CLIENTS = ("own", "list", "sub", "customer")


# --- histories -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    operation: str
    client: int = 0
    credits: int = 0
    days: int = 0  # the clock moves forward this much before the step
    key: str = ""
    option: str = ""
    expires_in: int | None = None


credits = st.integers(min_value=1, max_value=400)
days = st.sampled_from([0, 0, 0, 1, 3, 9, 17, 31, 45])
debits = st.builds(
    Step,
    operation=st.just("debit"),
    client=st.integers(0, 3),
    credits=st.integers(min_value=1, max_value=150),
    days=days,
    key=st.sampled_from(["", "", "", "retry-1", "retry-2"]),
)
grants = st.builds(
    Step,
    operation=st.just("grant"),
    credits=credits,
    days=st.sampled_from([0, 0, 1, 9, 31]),
    expires_in=st.sampled_from([None, None, 5, 20, 40, 90]),
)
consumes = st.builds(
    Step,
    operation=st.just("consume"),
    client=st.integers(0, 3),
    days=st.sampled_from([0, 0, 0, 1, 31]),
    key=st.sampled_from(["", "", "consume-1", "consume-2"]),
    option=st.sampled_from(["", "quote", "quote", "quote read early", "free"]),
)
quotes = st.builds(Step, operation=st.just("quote"), client=st.integers(0, 3))
steps = st.one_of(
    debits,
    debits,
    consumes,
    consumes,
    consumes,
    quotes,
    quotes,
    st.builds(Step, operation=st.just("reprice"), credits=st.integers(0, 60)),
    grants,
    st.builds(Step, operation=st.just("assign"), client=st.integers(1, 3), credits=credits),
    st.builds(
        Step,
        operation=st.just("limit"),
        client=st.integers(0, 3),
        credits=st.integers(0, 500),
        days=days,
        option=st.sampled_from(["none", "monthly", "fixed"]),
    ),
    st.builds(
        Step,
        operation=st.just("hold"),
        client=st.integers(0, 3),
        credits=credits,
        days=days,
        expires_in=st.sampled_from([1, 10, 40]),
    ),
)
# A few grants first (often on the same day: lots that tie in the spending order), then
# anything, debits twice as often as the rest.
histories = st.tuples(
    st.sampled_from(sorted(PRESETS)),
    st.lists(grants, min_size=1, max_size=4),
    st.lists(steps, min_size=1, max_size=25),
)


# --- running one history with one path -----------------------------------------------------


def _run(preset: str, history: list[Step], *, in_database: bool) -> dict:
    """Replay the history in a new organisation inside a savepoint that is rolled back, and
    return every row written, with ids replaced by their rank so the two runs compare."""
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        savepoint = transaction.savepoint()
        try:
            return _replay(preset, history)
        finally:
            transaction.savepoint_rollback(savepoint)


def _replay(preset: str, history: list[Step]) -> dict:
    slug = f"diff-{next(SLUGS)}"
    owner = get_user_model().objects.create_user(username=slug)
    organisation = client_services.create_organisation(
        name=slug, slug=slug, owner=owner, preset=preset
    )
    clients = [organisation.clients.get(kind=ClientKind.OWN)] + [
        client_services.create_client(organisation=organisation, name=name, kind=kind)
        for name, kind in (
            ("list", ClientKind.LIST),
            ("sub", ClientKind.SUB_ACCOUNT),
            ("customer", ClientKind.CUSTOMER),
        )
    ]
    for code, rule, price in (("flat", RuleKind.FLAT, 5), ("free", RuleKind.FREE, 0)):
        services.save_action(
            action=BillableAction(
                organisation=organisation, code=code, name=code.title(), rule=rule, credits=price
            )
        )
    now = START
    outcomes = []
    fingerprints = {}  # what each key's first request must have stored (client ids differ)
    quotes: list[int] = []
    for step in history:
        now += timedelta(days=step.days)
        client = clients[step.client]
        if step.operation == "debit" and step.key and step.key not in fingerprints:
            fingerprints[step.key] = _debit_fingerprint(
                client, step.credits, "send", {"to": step.client}, step.key
            )
        try:
            with transaction.atomic():
                if step.operation == "consume":
                    outcomes.append(_consume(step, organisation, client, now, quotes, fingerprints))
                else:
                    outcomes.append(_apply(step, organisation, client, now, quotes))
        except CreditsError as refusal:
            outcomes.append((type(refusal).__name__, str(refusal)))
    return _rows(organisation, outcomes, fingerprints)


def _consume(step: Step, organisation, client, now: datetime, quotes, fingerprints) -> tuple:
    """Consume the flat or the free action, or the latest quote: as read now, or as a request
    read it before anyone confirmed it (only the debit's lock can then refuse it)."""
    quote = None
    if step.option.startswith("quote"):
        if not quotes:
            return ("no quote yet",)
        quote = Quote.objects.select_related("client__organisation").get(pk=quotes[-1])
        if step.option == "quote read early":
            quote.consumption_id = None
        client, code, price = quote.client, "flat", quote.credits
    else:
        code = "free" if step.option == "free" else "flat"
        price = BillableAction.objects.get(organisation=organisation, code=code).credits
    if step.key and step.key not in fingerprints:
        fingerprints[step.key] = _debit_fingerprint(
            client, price, code, {}, step.key, None if quote is None else quote.pk
        )
    consumption = services.consume(
        client=client, action=code, quote=quote, idempotency_key=step.key, now=now
    )
    assert consumption.credits == price, "no stale price is ever charged"
    stored = Consumption.objects.get(pk=consumption.pk)
    assert _fields(consumption) == _fields(stored), "the returned consumption is the row"
    if quote is not None:
        assert Quote.objects.get(pk=quote.pk).consumption_id == consumption.pk
    return ("consumed", *_fields(consumption)[3:])


def _apply(step: Step, organisation, client, now: datetime, quotes: list[int]) -> tuple:
    if step.operation == "quote":
        recap = services.quote(client=client, action="flat", params={}, now=now)
        quotes.append(recap.pk)
        return ("quoted", recap.credits, recap.balance_before, recap.allowed, recap.reason)
    if step.operation == "reprice":
        # Another process changes the price: the cache of this one is not told.
        BillableAction.objects.filter(organisation=organisation, code="flat").update(
            credits=step.credits
        )
        return ("repriced",)
    if step.operation == "debit":
        consumption = services.debit(
            client=client,
            credits=step.credits,
            action_code="send",
            description="A send",
            params={"to": step.client},
            idempotency_key=step.key,
            now=now,
        )
        stored = Consumption.objects.get(pk=consumption.pk)
        assert _fields(consumption) == _fields(stored), "the returned consumption is the row"
        return ("debited", *_fields(consumption)[3:])
    if step.operation == "grant":
        expires_at = now + timedelta(days=step.expires_in) if step.expires_in else services.DEFAULT
        services.grant(
            organisation=organisation,
            credits=step.credits,
            source="purchase",
            expires_at=expires_at,
            now=now,
        )
        return ("granted",)
    if step.operation == "assign":
        services.assign(organisation=organisation, client=client, credits=step.credits, now=now)
        return ("assigned",)
    if step.operation == "limit":
        limit = None if step.option == "none" else step.credits
        services.set_spending_limit(client=client, kind=step.option, limit=limit, now=now)
        return ("limited",)
    services.hold(
        client=client,
        credits=step.credits,
        expires_at=now + timedelta(days=step.expires_in),
        now=now,
    )
    return ("held",)


def _fields(consumption: Consumption) -> tuple:
    return tuple(getattr(consumption, name) for name in database_debit.CONSUMPTION_COLUMNS)


def _rank(ids) -> dict:
    return {pk: rank for rank, pk in enumerate(sorted(ids), 1)}


def _rows(organisation, outcomes: list[tuple], fingerprints: dict[str, str]) -> dict:
    lots = Lot.objects.filter(organisation=organisation)
    consumptions = Consumption.objects.filter(organisation=organisation)
    holds = Hold.objects.filter(organisation=organisation)
    lot_rank = _rank(lots.values_list("pk", flat=True))
    consumption_rank = _rank(consumptions.values_list("pk", flat=True))
    hold_rank = _rank(holds.values_list("pk", flat=True))
    client_name = {
        pk: "own" if kind == ClientKind.OWN else name
        for pk, kind, name in organisation.clients.values_list("pk", "kind", "name")
    }
    pool = CreditPool.objects.get(pk=organisation.pk)
    return {
        "outcomes": outcomes,
        "quotes": [
            (client_name[row.client_id], row.credits, consumption_rank.get(row.consumption_id))
            for row in Quote.objects.filter(organisation=organisation).order_by("pk")
        ],
        "entries": [
            (
                entry.kind,
                entry.credits,
                entry.held_delta,
                entry.assigned_delta,
                entry.used_delta,
                entry.balance_after,
                lot_rank.get(entry.lot_id),
                client_name.get(entry.client_id),
                consumption_rank.get(entry.consumption_id),
                hold_rank.get(entry.hold_id),
                entry.idempotency_key,
                entry.created_at,
            )
            for entry in LedgerEntry.objects.filter(organisation=organisation).order_by("pk")
        ],
        "consumptions": [
            (
                client_name[row.client_id],
                row.action_code,
                row.description,
                row.params,
                row.credits,
                row.from_assigned,
                row.from_pool,
                hold_rank.get(row.hold_id),
                row.created_at,
            )
            for row in consumptions.order_by("pk")
        ],
        "lots": [(lot_rank[lot.pk], lot.remaining, lot.live) for lot in lots.order_by("pk")],
        "pool": (
            pool.balance,
            pool.held,
            pool.assigned,
            pool.last_activity_at,
            pool.next_expiry_at,
        ),
        "accounts": [
            (client_name[a.pk], a.assigned_remaining, a.used, a.limit_kind, a.window_start)
            for a in ClientAccount.objects.filter(organisation=organisation).order_by("pk")
        ],
        "keys": [
            (
                k.key,
                k.operation,
                k.fingerprint == fingerprints.get(k.key),
                consumption_rank.get(k.result_id),
            )
            for k in IdempotencyKey.objects.filter(organisation=organisation).order_by("pk")
        ],
        "drift": [str(drift) for drift in ledger_drift([organisation.pk])],
    }


# --- the tests -----------------------------------------------------------------------------


def _consumes(client: int = 0, **values) -> Step:
    return Step("consume", client=client, **values)


# Histories every run replays, beside the random ones: the quote and rate-card paths in turn.
QUOTES_CLAIMED_ONCE = (
    "crm",
    [Step("grant", credits=200)],
    [
        Step("quote", client=0),
        _consumes(option="quote", key="consume-1"),  # claims it
        _consumes(option="quote read early"),  # the debit's lock refuses it: QuoteUsed
        _consumes(option="quote", key="consume-1"),  # the same request again: replayed
        _consumes(option="quote read early", key="consume-2"),  # a new key: QuoteUsed
        Step("quote", client=1),
        Step("reprice", credits=9),  # the quote keeps its price; the card is read again
        _consumes(option="quote read early", key="consume-2"),
    ],
)
STALE_CARDS_REPRICED = (
    "sms",
    [Step("grant", credits=300)],
    [
        _consumes(),  # the card is now cached
        Step("reprice", credits=7),
        _consumes(),  # charged 7, not 5
        _consumes(option="free"),
        Step("reprice", credits=0),  # a flat action at 0: the free branch, version checked
        _consumes(client=2),
        Step("reprice", credits=12),
        _consumes(client=2, key="consume-1"),
        _consumes(client=2, key="consume-1"),  # replayed at 12
        Step("reprice", credits=13),
        _consumes(client=2, key="consume-1"),  # another price: IdempotencyConflict
    ],
)
QUOTE_WHILE_EXPIRY_IS_DUE = (
    "data_provider",
    [Step("grant", credits=100, expires_in=5), Step("grant", credits=200)],
    [
        _consumes(),
        Step("quote", client=0, days=6),
        Step("reprice", credits=4),
        _consumes(option="quote"),  # repriced, then expiry due: the Python path claims it
        _consumes(option="quote read early"),
    ],
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=histories)
@example(history=QUOTES_CLAIMED_ONCE)
@example(history=STALE_CARDS_REPRICED)
@example(history=QUOTE_WHILE_EXPIRY_IS_DUE)
def test_the_database_debit_writes_exactly_what_the_python_debit_writes(history):
    """D4, S5, S8, M2, X1, X3, X6, C1, C5: same rows, same answers, same refusals, on any
    history; each quote claimed once, and no stale price charged."""
    preset, first_grants, later_steps = history
    steps_ = first_grants + later_steps
    # Given the same history, When it runs once through each path
    reference = _run(preset, steps_, in_database=False)
    in_database = _run(preset, steps_, in_database=True)
    # Then every row and every answer is the same, and neither run drifts
    assert in_database == reference
    assert reference["drift"] == []


def test_a_debit_on_postgresql_is_one_statement_that_commits_itself(organisation, now):
    """The hot path: one round trip, no BEGIN or COMMIT of its own."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    # When a debit runs
    with CaptureQueriesContext(connection) as captured:
        consumption = services.debit(client=own, credits=7, action_code="send", now=now)
    # Then it was one statement, and the consumption it returns is the stored row
    assert [query["sql"].split("(")[0] for query in captured.captured_queries] == [
        "SELECT outcome, result_id, from_assigned, from_pool, needed, available, limit_credits"
        " FROM credits_debit"
    ]
    assert _fields(consumption) == _fields(Consumption.objects.get(pk=consumption.pk))
    assert figures(organisation)["pool"] == (93, 0, 0)


def test_when_expiry_is_due_the_python_path_expires_then_debits_d3(organisation, now):
    """The function hands the debit back rather than expire anything itself (S8 is Python's)."""
    services.grant(
        organisation=organisation,
        credits=40,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    later = now + timedelta(days=2)
    answers = []

    def spy(db, **arguments):
        answers.append(database_debit_in_database(db, **arguments))
        return answers[-1]

    with mock.patch.object(database_debit, "debit_in_database", spy):
        # When a debit comes after the promotion's expiry
        services.debit(client=own, credits=10, action_code="send", now=later)
    # Then the function answered "expiry due", and the Python path expired 40 and debited 10
    assert answers == [None]
    assert figures(organisation)["pool"] == (90, 0, 0)
    kinds = list(
        LedgerEntry.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("kind", "credits")
    )
    assert kinds == [("grant", 40), ("grant", 100), ("expiry", -40), ("debit", -10)]


@pytest.mark.parametrize("in_database", [True, False], ids=["database", "python"])
def test_a_debit_the_lots_cannot_pay_is_refused_and_moves_nothing_x1(
    organisation, now, in_database
):
    """If the pool's figures and its lots ever disagreed, a debit is refused rather than
    writing a ledger that does not add up; ledger_check names the drift."""
    lot = services.grant(organisation=organisation, credits=50, source="purchase", now=now)
    Lot.objects.filter(pk=lot.pk).update(remaining=20)  # a drift only a bug could make
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    with (
        override_settings(CREDITS_DEBIT_IN_DATABASE=in_database),
        pytest.raises(InsufficientCredits) as refusal,
    ):
        services.debit(client=own, credits=30, action_code="send", now=now)
    assert (refusal.value.needed, refusal.value.available) == (30, 20)
    assert figures(organisation) == before


def _row_version(client) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ctid::text FROM credits_clientaccount WHERE client_id = %s", [client.pk]
        )
        return cursor.fetchone()[0]


def test_a_debit_that_changes_nothing_of_the_client_leaves_its_row_unwritten(
    organisation, make_client, now
):
    """D4, S5: without a limit and without assigned credits, a debit writes the pool, the lot
    and the ledger, not the client's account (an UPDATE would make a new row version)."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    free, limited = make_client("Free"), make_client("Limited")
    services.set_spending_limit(client=limited, kind="fixed", limit=50, now=now)
    free_before, limited_before = _row_version(free), _row_version(limited)
    # When each spends 10 credits from the pool
    services.debit(client=free, credits=10, action_code="send", now=now)
    services.debit(client=limited, credits=10, action_code="send", now=now)
    # Then only the limited client's row was written (its counter moved)
    assert _row_version(free) == free_before
    assert _row_version(limited) != limited_before
    assert [ClientAccount.objects.get(pk=c.pk).used for c in (free, limited)] == [0, 10]
    assert figures(organisation)["pool"] == (80, 0, 0)


@pytest.mark.parametrize("case", WINDOW_CASES.values(), ids=WINDOW_CASES.keys())
@pytest.mark.parametrize("in_database", [True, False], ids=["database", "python"])
def test_both_debits_roll_the_monthly_window_at_the_expected_instant_d4(
    organisation, make_client, case, in_database
):
    """D4, issue 14: the SQL debit's window block and its Python twin
    (credits.periods.monthly_window_restart) give the values tests/credits/test_rule_twins.py
    holds the Python side to on SQLite: a window from last month restarts at the
    organisation's month start (across DST changes), a current one does not."""
    # Given a client with a monthly limit of 50 that used 45 in the window stored
    services.grant(organisation=organisation, credits=500, source="purchase", now=case.now)
    client = make_client("Monthly")
    services.set_spending_limit(client=client, kind="monthly", limit=50, now=case.now)
    ClientAccount.objects.filter(pk=client.pk).update(used=45, window_start=case.window_start)
    # When it spends 20 through one path
    refused = False
    with override_settings(CREDITS_DEBIT_IN_DATABASE=in_database):
        try:
            services.debit(client=client, credits=20, action_code="send", now=case.now)
        except LimitExceeded:
            refused = True
    account = ClientAccount.objects.get(pk=client.pk)
    # Then a rolled window starts at the expected instant and counts only the 20; a current
    # one keeps its start and refuses 20 over its 5 left
    if case.restart is not None:
        assert (refused, account.window_start, account.used) == (False, case.restart, 20)
    else:
        assert (refused, account.window_start, account.used) == (True, case.window_start, 45)
