"""From "pay" to credits usable, and the deferred-revenue report (B6) on
a large ledger.

    scripts/with-test-services .venv/bin/python bench/purchase.py         # PostgreSQL, then SQLite
    .venv/bin/python bench/purchase.py --backends sqlite                   # no server needed
    scripts/with-test-services .venv/bin/python bench/purchase.py --part revenue --entries 1000000

Each backend runs in a process of its own (Django is set up once per process): PostgreSQL is
the wrapper's throw-away server (DATABASE_URL, `fsync=off`), SQLite a file in a temporary
folder. Each process migrates its empty database, then:

**pay** (`--part pay`). An organisation opened through `clients.services.create_organisation`
(preset serious_game: credits never expire) with the demo catalogue's EUR list and the
sandbox Visa on file (`demo.catalogue.set_up_billing`), as in `make demo`. One sample is what
the owner's "pay" costs the server, from the call to credits usable:
`billing.services.purchase(method="card", credits=120, idempotency_key=…)` (record and commit,
charge through the sandbox gateway, then one transaction for the invoice, the payment and
the grant; its delivery job is enqueued after commit) followed by a
`credits.services.debit` of 1 credit that must succeed. Beside it, in the same run and
interleaved sample by sample (so both see the same machine), the raw bound: a bare
`credits.services.grant` of the same 120 credits on another organisation, followed by the same
debit. The invoice's PDF and e-mail are not on this path: their job goes to the broker (Redis
under the wrapper, Celery's in-memory broker otherwise) for a worker, as in production.
Reported: median, p95 and mean of each over `--count` samples after `--warmup`, and the
queries of one sample.

**revenue** (`--part revenue`). `--organisations` organisations (time zones cycling over
Paris, New York and Tokyo) each buy credits at the start of every month for `--months` months
on enterprise terms through `billing.services.purchase`, and receive a promotion every three
months; then `--entries` ledger entries are written in bulk (COPY on PostgreSQL, `executemany`
on SQLite, chunks of 50,000): debits of 1–7 credits spread over each lot's month, three
quarters on the purchased lots and a quarter on the promotions (which the report leaves out).
They are not a consistent ledger (lots' `remaining` is left alone: the report reads entries
only). Then, timed: the selector `billing.selectors.revenue.deferred_revenue` over the
`--months` months (median of `--runs`), the admin page and its Excel export through a Django
test `Client` as a superuser; `--explain` prints the aggregate's plan (PostgreSQL).

Nothing is written outside the databases and the temporary folder, which is removed.
"""

import argparse
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The ledger benchmark's set-up and its view of the machine.
from ledger import code_version, migrate, server_facts, setup_django, wait_for_quiet_machine  # noqa: E402

BENCH_CODE = ("billing", "credits", "clients", "config")
PAY_CREDITS = 120  # the slider's example (G2): tier "from 100", 1.80 € a credit
CHUNK = 50_000
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo")


@dataclass
class Timings:
    name: str
    seconds: list[float]

    def ms(self, value: float) -> str:
        return f"{value * 1000:.2f}"

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds)

    def line(self) -> str:
        return (
            f"| {self.name} | {self.ms(self.median)} | {self.ms(self.p95)} | "
            f"{self.ms(self.mean)} | {self.ms(min(self.seconds))} | {self.ms(max(self.seconds))} |"
        )


def header() -> str:
    return "| what | median ms | p95 ms | mean ms | min ms | max ms |\n|---|--:|--:|--:|--:|--:|"


def describe_database() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        facts = server_facts()
        return (
            f"{facts['version'].split(' on ')[0]} (fsync={facts['fsync']}, "
            f"synchronous_commit={facts['synchronous_commit']})"
        )
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} (file in a temporary folder)"


def broker() -> str:
    from django.conf import settings

    return "Redis" if settings.REDIS_URL else "Celery's in-memory broker"


def jobs_to_the_broker() -> None:
    """Jobs (the invoice's PDF and e-mail) go to the broker for a worker, as in production,
    instead of running inline in this process as the embedded set-up does."""
    from config.celery import app

    app.conf.task_always_eager = False


def open_buyer(slug: str, now: datetime):
    from django.contrib.auth import get_user_model

    from clients import services as client_services
    from clients.models import ClientKind
    from demo.catalogue import install_catalogue, set_up_billing

    lists = install_catalogue()
    owner = get_user_model().objects.create_user(f"{slug}-owner", password=None)
    organisation = client_services.create_organisation(
        name=f"Bench {slug}", slug=slug, owner=owner, preset="serious_game"
    )
    set_up_billing(organisation, lists["standard"], enterprise=False, now=now)
    own = organisation.clients.get(kind=ClientKind.OWN)
    return organisation, owner, own


def pay_part(options) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from billing import services as billing
    from billing.models import PurchaseStatus
    from credits import services as credits
    from credits.models import LotSource

    jobs_to_the_broker()
    buyer, owner, buyer_own = open_buyer("pay", timezone.now())
    bound, _bound_owner, bound_own = open_buyer("bound", timezone.now())
    sample = 0

    def pay() -> tuple[float, float]:
        nonlocal sample
        sample += 1
        started = time.perf_counter()
        bought = billing.purchase(
            organisation=buyer,
            credits=PAY_CREDITS,
            method="card",
            actor=owner,
            idempotency_key=f"bench-pay-{sample}",
            now=timezone.now(),
        )
        paid = time.perf_counter()
        if bought.status != PurchaseStatus.PAID:
            sys.exit(f"purchase {bought.pk} ended {bought.status}: {bought.decline_reason}")
        credits.debit(client=buyer_own, credits=1, action_code="bench", now=timezone.now())
        return paid - started, time.perf_counter() - started

    def grant() -> tuple[float, float]:
        started = time.perf_counter()
        credits.grant(
            organisation=bound,
            credits=PAY_CREDITS,
            source=LotSource.PURCHASE,
            unit_cost="1.8000",
            reference="bench",
            now=timezone.now(),
        )
        granted = time.perf_counter()
        credits.debit(client=bound_own, credits=1, action_code="bench", now=timezone.now())
        return granted - started, time.perf_counter() - started

    for _ in range(options.warmup):
        pay()
        grant()
    with CaptureQueriesContext(connection) as paying:
        pay()
    with CaptureQueriesContext(connection) as granting:
        grant()

    load, background = wait_for_quiet_machine(
        options.max_load, options.max_background, options.patience
    )
    purchase_s, pay_s, grant_s, bound_s = [], [], [], []
    for _ in range(options.count):
        bought, usable = pay()
        purchase_s.append(bought)
        pay_s.append(usable)
        granted, usable = grant()
        grant_s.append(granted)
        bound_s.append(usable)
    after = os.getloadavg()

    pay_t = Timings("**pay → usable**: `purchase()` by card + debit of 1", pay_s)
    bound_t = Timings("raw bound: `grant()` + debit of 1", bound_s)
    print(
        f"\n### pay → usable on {connection.vendor}: {options.count} samples "
        f"(after {options.warmup} warm-up), {PAY_CREDITS} credits at 1.80 €"
    )
    print(f"database: {describe_database()}; jobs to {broker()}")
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in load)} (others busy "
        f"{background:.2f} cores); after: {' '.join(f'{x:.2f}' for x in after)}"
    )
    print(header())
    print(pay_t.line())
    print(Timings("of which `purchase()` (paid, lot granted)", purchase_s).line())
    print(bound_t.line())
    print(Timings("of which `grant()`", grant_s).line())
    print(
        f"ratio pay/bound: median {pay_t.median / bound_t.median:.1f}×, "
        f"p95 {pay_t.p95 / bound_t.p95:.1f}×; queries per sample: pay {len(paying)}, "
        f"bound {len(granting)}"
    )


def month_starts(last: date, months: int) -> list[date]:
    from billing.selectors.revenue import add_months

    return [add_months(last, -n) for n in range(months - 1, -1, -1)]


def revenue_part(options) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from billing import services as billing
    from billing.selectors.revenue import deferred_revenue, local_month_start
    from clients import services as client_services
    from clients.models import ClientKind
    from credits import services as credits
    from credits.models import LedgerEntry, Lot, LotSource
    from demo.catalogue import install_catalogue, set_up_billing

    jobs_to_the_broker()
    clock = time.perf_counter()
    lists = install_catalogue()
    staff = get_user_model().objects.create_superuser("bench-staff", password=None)
    this_month = timezone.localdate().replace(day=1)
    months = month_starts(this_month, options.months)
    lots: list[tuple[int, int, int, datetime, datetime]] = []  # lot, org, own, start, end
    for index in range(options.organisations):
        zone = ZONES[index % len(ZONES)]
        organisation = client_services.create_organisation(
            name=f"Revenue {index:03d}",
            slug=f"revenue-{index:03d}",
            owner=staff,
            preset="serious_game",
            time_zone=zone,
        )
        first = local_month_start(months[0], zone)
        set_up_billing(organisation, lists["standard"], enterprise=True, now=first)
        own = organisation.clients.get(kind=ClientKind.OWN).pk
        for number, month in enumerate(months):
            start = local_month_start(month, zone) + timedelta(hours=9)
            end = min(start + timedelta(days=27), timezone.now())
            bought = billing.purchase(
                organisation=organisation,
                credits=100_000,
                method="enterprise_terms",
                now=start,
            )
            lots.append((bought.lot_id, organisation.pk, own, start, end))
            if number % 3 == 0:
                promotion = credits.grant(
                    organisation=organisation,
                    credits=100_000,
                    source=LotSource.PROMOTION,
                    expires_at=None,
                    now=start,
                )
                lots.append((-promotion.pk, organisation.pk, own, start, end))
    set_up = time.perf_counter() - clock
    print(
        f"\n### deferred revenue on {connection.vendor}: {options.organisations} organisations "
        f"× {options.months} months, {options.entries:,} entries"
    )
    print(f"database: {describe_database()}")
    print(f"  {len(lots)} lots bought and granted through the services in {set_up:.1f} s")

    # Three quarters of the entries on purchased lots, a quarter on promotions.
    paid = [lot for lot in lots if lot[0] > 0]
    free = [lot for lot in lots if lot[0] < 0]
    columns = (
        "organisation_id, kind, credits, held_delta, assigned_delta, used_delta, balance_after,"
        " lot_id, client_id, reference, idempotency_key, created_at"
    )
    sql = f"INSERT INTO credits_ledgerentry ({columns}) VALUES ({', '.join(['%s'] * 12)})"

    def rows(first: int, count: int):
        for n in range(first, first + count):
            lot_id, organisation_id, own, start, end = (
                free[n % len(free)] if n % 4 == 3 else paid[n % len(paid)]
            )
            when = start + (end - start) * ((n * 7919) % 10_000) / 10_000
            yield (
                organisation_id,
                "debit",
                -(1 + n % 7),
                0,
                0,
                0,
                1000,
                abs(lot_id),
                own,
                "",
                "",
                when,
            )

    clock = time.perf_counter()
    for first in range(0, options.entries, CHUNK):
        chunk = rows(first, min(CHUNK, options.entries - first))
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: 20 times faster than executemany
                copying = f"COPY credits_ledgerentry ({columns}) FROM STDIN"
                with cursor.cursor.copy(copying) as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, list(chunk))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE credits_ledgerentry")
            cursor.execute("ANALYZE credits_lot")
            cursor.execute("ANALYZE billing_purchase")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"  {options.entries:,} entries written in {time.perf_counter() - clock:.1f} s; "
        f"ledger: {LedgerEntry.objects.count():,} entries, {Lot.objects.count():,} lots"
    )

    first_month, last_month = months[0], months[-1]
    load, background = wait_for_quiet_machine(
        options.max_load, options.max_background, options.patience
    )
    print(
        f"  load average before timing: {' '.join(f'{x:.2f}' for x in load)} "
        f"(others busy {background:.2f} cores)"
    )

    def selector() -> object:
        return deferred_revenue(first_month=first_month, last_month=last_month)

    report = selector()
    timings = []
    for _ in range(options.runs):
        started = time.perf_counter()
        selector()
        timings.append(time.perf_counter() - started)
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    url = reverse("admin:billing_deferred_revenue")
    query = {"first_month": f"{first_month:%Y-%m}", "last_month": f"{last_month:%Y-%m}"}
    pages, exports = [], []
    client.get(url, query)
    for _ in range(options.runs):
        started = time.perf_counter()
        response = client.get(url, query)
        pages.append(time.perf_counter() - started)
        if response.status_code != 200:
            sys.exit(f"the page answered {response.status_code}")
    for _ in range(max(1, options.runs // 2)):
        started = time.perf_counter()
        response = client.get(url, {**query, "export": "xlsx"})
        size = len(b"".join(response.streaming_content))
        exports.append(time.perf_counter() - started)
    print(
        f"  report: {len(report.rows):,} rows (organisation × month), "
        f"{len(report.totals)} currency; Excel file {size / 1024:.0f} KiB"
    )
    print(header())
    print(
        Timings(
            f"selector `deferred_revenue`, {options.months} months, every organisation", timings
        ).line()
    )
    print(Timings("admin page (whole request)", pages).line())
    print(Timings("Excel export (whole request, read to its last byte)", exports).line())
    if connection.vendor == "postgresql" and options.explain:
        from billing.selectors.revenue import _moves, months_between

        moves = _moves(
            time_zones=sorted(ZONES),
            months=months_between(first_month, last_month),
            organisation=None,
            currency=None,
        )
        # The month's CASE is long: show each plan line's start.
        for line in moves.explain(analyze=True, buffers=True).splitlines():
            print("    " + (line if len(line) < 160 else line[:157] + "…"))


def child(options) -> None:
    setup_django()
    migrate()
    if options.part in ("pay", "all"):
        pay_part(options)
    if options.part in ("revenue", "all"):
        revenue_part(options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--part", choices=["pay", "revenue", "all"], default="pay")
    parser.add_argument("--count", type=int, default=200, help="timed purchases")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--organisations", type=int, default=100)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed reports")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--max-background", type=float, default=0.3, help="cores others use")
    parser.add_argument("--patience", type=float, default=120, help="longest wait for quiet (s)")
    parser.add_argument("--child", choices=["postgres", "sqlite"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options)
        return

    print(f"date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"code: {code_version(BENCH_CODE)}")
    postgres = os.environ.get("DATABASE_URL", "")
    for backend in options.backends.split(","):
        folder = Path(tempfile.mkdtemp(prefix="bench-purchase-"))
        env = dict(
            os.environ,
            MEDIA_ROOT=str(folder / "media"),
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        if backend == "postgres":
            if not postgres.startswith(("postgres://", "postgresql://")):
                print("\nPostgreSQL skipped: run under scripts/with-test-services")
                continue
        else:  # the embedded set-up: SQLite, no Redis (jobs to Celery's in-memory broker)
            env["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
            env.pop("REDIS_URL", None)
        try:
            subprocess.run(
                [sys.executable, __file__, "--child", backend, *sys.argv[1:]],
                env=env,
                check=True,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
