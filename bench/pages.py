"""Server-side time of the portal's pages with 10k, 100k and 1M consumptions.

    scripts/with-test-services .venv/bin/python bench/pages.py [--sizes 10000,100000]

The wrapper starts a throw-away PostgreSQL and exports DATABASE_URL. This script migrates it,
then for each size opens an organisation through `clients.services.create_organisation`
(preset "data_provider": teams, free and paid actions) with five teams and four people, and a
second organisation with a tenth of its history, whose rows interleave with the first's in
time (so the indexes and the heap hold other organisations' rows between its own, as they
would). Each history covers the last 12 months and is exact for the ledger; it is written in a
few set-based statements (`INSERT … SELECT` over `generate_series`):

* consumptions of free actions (a quarter) and paid ones, by the teams (some busier than
  others), by people or through the API (no actor);
* a purchase at the start of every month, larger than the month's spend; two teams given a
  monthly budget (assignments) from which their consumptions are paid;
* a promotion every three months that expires 30 days later: spent first (soonest expiry
  first), either used up (the debit that empties it is paid by two lots) or expired with
  credits left (an expiry entry);
* one debit entry per lot that paid each paid consumption, `balance_after` running down, in
  the order the spending rule would have taken the lots;

then the pool's and accounts' figures are set to what the entries add up to (checked with
`credits.audit.ledger_drift`, 2 s at 1M), `roll_up_usage(now=…)` runs as the hourly job
would, and the tables are vacuumed and analysed as autovacuum would have done. 1M loads in
about 30 s.

Then, as the organisation's owner, through a Django test `Client` (the whole request: URL
resolution, middleware, session, view, template), each page is requested after a warm-up,
several times (median and range), and beside it, its queries: how many, their total time in
one request, and the heaviest one run alone through a cursor (its rows fetched), so the reader
sees what is Python and template. Exports are read to their last byte; their peak Python
memory (tracemalloc, in a run of its own) and the process's RSS growth are shown.
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of each page's heaviest query. Pages are timed
only when others leave the machine alone (it waits up to --patience s, and times a page again
when someone else's work ran meanwhile). Nothing is written outside the database (the Excel
export's temporary file is the page's own).
"""

import argparse
import math
import os
import re
import statistics
import sys
import threading
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The ledger benchmark's set-up, and its view of the machine and the server.
from ledger import (
    ServerClock,
    busy_cores,
    code_version,
    cpu_busy_jiffies,
    migrate,
    server_facts,
    setup_django,
    wait_for_quiet_start,
)

PAGES_CODE = ("credits", "clients", "templates", "config")  # what the pages' figures depend on
TEAMS = ["Sales", "Marketing", "Research", "Finance", "Partnerships"]
ASSIGNED_TEAMS = 2  # the first teams get a monthly budget, and spend only from it
PEOPLE = [
    ("owner", "Olivia", "Martin"),
    ("admin", "Hugo", "Bernard"),
    ("member", "Léa", "Dubois"),
    ("member", "Karim", "Haddad"),
]
HISTORY = timedelta(days=365)
PAGE_TARGET_MS = 150.0
EXPORT_TARGET_S = 10.0
EXPORT_ROWS = 100_000


@dataclass
class Org:
    organisation: object
    owner: object
    clients: list[int]  # the five teams, then the own client
    actors: list[int]
    consumptions: int

    @property
    def pk(self) -> int:
        return self.organisation.pk

    @property
    def slug(self) -> str:
        return self.organisation.slug


def open_org(slug: str, consumptions: int) -> Org:
    from django.contrib.auth import get_user_model

    from clients import services as client_services
    from clients.models import Client, ClientKind

    users = [
        get_user_model().objects.create_user(
            f"{slug}-{i}-{role}", password=None, first_name=first, last_name=last
        )
        for i, (role, first, last) in enumerate(PEOPLE)
    ]
    organisation = client_services.create_organisation(
        name=f"Bench {slug}", slug=slug, owner=users[0], preset="data_provider"
    )
    for user, (role, _first, _last) in zip(users[1:], PEOPLE[1:], strict=True):
        client_services.add_member(organisation=organisation, user=user, role=role)
    teams = [
        client_services.create_client(organisation=organisation, name=name).pk for name in TEAMS
    ]
    own = Client.objects.get(organisation=organisation, kind=ClientKind.OWN).pk
    return Org(organisation, users[0], [*teams, own], [u.pk for u in users], consumptions)


def nice(credits: float) -> int:
    """Rounded up to two significant digits, as people buy and budget."""
    whole = max(math.ceil(credits), 0)
    if whole == 0:
        return 0
    step = 10 ** max(len(str(whole)) - 2, 0)
    return math.ceil(whole / step) * step


PLAN_CONSUMPTIONS = """
WITH r AS MATERIALIZED (
    SELECT i, random() AS r_kind, random() AS r_action, random() AS r_units,
           random() AS r_client, random() AS r_actor, random() AS r_time, random() AS r_word
    FROM generate_series(1, %(n)s) AS i
), p AS (
    SELECT r.*, 1 + floor(power(r_units, 3) * 400)::bigint AS units,
        CASE WHEN r_kind < 0.25 THEN
            CASE WHEN r_action < 0.55 THEN 'search' WHEN r_action < 0.9 THEN 'company_view'
                 ELSE 'alert' END
        ELSE
            CASE WHEN r_action < 0.6 THEN 'data_export' WHEN r_action < 0.85 THEN 'crm_enrichment'
                 ELSE 'email_campaign' END
        END AS code
    FROM r
)
INSERT INTO bench_c (org, seq, created_at, client_id, action_code, description, params, credits,
                     actor_id)
SELECT %(org)s, i, %(start)s + (i - 1 + r_time) * %(step)s,
    (%(clients)s::bigint[])[1 + floor(%(k)s * power(r_client, 2))::int],
    code,
    CASE code WHEN 'search' THEN 'Targeting (classic or AI)'
        WHEN 'company_view' THEN 'Company record' WHEN 'alert' THEN 'Alert on a company or segment'
        WHEN 'data_export' THEN 'Data export'
        WHEN 'crm_enrichment' THEN 'CRM enrichment' ELSE 'E-mail campaign' END,
    CASE code
        WHEN 'search' THEN jsonb_build_object('query',
            (ARRAY['software', 'logistics', 'biotech', 'retail', 'energy', 'fintech'])
            [1 + floor(r_word * 6)::int] || ' ' ||
            (ARRAY['Paris', 'Lyon', 'Lille', 'Nantes', 'Bordeaux'])[1 + floor(r_units * 5)::int])
        WHEN 'company_view' THEN jsonb_build_object(
            'company', lpad(floor(r_word * 1e9)::bigint::text, 9, '0'))
        WHEN 'alert' THEN jsonb_build_object('segment', 'SMEs over 50 people, ' ||
            (ARRAY['Île-de-France', 'Occitanie', 'Bretagne'])[1 + floor(r_word * 3)::int])
        WHEN 'data_export' THEN jsonb_build_object(
            'rows', units, 'format', 'xlsx', 'units', units, 'unit_credits', 1)
        WHEN 'crm_enrichment' THEN jsonb_build_object(
            'records', units, 'crm', 'Salesforce', 'units', units, 'unit_credits', 2)
        ELSE jsonb_build_object('recipients', units * 5, 'campaign',
            'Newsletter ' || (1 + floor(r_word * 40))::int, 'units', units * 5, 'unit_credits', 1)
    END,
    CASE code WHEN 'data_export' THEN units WHEN 'crm_enrichment' THEN 2 * units
        WHEN 'email_campaign' THEN 5 * units ELSE 0 END,
    CASE WHEN r_actor < 0.35 THEN (%(actors)s::bigint[])[1 + floor(r_actor / 0.35 * %(a)s)::int] END
FROM p
"""

# Consumption ids follow time across organisations; `s_end` is the organisation's paid spend
# up to and including the row: each paid consumption covers [s_end - credits, s_end) of it.
NUMBER_CONSUMPTIONS = """
CREATE TEMP TABLE bench_c2 ON COMMIT DROP AS
SELECT c.*, %(base)s + row_number() OVER (ORDER BY created_at, org, seq) AS id,
       (sum(credits) OVER (PARTITION BY org ORDER BY seq))::bigint AS s_end,
       client_id = ANY(%(assigned)s::bigint[]) AS from_assigned
FROM bench_c c
"""

# Each paid consumption is paid by the lot segments its span of the spend overlaps.
DEBIT_ENTRIES = """
INSERT INTO bench_e (org, created_at, c_seq, part, kind, credits, assigned_delta, lot_id,
                     client_id, consumption_id, actor_id)
SELECT c.org, c.created_at, c.seq, s.ord, 'debit',
    -(least(c.s_end, s.b) - greatest(c.s_end - c.credits, s.a)),
    CASE WHEN c.from_assigned AND s.a <= c.s_end - c.credits THEN -c.credits ELSE 0 END,
    s.lot_id, c.client_id, c.id, c.actor_id
FROM bench_c2 c JOIN bench_seg s ON s.org = c.org AND s.a < c.s_end AND s.b > c.s_end - c.credits
WHERE c.credits > 0
"""

INSERT_CONSUMPTIONS = """
INSERT INTO credits_consumption (id, organisation_id, client_id, action_code, description, params,
    credits, from_assigned, from_pool, hold_id, actor_id, created_at)
SELECT id, org, client_id, action_code, description, params, credits,
    CASE WHEN from_assigned THEN credits ELSE 0 END,
    CASE WHEN from_assigned THEN 0 ELSE credits END, NULL, actor_id, created_at
FROM bench_c2 ORDER BY id
"""

# Entries in time order across organisations; each organisation's balance runs on its own.
INSERT_ENTRIES = """
INSERT INTO credits_ledgerentry (id, organisation_id, kind, credits, held_delta, assigned_delta,
    used_delta, balance_after, lot_id, client_id, consumption_id, hold_id, assignment_id,
    actor_id, reference, idempotency_key, created_at)
SELECT %(base)s + row_number() OVER (ORDER BY created_at, org, c_seq, part), org, kind, credits,
    0, assigned_delta, 0,
    sum(credits) OVER (PARTITION BY org ORDER BY created_at, c_seq, part ROWS UNBOUNDED PRECEDING),
    lot_id, client_id, consumption_id, NULL, assignment_id, actor_id, reference, '', created_at
FROM bench_e ORDER BY 1
"""

SET_FIGURES = """
UPDATE credits_creditpool p SET balance = e.balance, assigned = e.assigned, held = 0,
    last_activity_at = e.last_debit,
    next_expiry_at = (SELECT min(expires_at) FROM credits_lot l
                      WHERE l.organisation_id = p.organisation_id AND l.live
                        AND l.expires_at IS NOT NULL)
FROM (SELECT organisation_id, sum(credits) AS balance, sum(assigned_delta) AS assigned,
             max(created_at) FILTER (WHERE kind = 'debit') AS last_debit
      FROM credits_ledgerentry WHERE organisation_id = ANY(%(orgs)s) GROUP BY 1) e
WHERE p.organisation_id = e.organisation_id
"""
SET_ACCOUNTS = """
UPDATE credits_clientaccount a SET assigned_remaining = e.assigned, used = 0
FROM (SELECT client_id, sum(assigned_delta) AS assigned FROM credits_ledgerentry
      WHERE organisation_id = ANY(%(orgs)s) AND client_id IS NOT NULL GROUP BY 1) e
WHERE a.client_id = e.client_id
"""


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
    return cursor.fetchone()[0]


def _sync_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"(SELECT greatest(max(id), 1) FROM {table}))"
    )


def _month_starts(start: datetime, end: datetime, zone: str) -> list[datetime]:
    """`start`, then every local first of the month after it, before `end`."""
    local = start.astimezone(ZoneInfo(zone))
    starts = [start]
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while True:
        month = (month + timedelta(days=32)).replace(day=1)
        month = month.replace(tzinfo=ZoneInfo(zone))
        if month >= end:
            return starts
        starts.append(month)


@dataclass
class _Lot:
    source: str
    quantity: int
    created_at: datetime
    expires_at: datetime | None
    reference: str
    left: int = 0
    expired: int = 0
    pk: int = 0


@dataclass
class _Plan:
    lots: list[_Lot] = field(default_factory=list)
    segments: list[tuple[_Lot, int, int]] = field(default_factory=list)  # (lot, a, b) of spend
    assignments: list[tuple[int, int, datetime, str]] = field(default_factory=list)


def plan_lots(cursor, org: Org, start: datetime, end: datetime) -> _Plan:
    """Purchases, budgets and promotions around the consumptions already planned, and which
    lot pays which span of the spend: soonest expiry first (a live promotion), then the
    never-expiring purchases oldest first, as `credits` spends them."""

    def spent_before(moment: datetime) -> int:
        cursor.execute(
            "SELECT s_end FROM bench_c2 WHERE org = %s AND created_at < %s "
            "ORDER BY created_at DESC LIMIT 1",
            [org.pk, moment],
        )
        row = cursor.fetchone()
        return row[0] if row else 0

    zone = org.organisation.time_zone
    months = _month_starts(start, end, zone)
    bounds = [*months, end]
    plan = _Plan()
    events: list[tuple[datetime, int, str, _Lot | None]] = []
    for m, moment in enumerate(months):
        spend = spent_before(bounds[m + 1]) - spent_before(moment)
        label = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
        lot = _Lot(
            "purchase", nice(1.3 * spend + 1000), moment - timedelta(minutes=2), None, f"PO-{label}"
        )
        plan.lots.append(lot)
        events.append((lot.created_at, 0, "purchase", lot))
        if m % 3 == 1:
            created = moment + timedelta(days=10, hours=9)
            expires = created + timedelta(days=30)
            if expires < end:
                window = spent_before(expires) - spent_before(created)
                share = 0.5 if m % 6 == 1 else 2.0  # used up, or expires with credits left
                promo = _Lot(
                    "promotion",
                    nice(share * window + 100),
                    created,
                    expires,
                    f"Spring offer {label}",
                )
                plan.lots.append(promo)
                events.append((created, 1, "promotion", promo))
                events.append((expires, 2, "expiry", promo))
    # Budgets: each assigned team gets, a minute after the purchase, more than it will spend.
    cursor.execute(
        "SELECT client_id, width_bucket(created_at, %s::timestamptz[]), sum(credits)::bigint "
        "FROM bench_c2 WHERE org = %s AND client_id = ANY(%s) GROUP BY 1, 2",
        [bounds, org.pk, org.clients[:ASSIGNED_TEAMS]],
    )
    spend_by = {(client, bucket): credits for client, bucket, credits in cursor.fetchall()}
    for m, moment in enumerate(months):
        label = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
        for client in org.clients[:ASSIGNED_TEAMS]:
            budget = nice(1.2 * spend_by.get((client, m + 1), 0))
            if budget:
                plan.assignments.append(
                    (client, budget, moment - timedelta(minutes=1), f"Budget {label}")
                )
    # Walk the events in time: the spend between two events comes from the live promotion
    # first, then from the purchases in the order they came.
    events.sort(key=lambda event: (event[0], event[1]))
    position, queue, promotion = 0, deque(), None

    def take(lot: _Lot, credits: int) -> None:
        nonlocal position
        lot.left -= credits
        last = plan.segments[-1] if plan.segments else None
        if last and last[0] is lot and last[2] == position:
            plan.segments[-1] = (lot, last[1], position + credits)
        else:
            plan.segments.append((lot, position, position + credits))
        position += credits

    for moment, _order, kind, lot in [*events, (end, 3, "end", None)]:
        due = spent_before(moment) - position
        if promotion is not None and promotion.left and due > 0:
            credits = min(due, promotion.left)
            take(promotion, credits)
            due -= credits
        while due > 0:
            if not queue:
                raise RuntimeError("the plan ran out of credits: buy more")
            head = queue[0]
            credits = min(due, head.left)
            take(head, credits)
            due -= credits
            if head.left == 0:
                queue.popleft()
        if kind == "purchase":
            lot.left = lot.quantity
            queue.append(lot)
        elif kind == "promotion":
            lot.left, promotion = lot.quantity, lot
        elif kind == "expiry":
            lot.expired, lot.left, promotion = lot.left, 0, None
    return plan


def load_history(orgs: list[Org], *, now: datetime, seed: float) -> dict[str, float]:
    """Write the organisations' histories, interleaved in time, and set their figures."""
    from django.db import connection, transaction

    from credits.models import Assignment, Lot

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    start, end = now - HISTORY, now - timedelta(minutes=5)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")  # the load's sorts; pages keep defaults
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            "CREATE TEMP TABLE bench_c (org bigint, seq bigint, created_at timestamptz,"
            " client_id bigint, action_code text, description text, params jsonb,"
            " credits bigint, actor_id bigint) ON COMMIT DROP"
        )
        for org in orgs:
            cursor.execute(
                PLAN_CONSUMPTIONS,
                {
                    "n": org.consumptions,
                    "org": org.pk,
                    "start": start,
                    "step": (end - start) / org.consumptions,
                    "clients": org.clients,
                    "k": len(org.clients),
                    "actors": org.actors,
                    "a": len(org.actors),
                },
            )
        assigned = [pk for org in orgs for pk in org.clients[:ASSIGNED_TEAMS]]
        cursor.execute(
            NUMBER_CONSUMPTIONS,
            {"base": _next_id(cursor, "credits_consumption"), "assigned": assigned},
        )
        cursor.execute("CREATE INDEX ON bench_c2 (org, created_at)")
        cursor.execute("ANALYZE bench_c2")
        timings["consumptions planned"] = time.perf_counter() - clock

        plans = {org.pk: plan_lots(cursor, org, start, end) for org in orgs}
        lots = []
        for org in orgs:
            for lot in plans[org.pk].lots:
                lots.append(
                    Lot(
                        organisation_id=org.pk,
                        source=lot.source,
                        quantity=lot.quantity,
                        remaining=lot.left,
                        expires_at=lot.expires_at,
                        created_at=lot.created_at,
                        unit_cost="0.0400" if lot.source == "purchase" else None,
                        reference=lot.reference,
                    )
                )
        for lot, row in zip(
            [lot for org in orgs for lot in plans[org.pk].lots],
            Lot.objects.bulk_create(lots),
            strict=True,
        ):
            lot.pk = row.pk
        assignments = Assignment.objects.bulk_create(
            Assignment(
                organisation_id=org.pk,
                client_id=client,
                kind="assign",
                credits=credits,
                reference=reference,
                comment="Monthly budget",
                actor=org.owner,
                created_at=moment,
            )
            for org in orgs
            for client, credits, moment, reference in plans[org.pk].assignments
        )

        cursor.execute(
            "CREATE TEMP TABLE bench_seg (org bigint, ord int, lot_id bigint, a bigint, b bigint)"
            " ON COMMIT DROP"
        )
        cursor.executemany(
            "INSERT INTO bench_seg VALUES (%s, %s, %s, %s, %s)",
            [
                (org.pk, n, lot.pk, a, b)
                for org in orgs
                for n, (lot, a, b) in enumerate(plans[org.pk].segments, 1)
            ],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_e (org bigint, created_at timestamptz, c_seq bigint,"
            " part int, kind text, credits bigint, assigned_delta bigint, lot_id bigint,"
            " client_id bigint, consumption_id bigint, assignment_id bigint, actor_id bigint,"
            " reference text NOT NULL DEFAULT '') ON COMMIT DROP"
        )
        cursor.execute(DEBIT_ENTRIES)
        others = []
        for org in orgs:
            for lot in plans[org.pk].lots:
                others.append(
                    (
                        org.pk,
                        lot.created_at,
                        "grant",
                        lot.quantity,
                        0,
                        lot.pk,
                        None,
                        None,
                        org.owner.pk,
                        lot.reference,
                    )
                )
                if lot.expired:
                    others.append(
                        (
                            org.pk,
                            lot.expires_at,
                            "expiry",
                            -lot.expired,
                            0,
                            lot.pk,
                            None,
                            None,
                            None,
                            "",
                        )
                    )
        for row in assignments:
            others.append(
                (
                    row.organisation_id,
                    row.created_at,
                    "assign",
                    0,
                    row.credits,
                    None,
                    row.client_id,
                    row.pk,
                    row.actor_id,
                    row.reference,
                )
            )
        cursor.executemany(
            "INSERT INTO bench_e (org, created_at, part, kind, credits, assigned_delta, lot_id,"
            " client_id, assignment_id, actor_id, reference)"
            " VALUES (%s, %s, 0, %s, %s, %s, %s, %s, %s, %s, %s)",
            others,
        )
        timings["lots and entries planned"] = time.perf_counter() - clock

        cursor.execute(INSERT_CONSUMPTIONS)
        _sync_sequence(cursor, "credits_consumption")
        timings["consumptions written"] = time.perf_counter() - clock
        cursor.execute(INSERT_ENTRIES, {"base": _next_id(cursor, "credits_ledgerentry")})
        _sync_sequence(cursor, "credits_ledgerentry")
        timings["entries written"] = time.perf_counter() - clock
        for statement in (SET_FIGURES, SET_ACCOUNTS):
            cursor.execute(statement, {"orgs": [org.pk for org in orgs]})
    return timings


def settle(now: datetime) -> dict[str, float]:
    """What the hourly job and autovacuum would have done by the time someone looks."""
    from django.db import connection

    from credits.services import roll_up_usage

    clock, timings = time.perf_counter(), {}
    roll_up_usage(now=now)
    timings["usage rolled up"] = time.perf_counter() - clock
    with connection.cursor() as cursor:
        for table in (
            "credits_consumption",
            "credits_ledgerentry",
            "credits_lot",
            "credits_usageday",
            "credits_assignment",
            "credits_creditpool",
            "credits_clientaccount",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    timings["vacuumed and analysed"] = time.perf_counter() - clock
    return timings


def history_facts(org: Org) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE credits = 0) FROM credits_consumption"
            " WHERE organisation_id = %s",
            [org.pk],
        )
        consumptions, free = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE kind = 'debit'),"
            " count(*) FILTER (WHERE kind = 'debit' AND consumption_id IN (SELECT consumption_id"
            "  FROM credits_ledgerentry WHERE organisation_id = %s AND kind = 'debit'"
            "  GROUP BY 1 HAVING count(*) > 1)),"
            " count(*) FILTER (WHERE kind = 'grant'), count(*) FILTER (WHERE kind = 'assign'),"
            " count(*) FILTER (WHERE kind = 'expiry') FROM credits_ledgerentry"
            " WHERE organisation_id = %s",
            [org.pk, org.pk],
        )
        entries, debits, multi, grants, assigns, expiries = cursor.fetchone()
        cursor.execute(
            "SELECT balance, assigned FROM credits_creditpool WHERE organisation_id = %s", [org.pk]
        )
        balance, assigned = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM credits_ledgerentry")
        all_entries = cursor.fetchone()[0]
    return (
        f"{consumptions:,} consumptions ({free:,} free), {entries:,} entries: {debits:,} debit"
        f" entries ({multi} in multi-lot debits), {grants} grants, {assigns} assignments,"
        f" {expiries} expiries; balance {balance:,}, assigned {assigned:,};"
        f" {all_entries:,} entries in the table"
    )


@dataclass
class Case:
    name: str
    path: str  # under /o/<slug>/
    query: dict[str, object] = field(default_factory=dict)
    htmx: bool = False  # a fragment htmx fetches (HX-Request header)
    export: bool = False  # a download, read to its last byte


@dataclass
class Result:
    case: Case
    times: list[float]  # seconds, one per timed request
    queries: int
    sql: float  # seconds the request's queries took, summed (one request, captured)
    raw: float  # seconds: the heaviest query alone through a cursor, its rows fetched (median)
    raw_sql: str
    others: float  # cores someone else's work used during the timed requests
    size: int  # bytes of the response body
    rows: int | None = None  # data rows of a CSV export
    peak_mib: float | None = None  # tracemalloc peak of one export request
    rss_mib: float | None = None  # the process's RSS growth over the timed requests

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def read_response(response) -> tuple[int, int]:
    """(bytes, lines) of the whole body, streamed or not. The test client closes a streamed
    response after its last chunk (closing it again would close the database connection)."""
    if response.streaming:
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        return size, lines
    return len(response.content), response.content.count(b"\n")


def get(client, slug: str, case: Case) -> tuple[int, int]:
    headers = {"HX-Request": "true"} if case.htmx else {}
    response = client.get(f"/o/{slug}/{case.path}", case.query, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{case.name}: status {response.status_code}")
    return read_response(response)


class RssPeak:
    """The process's resident memory above what it was at the start, sampled every 5 ms."""

    def __enter__(self) -> "RssPeak":
        self.start = self.peak = self._rss()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self._rss())

    @staticmethod
    def _rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, self._rss())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def run_alone(sql: str) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        return time.perf_counter() - started


# An export reads through a server-side cursor: Django logs the DECLARE around its SELECT.
DECLARE = re.compile(r'^DECLARE "[^"]+" (?:NO SCROLL )?CURSOR (?:WITH(?:OUT)? HOLD )?FOR ')


def heaviest_query(queries: list[str], runs: int) -> tuple[float, str]:
    """The request's SELECT that takes longest alone (each tried once), timed `runs` times."""
    selects = (DECLARE.sub("", query.lstrip()) for query in queries)
    candidates = list(
        dict.fromkeys(q for q in selects if q.split(None, 1)[0] in ("SELECT", "WITH"))
    )
    if not candidates:
        return 0.0, ""
    _once, worst = max((run_alone(sql), sql) for sql in candidates)
    return statistics.median(run_alone(worst) for _ in range(runs)), worst


def timed_runs(client, slug: str, case: Case, runs: int) -> tuple[list[float], float, float]:
    """(seconds per request, cores others used meanwhile, RSS growth MiB)."""
    times = []
    jiffies, own, server = cpu_busy_jiffies(), os.times(), ServerClock.seconds()
    started = time.perf_counter()
    with RssPeak() as rss:
        for _ in range(runs):
            clock = time.perf_counter()
            get(client, slug, case)
            times.append(time.perf_counter() - clock)
    wall = time.perf_counter() - started
    after, server_after = os.times(), ServerClock.seconds()
    mine = (after.user - own.user + after.system - own.system) / wall
    postgres = (server_after - server) / wall if server >= 0 else 0.0
    others = max(0.0, busy_cores(jiffies, cpu_busy_jiffies()) - mine - postgres)
    return times, others, rss.growth_mib


def measure(client, slug: str, case: Case, options) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs = options.export_runs if case.export else options.runs
    for _ in range(1 if case.export else options.warmup):
        get(client, slug, case)
    spent: list[float] = []  # CaptureQueriesContext keeps whole milliseconds only

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - started)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        size, lines = get(client, slug, case)
    queries = [query["sql"] for query in captured.captured_queries]
    sql = sum(spent)
    best = None
    for _attempt in range(options.attempts):
        times, others, rss = timed_runs(client, slug, case, runs)
        if best is None or others < best[1]:
            best = (times, others, rss)
        if others <= options.max_background:
            break
        print(f"    {case.name}: others used {others:.2f} cores meanwhile: again", flush=True)
    times, others, rss = best
    raw, raw_sql = heaviest_query(queries, 3 if case.export else options.runs)
    result = Result(case, times, len(queries), sql, raw, raw_sql, others, size)
    if case.export:
        result.rss_mib = rss
        if case.path.endswith(".csv"):
            result.rows = lines - 2  # the header and the totals
        tracemalloc.start()
        get(client, slug, case)
        result.peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if options.explain and raw_sql:
        explain(raw_sql)
    return result


def explain(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join("      " + row[0] for row in cursor.fetchall())
    print(f"    heaviest query: {short_sql(sql)}\n{plan}", flush=True)


def short_sql(sql: str, width: int = 160) -> str:
    text = " ".join(sql.replace('"', "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cases_for(org: Org, now: datetime) -> list[Case]:
    """The pages timed, with filters that exist in this organisation's history."""
    from dateutil.relativedelta import relativedelta
    from django.db import connection

    from credits.forms.usage import default_period
    from credits.selectors.activity import Position

    zone = ZoneInfo(org.organisation.time_zone)
    today = now.astimezone(zone).date()
    team = org.clients[ASSIGNED_TEAMS]  # a team without a budget, fairly busy
    filtered = {
        "client": team,
        "kind": "consumption",
        "date_from": (today - relativedelta(months=3)).isoformat(),
        "date_to": today.isoformat(),
    }
    period = default_period(today)
    usage = {"date_from": period.first.isoformat(), "date_to": period.last.isoformat()}
    export: dict[str, object] = {}
    if org.consumptions > EXPORT_ROWS:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT created_at FROM credits_consumption WHERE organisation_id = %s"
                " ORDER BY created_at DESC OFFSET %s LIMIT 1",
                [org.pk, EXPORT_ROWS - 1],
            )
            first = cursor.fetchone()[0].astimezone(zone).date()
        export = {"date_from": first.isoformat(), "date_to": today.isoformat()}
    older = Position(now - timedelta(days=182), 0, 10**17).token()
    return [
        Case("home", ""),
        Case("home figures (htmx)", "figures/", htmx=True),
        Case("activity, first page", "activity/"),
        Case("activity, a page 6 months back", "activity/", {"cursor": older}),
        Case("activity, team + consumptions + 3 months", "activity/", filtered),
        Case("activity, purchases", "activity/", {"kind": "purchase"}),
        Case("activity, only mine", "activity/", {"member": org.owner.pk}),
        Case("activity totals (htmx)", "activity/", {"totals": "1"}, htmx=True),
        Case(
            "activity totals, filtered (htmx)", "activity/", {**filtered, "totals": "1"}, htmx=True
        ),
        Case(
            "activity totals, only mine (htmx)",
            "activity/",
            {"member": org.owner.pk, "totals": "1"},
            htmx=True,
        ),
        Case("usage, 12 months", "usage/", usage),
        Case("usage of one team, 12 months", f"usage/{team}/", usage),
        Case("activity.xlsx", "activity.xlsx", export, export=True),
        Case("activity.csv", "activity.csv", export, export=True),
    ]


def print_size(size: int, results: list[Result]) -> None:
    print(f"\n{size:,} consumptions:")
    print(
        "| page | median ms | range ms | queries | their SQL ms | heaviest alone ms | others busy |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|")
    for r in results:
        ms = [t * 1000 for t in r.times]
        print(
            f"| {r.case.name} | {r.median * 1000:.1f} | {min(ms):.1f}–{max(ms):.1f} "
            f"| {r.queries} | {r.sql * 1000:.1f} | {r.raw * 1000:.1f} | {r.others:.2f} |"
        )
    for r in results:
        if r.case.export:
            rows = f"{r.rows:,} rows, " if r.rows is not None else ""
            print(
                f"  {r.case.name}: {rows}{r.size / 2**20:.1f} MiB, Python peak "
                f"{r.peak_mib:.1f} MiB (tracemalloc), RSS +{r.rss_mib:.1f} MiB over the runs"
            )
    print("  heaviest query of each page:")
    for r in results:
        print(f"    {r.case.name}: {short_sql(r.raw_sql)}")


def print_summary(results: dict[int, list[Result]]) -> None:
    """Pages by median time, with the heaviest query alone; exports by time and rows, and
    their ratio per row (the first size exports fewer rows than the others)."""
    sizes = sorted(results)
    first, last = sizes[0], sizes[-1]
    print("\nMedian ms per page (heaviest query alone, ms), and the targets:")
    head = " | ".join(f"{size:,}" for size in sizes)
    print(f"| page | {head} | {last:,} ÷ {first:,} | target |")
    print("|---|" + "--:|" * (len(sizes) + 2))
    for index, case_result in enumerate(results[first]):
        row = [results[size][index] for size in sizes]
        if case_result.case.export:
            counted = all(r.rows for r in row)  # not when only the Excel file was asked for
            cells = " | ".join(f"{r.median:.2f} s, {r.rows or '?'} rows" for r in row)
            ratio = row[-1].median / row[0].median
            if counted:
                ratio *= row[0].rows / row[-1].rows
            verdict = f"< 10 s for {EXPORT_ROWS:,} rows: "
            if not counted or row[-1].rows < EXPORT_ROWS:
                verdict += "not measured (fewer rows)"
            else:
                verdict += "met" if row[-1].median < EXPORT_TARGET_S else "missed"
            ratio_text = f"{ratio:.2f} per row"
        else:
            cells = " | ".join(f"{r.median * 1000:.1f} ({r.raw * 1000:.1f})" for r in row)
            ratio = row[-1].median / row[0].median
            fast = "met" if row[-1].median * 1000 < PAGE_TARGET_MS else "missed"
            flat = "met" if ratio <= 2.0 else "missed"
            verdict = f"< 150 ms {fast}, ≤ 2× {flat}"
            ratio_text = f"{ratio:.2f}"
        print(f"| {case_result.case.name} | {cells} | {ratio_text} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=9, help="timed requests per page")
    parser.add_argument("--export-runs", type=int, default=3, help="timed requests per export")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page first")
    parser.add_argument("--other-share", type=float, default=0.1, help="the other organisation")
    parser.add_argument("--seed", type=float, default=0.42)
    parser.add_argument("--only", default="", help="pages whose name holds one of these words")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each heaviest")
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--max-background", type=float, default=0.3, help="cores others use")
    parser.add_argument("--attempts", type=int, default=3, help="re-time a disturbed page")
    parser.add_argument("--patience", type=float, default=120, help="longest wait for quiet (s)")
    parser.add_argument(
        "--check-up-to", type=int, default=10**6, help="run ledger_drift for sizes up to this"
    )
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must name a PostgreSQL database: run under scripts/with-test-services"
        )

    setup_django()
    from django.test import Client
    from django.utils import timezone
    from openpyxl.xml import LXML

    from credits.audit import ledger_drift

    migrate()
    facts = server_facts()
    ServerClock.find()
    print(f"machine: {len(os.sched_getaffinity(0))} CPUs, Python {sys.version.split()[0]}")
    print(f"server: {facts['version']}")
    print(
        f"server settings: fsync={facts['fsync']} synchronous_commit="
        f"{facts['synchronous_commit']} (the wrapper's)"
    )
    writer = "lxml" if LXML else "et_xmlfile"
    print(f"code: {code_version(PAGES_CODE)}; openpyxl writes XML with {writer}")
    results: dict[int, list[Result]] = {}
    for size in sizes:
        now = timezone.now()
        print(
            f"\nLoading {size:,} consumptions (+{options.other_share:.0%} in another "
            f"organisation)…",
            flush=True,
        )
        main_org = open_org(f"pages-{size}", size)
        other = open_org(f"other-{size}", max(1, round(size * options.other_share)))
        clock = time.perf_counter()
        steps = load_history([main_org, other], now=now, seed=options.seed)
        steps |= {name: seconds + steps["entries written"] for name, seconds in settle(now).items()}
        print("  " + ", ".join(f"{name} at {seconds:.1f} s" for name, seconds in steps.items()))
        print(f"  loaded in {time.perf_counter() - clock:.1f} s: {history_facts(main_org)}")
        if size <= options.check_up_to:
            clock = time.perf_counter()
            drift = ledger_drift([main_org.pk, other.pk])
            print(f"  ledger_drift: {drift or 'none'} ({time.perf_counter() - clock:.1f} s)")
            if drift:
                sys.exit("the loaded history does not add up")
        wait_for_quiet_start(options, "  load average before timing")
        client = Client(HTTP_HOST="localhost")
        client.force_login(main_org.owner)
        wanted = [word for word in options.only.split(",") if word]
        cases = [
            case
            for case in cases_for(main_org, timezone.now())
            if not wanted or any(word in case.name for word in wanted)
        ]
        results[size] = []
        for case in cases:
            results[size].append(measure(client, main_org.slug, case, options))
            print(f"  {case.name}: {results[size][-1].median * 1000:.1f} ms", flush=True)
        rows = {str(r.case.query): r.rows for r in results[size] if r.rows is not None}
        for result in results[size]:
            if result.case.export and result.rows is None:  # the Excel file has the CSV's rows
                result.rows = rows.get(str(result.case.query))
        print_size(size, results[size])
        print("  load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print_summary(results)


if __name__ == "__main__":
    main()
