"""The periodic jobs in batches write exactly what one organisation at a time writes (D3, D4,
S2, S4, S8, M2, X1), and a run cut in the middle is finished by the next (issue 15).

The reference is the job as it was before batches, kept here: one transaction per
organisation (expiry) or per account (monthly reset), through the same per-pool path every
operation takes. Twin organisations get the same history through the services; the reference
runs on one twin, the batched job on the other, and every row they end with is compared:
pools, accounts, lots, holds and ledger entries (kinds, figures, `balance_after`, links).
"""

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from django.db import connection, transaction
from django.db.models import Count
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clients import services as client_services
from clients.models import ClientKind
from credits import services
from credits.audit import ledger_drift
from credits.exceptions import CreditsError
from credits.models import (
    ClientAccount,
    CreditPool,
    Hold,
    LedgerEntry,
    LimitKind,
    Lot,
)
from credits.periods import monthly_window_restart
from credits.services.core import Work, expire_due_locked, lock_pool, roll_monthly_window
from credits.services.core.lazy_expiry import expiry_is_due

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ZONES = ["Europe/Paris", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]


def reference_expire_due(now: datetime, only: list[int]) -> None:
    """The expiry job before batches, one transaction per organisation (of `only`) through
    the per-pool path, on the organisations whose expiry is due by the rule every operation
    applies (`expiry_is_due`: the pool's next expiry has come, or its inactivity deadline)."""
    for organisation_id in sorted(only):
        if expiry_is_due(CreditPool.objects.get(pk=organisation_id), now):
            with transaction.atomic():
                work = Work(pool=lock_pool(organisation_id), now=now)
                expire_due_locked(work, force=True)
                work.save()


def reference_reset_monthly(now: datetime, only: list[int]) -> None:
    """The monthly job before batches: one transaction per due account (of `only`)."""
    accounts = ClientAccount.objects.filter(
        limit_kind=LimitKind.MONTHLY, organisation_id__in=only
    ).select_related("organisation")
    for account in accounts.order_by("pk"):
        zone = account.organisation.time_zone
        if monthly_window_restart(
            limit_kind=account.limit_kind,
            window_start=account.window_start,
            now=now,
            time_zone=zone,
        ):
            with transaction.atomic():
                work = Work(pool=lock_pool(account.organisation_id), now=now)
                roll_monthly_window(work, work.account(account.pk), zone)
                work.save()


clients_ = st.lists(
    st.tuples(
        st.sampled_from(["none", "monthly", "fixed"]),
        # assigned (0: none, refused and left out); often the same for several clients, so
        # that a proportional split has ties to break (S8: the older client first)
        st.integers(0, 40) | st.just(12),
        # holds: credits, and hours until they expire (some outlive the run, some do not)
        st.lists(st.tuples(st.integers(1, 60), st.integers(1, 70 * 24)), max_size=2),
        st.lists(st.integers(1, 40), max_size=2),  # debits
    ),
    max_size=3,
)
organisations_ = st.lists(
    st.fixed_dictionaries(
        {
            "zone": st.sampled_from(ZONES),
            "expiry": st.sampled_from(["never", "after_purchase", "inactivity"]),
            "months": st.integers(1, 2),
            # (credits, expires in days or None for the policy)
            "lots": st.lists(
                st.tuples(st.integers(1, 200), st.none() | st.integers(1, 45)),
                min_size=1,
                max_size=4,
            ),
            "clients": clients_,
        }
    ),
    min_size=1,
    max_size=3,
)


def build(spec: dict, slug: str, owner) -> int:
    """One organisation with the spec's history, through the services, at T0. A refused step
    moves nothing, and its twin is refused the same."""
    organisation = client_services.create_organisation(
        name=slug, slug=slug, owner=owner, time_zone=spec["zone"]
    )
    services.update_policy(
        organisation=organisation, expiry_kind=spec["expiry"], expiry_months=spec["months"]
    )
    for credits, days in spec["lots"]:
        expiry = {} if days is None else {"expires_at": T0 + timedelta(days=days)}
        services.grant(
            organisation=organisation, credits=credits, source="purchase", now=T0, **expiry
        )
    for number, (limit_kind, assigned, holds, debits) in enumerate(spec["clients"]):
        client = client_services.create_client(
            organisation=organisation, name=f"List {number}", kind=ClientKind.LIST
        )
        limit = None if limit_kind == "none" else 80
        services.set_spending_limit(client=client, kind=limit_kind, limit=limit, now=T0)
        with suppress(CreditsError):
            services.assign(organisation=organisation, client=client, credits=assigned, now=T0)
        for credits, hours in holds:
            with suppress(CreditsError):
                services.hold(
                    client=client, credits=credits, now=T0, expires_at=T0 + timedelta(hours=hours)
                )
        for credits in debits:
            with suppress(CreditsError):
                services.debit(client=client, credits=credits, action_code="x", now=T0)
    return organisation.pk


def snapshot(organisation_id: int) -> dict:
    """Every row of the organisation's ledger, with links as positions (the twins' ids differ)."""
    lots = list(Lot.objects.filter(organisation_id=organisation_id).order_by("pk"))
    accounts = list(
        ClientAccount.objects.filter(organisation_id=organisation_id)
        .select_related("client")
        .order_by("pk")
    )
    holds = list(Hold.objects.filter(organisation_id=organisation_id).order_by("pk"))
    lot_at = {lot.pk: index for index, lot in enumerate(lots)}
    client_at = {
        account.pk: "own" if account.client.kind == ClientKind.OWN else account.client.name
        for account in accounts
    }
    hold_at = {hold.pk: index for index, hold in enumerate(holds)}
    pool = CreditPool.objects.get(pk=organisation_id)
    entries = LedgerEntry.objects.filter(organisation_id=organisation_id).order_by("pk")
    return {
        "pool": (
            pool.balance,
            pool.held,
            pool.assigned,
            pool.next_expiry_at,
            pool.last_activity_at,
        ),
        "lots": [(lot.remaining, lot.expires_at) for lot in lots],
        "accounts": [
            (client_at[a.pk], a.assigned_remaining, a.used, a.limit_kind, a.window_start)
            for a in accounts
        ],
        "holds": [(h.status, h.resolved_at, h.credits) for h in holds],
        "entries": [
            (
                e.kind,
                e.credits,
                e.held_delta,
                e.assigned_delta,
                e.used_delta,
                e.balance_after,
                lot_at.get(e.lot_id),
                client_at.get(e.client_id),
                hold_at.get(e.hold_id),
                e.created_at,
            )
            for e in entries
        ],
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=organisations_,
    days=st.integers(1, 100),
    batch=st.integers(1, 3),
    path=st.sampled_from(["in_database", "in_python"]),
)
# Always run: a split with ties (26 of 3 × 12 assigned: 9, 9, 8, the older clients first), and
# holds past their expiry on clients with and without a limit, partly from assigned credits.
@example(
    specs=[
        {
            "zone": "UTC",
            "expiry": "after_purchase",
            "months": 2,
            "lots": [(100, 5), (10, None)],
            "clients": [("none", 12, [], []), ("monthly", 12, [], []), ("none", 12, [], [])],
        }
    ],
    days=10,
    batch=1,
    path="in_database",
)
@example(
    specs=[
        {
            "zone": "Pacific/Kiritimati",
            "expiry": "after_purchase",
            "months": 1,
            "lots": [(60, 3), (50, None)],
            "clients": [("monthly", 12, [(20, 24)], [5]), ("none", 7, [(9, 30)], [])],
        }
    ],
    days=4,
    batch=2,
    path="in_database",
)
# And credits that expire for want of use (D3), from the unassigned and the assigned ones.
@example(
    specs=[
        {
            "zone": "Europe/Paris",
            "expiry": "inactivity",
            "months": 1,
            "lots": [(40, None), (25, 50)],
            "clients": [("fixed", 10, [], [3])],
        }
    ],
    days=40,
    batch=3,
    path="in_database",
)
def test_batched_jobs_write_exactly_what_one_organisation_at_a_time_writes(
    make_user, specs, days, batch, path
):
    """D3, D4, S2, S4, S8, M2, X1: on random organisations (time zones, policies, lots,
    assignments, holds, limits), the batched expiry and monthly reset leave every row as the
    per-organisation reference does, whatever the batch size; each batch both in the database
    (`credits_expire`, `credits_reset_monthly`: PostgreSQL's path) and in Python (SQLite's)."""
    from credits.services import assignments, expiry

    try:
        with transaction.atomic():
            owner = make_user("twins-owner")
            # Given twin organisations with the same histories
            twins = [
                (build(spec, f"ref-{n}", owner), build(spec, f"job-{n}", owner))
                for n, spec in enumerate(specs)
            ]
            later = T0 + timedelta(days=days)
            # When the reference runs on one twin, then the batched jobs (which find the
            # reference's twins already done) on every organisation
            references = [reference for reference, _batched in twins]
            reference_expire_due(later, references)
            with (
                patch.object(expiry, "_expire_batch", getattr(expiry, f"_expire_batch_{path}")),
                patch.object(
                    assignments, "_reset_batch", getattr(assignments, f"_reset_batch_{path}")
                ),
            ):
                services.expire_due(now=later, batch=batch)
                reference_reset_monthly(later, references)
                services.reset_monthly(now=later, batch=batch)
            # Then each pair of twins holds the same rows, and the ledger adds up
            for reference, batched in twins:
                assert snapshot(batched) == snapshot(reference)
            assert ledger_drift() == []
            raise _RollBack
    except _RollBack:
        pass


class _RollBack(Exception):
    """Ends an example without keeping its organisations (the jobs see every organisation)."""


@pytest.mark.django_db(transaction=True)
def test_a_run_cut_between_batches_is_finished_by_the_next_and_expires_each_lot_once(
    make_organisation, monkeypatch
):
    """Issue 15, D3, X1: the connection is terminated by the server after the second batch;
    the organisations of the batches that committed are done, the others untouched, and the
    next run expires the rest: every due lot once, the ledger clean."""
    from credits.services import expiry

    # Given 7 organisations with a lot past its expiry and one that is not
    ids = []
    for number in range(7):
        organisation = make_organisation(f"cut-{number}")
        services.grant(
            organisation=organisation,
            credits=10,
            source="purchase",
            now=T0,
            expires_at=T0 + timedelta(days=1),
        )
        services.grant(organisation=organisation, credits=5, source="purchase", now=T0)
        ids.append(organisation.pk)
    later = T0 + timedelta(days=2)
    # When the server ends the job's connection as it starts the third batch
    batches = []
    real_batch = expiry._expire_batch

    def cut_after_two(organisation_ids, now):
        if len(batches) == 2:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        batches.append(organisation_ids)
        return real_batch(organisation_ids, now)

    monkeypatch.setattr(expiry, "_expire_batch", cut_after_two)
    with pytest.raises(Exception, match=r"terminat|closed|connection"):
        services.expire_due(now=later, batch=3)
    connection.close()
    # Then the first two batches (6 organisations) are done and the seventh untouched
    expired = dict(
        LedgerEntry.objects.filter(kind="expiry", client__isnull=True)
        .values_list("organisation_id")
        .annotate(n=Count("pk"))
    )
    assert expired == dict.fromkeys(ids[:6], 1)
    # When the job runs again
    monkeypatch.setattr(expiry, "_expire_batch", real_batch)
    run = services.expire_due(now=later, batch=3)
    # Then it did the seventh only: every due lot expired once, and the ledger is clean
    assert (run.organisations, run.credits_expired) == (1, 10)
    expired = dict(
        LedgerEntry.objects.filter(kind="expiry", client__isnull=True)
        .values_list("organisation_id")
        .annotate(n=Count("pk"))
    )
    assert expired == dict.fromkeys(ids, 1)
    assert (
        sorted(CreditPool.objects.filter(pk__in=ids).values_list("balance", flat=True)) == [5] * 7
    )
    assert ledger_drift() == []
