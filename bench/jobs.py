"""The periodic jobs at scale (issue 15): expiry, the monthly reset and ledger_check.

    scripts/with-test-services .venv/bin/python bench/jobs.py --sizes 10000,100000
    scripts/with-test-services .venv/bin/python bench/jobs.py --sizes 1000000 --jobs check \
        --skip-debits --skip-bound

For each size N: N lots and N monthly client accounts, 10 of each per organisation (N/10
organisations), written with set-based SQL (the services would take hours at 1M) into a
database of their own, then checked through `credits.audit.ledger_drift()`. Each phase then
runs on a copy of that database (`CREATE DATABASE … TEMPLATE`: the ledger's tables refuse
DELETE and TRUNCATE, so a copy is the only way back to the same data):

* the jobs as Celery beat calls them (`credits.tasks.expire_due`, `reset_monthly`, and
  `call_command("ledger_check")`), each in a forked child process: wall time, queries (a
  counting `execute_wrapper`), and how much the process grew (VmHWM after the job minus VmRSS
  before, the peak reset through /proc/self/clear_refs); then each again with nothing due,
  right after (a new process) and as the next beat finds it (after VACUUM, as autovacuum
  leaves the tables minutes later, in a worker that ran the job before, new connection);
* the SQL bound: a few set-based statements doing the same writes, on another copy, and a
  comparison of the rows both left (they must be identical);
* debits (4 worker processes, 50 a second each, 1 credit, own clients spread over every
  organisation) idle, then while `expire_due` runs on fresh due data (at most 30 s of it):
  p50 / p99 / max.

Every organisation's figures are those the services would write (see `build`): 10 purchase
lots of 1000 credits, 5 of them past their expiry; 10 monthly clients that each spent last
month (so the reset writes a `limit_reset` entry for each), 3 clients with assigned credits so
that expiry takes from them in proportion (S8), and an active hold in every tenth one.
"""

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ledger import code_version, migrate, server_facts, setup_django

PER_ORGANISATION = 10  # lots, and monthly clients, per organisation (as the issue measured)
JOBS = ("expire", "reset", "check")
NAMES = {
    "expire": "`credits.tasks.expire_due`",
    "reset": "`credits.tasks.reset_monthly`",
    "check": "`manage.py ledger_check`",
}
TIME_ZONE = "Europe/Paris"

# Organisation i (1..m); ids follow each table's largest before the build (o0, c0, l0...):
# client k (0: its own, 1..10: monthly) is c0 + (i-1)*11 + k + 1, lot j (0..9) is
# l0 + (i-1)*10 + j + 1.
# Its history, in the order the services would have written it:
# - 70 days ago, 10 purchases of 1000 credits: lots 0..4 expire 30 to 26 minutes before the
#   build (due), lots 5..9 in 30..150 days;
# - last month, each monthly client k spent 10 + k credits from the pool (lot 0, the first in
#   spending order): used = 10 + k in a window that started last month, so the reset has work;
# - in every tenth organisation, monthly client 3 placed a hold of 50 from the pool (active,
#   expiring tomorrow): held 50, and client 3 used 63, of which the reset carries 50;
# - 10 days ago, 5715 credits assigned: 2003 to the own client, 1801 and 1911 to clients 1, 2.
# Balance 10000 - 155 = 9845; due 4845 - held, of which the unassigned 4130 - held, so 715 come
# from the assigned credits in proportion (S8), all from lot 4.
CLIENT = "%(c0)s + (i - 1) * 11 + k + 1"
ASSIGNED = "CASE k WHEN 0 THEN 2003 WHEN 1 THEN 1801 WHEN 2 THEN 1911 ELSE 0 END"
DEBITED_AT = "%(last_month)s + interval '1 day' + k * interval '1 minute'"
ENTRY = (
    "INSERT INTO credits_ledgerentry (kind, credits, held_delta, assigned_delta, used_delta,"
    " balance_after, reference, idempotency_key, created_at, organisation_id, lot_id,"
    " client_id, consumption_id, hold_id, assignment_id)"
)
ORGS = "generate_series(1, %(m)s) AS i"
BUILD_SQL = [
    (
        "organisations and clients",
        "INSERT INTO clients_organisation (id, name, slug, currency, time_zone, language,"
        " created_at, client_kind, clients_choose_access)"
        " SELECT %(o0)s + i, 'Jobs bench ' || i, 'jobs-bench-' || i, 'EUR', 'Europe/Paris', 'en',"
        f" %(lots_at)s - interval '20 days', 'customer', false FROM {ORGS};"
        " INSERT INTO clients_client (id, name, kind, access_mode, is_active, created_at,"
        " organisation_id, external_id)"
        f" SELECT {CLIENT}, CASE WHEN k = 0 THEN 'Jobs bench ' || i ELSE 'Client ' || k END,"
        " CASE WHEN k = 0 THEN 'own' ELSE 'customer' END, 'campus', true,"
        f" %(lots_at)s - interval '20 days', %(o0)s + i, '' FROM {ORGS}, generate_series(0, 10) k",
    ),
    (
        "pools and accounts",
        "INSERT INTO credits_creditpool (organisation_id, balance, held, assigned,"
        " last_activity_at, preset, expiry_kind, expiry_months, purchase_extends_expiry,"
        " assignments_reversible, clients_draw_from_pool, reminder_days, low_balance_threshold,"
        " next_expiry_at, second_reminder_days, rate_card_version)"
        " SELECT %(o0)s + i, 9845, CASE WHEN mod(i, 10) = 0 THEN 50 ELSE 0 END, 5715,"
        " %(last_month)s + interval '1 day 10 minutes', 'custom', 'after_purchase', 12, false,"
        f" true, true, 30, 0, %(due_at)s, 7, 0 FROM {ORGS};"
        " INSERT INTO credits_clientaccount (client_id, assigned_remaining, draws_from_pool,"
        ' limit_kind, "limit", used, window_start, organisation_id)'
        f" SELECT {CLIENT}, {ASSIGNED}, true, CASE WHEN k = 0 THEN 'none' ELSE 'monthly' END,"
        " CASE WHEN k = 0 THEN NULL ELSE 100000 END,"
        " CASE WHEN k = 0 THEN 0 ELSE 10 + k + CASE WHEN k = 3 AND mod(i, 10) = 0 THEN 50"
        " ELSE 0 END END, CASE WHEN k = 0 THEN NULL ELSE %(last_month)s END, %(o0)s + i"
        f" FROM {ORGS}, generate_series(0, 10) k",
    ),
    (
        "lots and grants",
        "INSERT INTO credits_lot (id, source, quantity, remaining, expires_at, unit_cost,"
        " reference, created_at, organisation_id)"
        " SELECT %(l0)s + (i - 1) * 10 + j + 1, 'purchase', 1000,"
        " CASE WHEN j = 0 THEN 1000 - 155 ELSE 1000 END,"
        " CASE WHEN j < 5 THEN %(due_at)s + j * interval '1 minute'"
        " ELSE %(now)s + (j - 4) * interval '30 days' END, NULL, '',"
        f" %(lots_at)s + j * interval '1 minute', %(o0)s + i FROM {ORGS}, generate_series(0, 9) j;"
        f" {ENTRY} SELECT 'grant', 1000, 0, 0, 0, 1000 * (j + 1), '', '',"
        " %(lots_at)s + j * interval '1 minute', %(o0)s + i, %(l0)s + (i - 1) * 10 + j + 1,"
        f" NULL, NULL, NULL, NULL FROM {ORGS}, generate_series(0, 9) j ORDER BY i, j",
    ),
    (
        "last month's debits",
        "INSERT INTO credits_consumption (id, action_code, description, params, credits,"
        " from_assigned, from_pool, created_at, actor_id, client_id, organisation_id, hold_id)"
        f" SELECT %(s0)s + (i - 1) * 10 + k, 'bench', '', '{{}}', 10 + k, 0, 10 + k, {DEBITED_AT},"
        f" NULL, {CLIENT}, %(o0)s + i, NULL FROM {ORGS}, generate_series(1, 10) k;"
        f" {ENTRY} SELECT 'debit', -(10 + k), 0, 0, 10 + k, 10000 - (10 * k + k * (k + 1) / 2),"
        f" '', '', {DEBITED_AT}, %(o0)s + i, %(l0)s + (i - 1) * 10 + 1, {CLIENT},"
        f" %(s0)s + (i - 1) * 10 + k, NULL, NULL FROM {ORGS}, generate_series(1, 10) k"
        " ORDER BY i, k",
    ),
    (
        "holds",
        "INSERT INTO credits_hold (id, credits, from_assigned, from_pool, status, action_code,"
        " params, description, expires_at, created_at, resolved_at, client_id, organisation_id)"
        " SELECT %(h0)s + i / 10, 50, 0, 50, 'active', 'bench', '{}', '',"
        " %(now)s + interval '1 day', %(last_month)s + interval '2 days', NULL,"
        " %(c0)s + (i - 1) * 11 + 4, %(o0)s + i FROM generate_series(10, %(m)s, 10) AS i;"
        f" {ENTRY} SELECT 'hold', 0, 50, 0, 50, 9845, '', '', %(last_month)s + interval '2 days',"
        " %(o0)s + i, NULL, %(c0)s + (i - 1) * 11 + 4, NULL, %(h0)s + i / 10, NULL"
        " FROM generate_series(10, %(m)s, 10) AS i",
    ),
    (
        "assignments",
        "INSERT INTO credits_assignment (id, kind, credits, reference, comment, created_at,"
        " actor_id, client_id, organisation_id)"
        f" SELECT %(a0)s + (i - 1) * 3 + k + 1, 'assign', {ASSIGNED}, '', '',"
        f" %(assigned_at)s + k * interval '1 minute', NULL, {CLIENT}, %(o0)s + i"
        f" FROM {ORGS}, generate_series(0, 2) k;"
        f" {ENTRY} SELECT 'assign', 0, 0, {ASSIGNED}, 0, 9845, '', '',"
        f" %(assigned_at)s + k * interval '1 minute', %(o0)s + i, NULL, {CLIENT}, NULL, NULL,"
        f" %(a0)s + (i - 1) * 3 + k + 1 FROM {ORGS}, generate_series(0, 2) k ORDER BY i, k",
    ),
    (
        "sequences",
        "SELECT "
        + ", ".join(
            f"setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            for table in (
                "clients_organisation",
                "clients_client",
                "credits_lot",
                "credits_consumption",
                "credits_hold",
                "credits_assignment",
            )
        ),
    ),
]
FIRST_IDS = {
    "o0": "clients_organisation",
    "c0": "clients_client",
    "l0": "credits_lot",
    "s0": "credits_consumption",
    "h0": "credits_hold",
    "a0": "credits_assignment",
}

# The bound of expire_due: scheduled expiry of every due lot, as `expire_due_locked` does it
# (holds' credits stay on the due lots; unassigned credits first, then the clients' assigned
# credits in proportion, largest remainder, ties to the larger weight then the older client).
# The split uses the weights before the run: exact when one lot per organisation takes from
# assigned credits, as in this data (the fingerprint below proves the rows equal the job's).
EXPIRY_BOUND_SQL = [
    """CREATE TEMP TABLE bench_expiring ON COMMIT DROP AS
    WITH due AS (
        SELECT l.id, l.organisation_id, l.remaining::bigint AS remaining,
               SUM(l.remaining::bigint) OVER w - l.remaining AS due_before,
               SUM(l.remaining::bigint) OVER (PARTITION BY l.organisation_id) AS due_total
        FROM credits_lot l WHERE l.live AND l.expires_at <= %(now)s
        WINDOW w AS (PARTITION BY l.organisation_id ORDER BY l.expires_at, l.created_at, l.id
                     ROWS UNBOUNDED PRECEDING)
    ), amounts AS (
        SELECT d.id, d.organisation_id, p.balance::bigint AS balance,
               p.balance - p.held - p.assigned AS unassigned,
               LEAST(d.remaining, GREATEST(GREATEST(d.due_total - p.held, 0) - d.due_before, 0))
                   AS amount,
               LEAST(d.due_before, GREATEST(d.due_total - p.held, 0)) AS expired_before
        FROM due d JOIN credits_creditpool p ON p.organisation_id = d.organisation_id
    )
    SELECT id, organisation_id, amount,
           amount - LEAST(amount, GREATEST(unassigned - expired_before, 0)) AS from_assigned,
           balance - expired_before - amount AS balance_after
    FROM amounts WHERE amount > 0""",
    """UPDATE credits_lot l SET remaining = l.remaining - e.amount
    FROM bench_expiring e WHERE l.id = e.id""",
    f"""{ENTRY} SELECT 'expiry', -amount, 0, 0, 0, balance_after, '', '', %(now)s,
        organisation_id, id, NULL, NULL, NULL, NULL FROM bench_expiring""",
    """CREATE TEMP TABLE bench_shares ON COMMIT DROP AS
    WITH weights AS (
        SELECT e.id AS lot_id, e.organisation_id, e.from_assigned, e.balance_after, a.client_id,
               a.assigned_remaining::bigint AS weight,
               SUM(a.assigned_remaining::bigint) OVER (PARTITION BY e.id) AS weight_sum
        FROM bench_expiring e JOIN credits_clientaccount a
          ON a.organisation_id = e.organisation_id AND a.assigned_remaining > 0
        WHERE e.from_assigned > 0
    ), floors AS (
        SELECT *, from_assigned * weight / weight_sum AS floor_share,
               mod(from_assigned * weight, weight_sum) AS remainder
        FROM weights
    ), ranked AS (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY lot_id
                                     ORDER BY remainder DESC, weight DESC, client_id) AS rank,
               from_assigned - SUM(floor_share) OVER (PARTITION BY lot_id) AS left_over
        FROM floors
    )
    SELECT lot_id, organisation_id, client_id, balance_after,
           floor_share + CASE WHEN rank <= left_over THEN 1 ELSE 0 END AS share
    FROM ranked""",
    f"""{ENTRY} SELECT 'expiry', 0, 0, -share, 0, balance_after, '', '', %(now)s,
        organisation_id, lot_id, client_id, NULL, NULL, NULL FROM bench_shares WHERE share > 0""",
    """UPDATE credits_clientaccount a SET assigned_remaining = a.assigned_remaining - s.total
    FROM (SELECT client_id, SUM(share) AS total FROM bench_shares GROUP BY client_id) s
    WHERE a.client_id = s.client_id""",
    """UPDATE credits_creditpool p
    SET balance = p.balance - t.expired, assigned = p.assigned - t.from_assigned,
        next_expiry_at = LEAST(
            (SELECT MIN(l.expires_at) FROM credits_lot l
             WHERE l.organisation_id = p.organisation_id AND l.live AND l.expires_at > %(now)s),
            (SELECT MIN(h.expires_at) FROM credits_hold h
             WHERE h.organisation_id = p.organisation_id AND h.status = 'active'))
    FROM (SELECT organisation_id, SUM(amount) AS expired, SUM(from_assigned) AS from_assigned
          FROM bench_expiring GROUP BY organisation_id) t
    WHERE p.organisation_id = t.organisation_id""",
]

# The bound of reset_monthly: every monthly window from before this month (in the
# organisation's zone) restarts from what the client's active holds reserve, with a
# limit_reset entry where `used` changes (`restart_window`).
RESET_BOUND_SQL = [
    f"""WITH due AS (
        SELECT a.client_id, a.organisation_id, a.used::bigint AS used,
               COALESCE(h.from_pool, 0) AS carried, m.month_start
        FROM credits_clientaccount a
        JOIN clients_organisation o ON o.id = a.organisation_id
        CROSS JOIN LATERAL (SELECT date_trunc('month', %(now)s AT TIME ZONE o.time_zone)
                            AT TIME ZONE o.time_zone AS month_start) m
        LEFT JOIN (SELECT client_id, SUM(from_pool) AS from_pool FROM credits_hold
                   WHERE status = 'active' GROUP BY client_id) h ON h.client_id = a.client_id
        WHERE a.limit_kind = 'monthly'
          AND (a.window_start IS NULL OR a.window_start < m.month_start)
    ), entries AS (
        {ENTRY} SELECT 'limit_reset', 0, 0, 0, d.carried - d.used, p.balance, '', '', %(now)s,
            d.organisation_id, NULL, d.client_id, NULL, NULL, NULL
        FROM due d JOIN credits_creditpool p ON p.organisation_id = d.organisation_id
        WHERE d.used <> d.carried
    )
    UPDATE credits_clientaccount a SET used = d.carried, window_start = d.month_start
    FROM due d WHERE a.client_id = d.client_id""",
]

# What the jobs leave, without ids or times (md5 of the rows in a fixed order).
FINGERPRINT_SQL = {
    "pools": "SELECT md5(string_agg(concat_ws(',', organisation_id, balance, held, assigned,"
    " next_expiry_at), ';' ORDER BY organisation_id)) FROM credits_creditpool",
    "lots": "SELECT md5(string_agg(concat_ws(',', id, remaining), ';' ORDER BY id))"
    " FROM credits_lot",
    "accounts": "SELECT md5(string_agg(concat_ws(',', client_id, assigned_remaining, used,"
    " window_start), ';' ORDER BY client_id)) FROM credits_clientaccount",
    "entries": "SELECT md5(string_agg(r, ';' ORDER BY r)) FROM (SELECT concat_ws(',',"
    " organisation_id, kind, lot_id, client_id, hold_id, credits, held_delta, assigned_delta,"
    " used_delta, balance_after) AS r FROM credits_ledgerentry) s",
    "entry counts": "SELECT string_agg(kind || ':' || n, ' ' ORDER BY kind)"
    " FROM (SELECT kind, count(*) AS n FROM credits_ledgerentry GROUP BY kind) s",
}


@dataclass(frozen=True)
class Data:
    """What was built, and the moments it was built around."""

    database: str
    size: int
    organisations: int
    first_organisation: int
    first_client: int
    built_at: datetime  # due lots expired just before it, the others expire months after
    debit_now: datetime  # the debits' `now`: before any lot expired (see `debit_phase`)


def vm(field: str) -> float:
    """A figure of /proc/self/status, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# Databases -----------------------------------------------------------------------------------


def admin_execute(sql: str, attempts: int = 20) -> None:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE cannot run
    on the database they copy). Retried while autovacuum still holds the template."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    for attempt in range(attempts):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def use_database(name: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def copy_database(source: str, target: str) -> float:
    from django.db import connection

    connection.close()
    start = time.perf_counter()
    admin_execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {target} TEMPLATE {source} STRATEGY FILE_COPY")
    return time.perf_counter() - start


def drop_database(name: str) -> None:
    from django.db import connection

    connection.close()
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# Building ------------------------------------------------------------------------------------


def build(size: int, template: str) -> tuple[Data, dict[str, float]]:
    """N lots and N monthly accounts as the services would have written them, with set-based
    SQL (1M rows through `grant`, `debit`, `assign` would take hours). Returns the data and the
    seconds each step took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from credits.periods import month_start

    name = f"jobs_{size}"
    copy_database(template, name)
    use_database(name)
    now = timezone.now().replace(microsecond=0)
    this_month = month_start(now, TIME_ZONE)
    last_month = month_start(this_month - timedelta(days=1), TIME_ZONE)
    organisations = size // PER_ORGANISATION
    params: dict[str, object] = {}
    with connection.cursor() as cursor:
        for key, table in FIRST_IDS.items():
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            (params[key],) = cursor.fetchone()
    params |= {
        "m": organisations,
        "now": now,
        "due_at": now - timedelta(minutes=30),
        "lots_at": now - timedelta(days=70),
        "last_month": last_month,
        "assigned_at": now - timedelta(days=10),
    }
    steps: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for step, sql in BUILD_SQL:
            start = time.perf_counter()
            cursor.execute(sql, params)
            steps[step] = time.perf_counter() - start
        start = time.perf_counter()
    steps["commit (deferred foreign keys)"] = time.perf_counter() - start
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    steps["vacuum analyze"] = time.perf_counter() - start
    data = Data(
        database=name,
        size=size,
        organisations=organisations,
        first_organisation=params["o0"],
        first_client=params["c0"],
        built_at=now,
        debit_now=now - timedelta(minutes=90),
    )
    return data, steps


def drift_check() -> dict:
    """`ledger_drift()` in a child process, so that whatever it holds never inflates the
    memory the jobs' children start from."""

    def check() -> str:
        from credits.audit import ledger_drift

        drifts = [str(drift) for drift in ledger_drift()]
        return f"{len(drifts)} DRIFT(S): {drifts[:5]}" if drifts else "clean"

    return in_child(check)


# Jobs ----------------------------------------------------------------------------------------


def job_call(job: str) -> Callable[[], object]:
    """The job as Celery beat calls it (the task function itself, no worker)."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    from credits import tasks

    def check() -> str:
        out, err = StringIO(), StringIO()
        try:
            call_command("ledger_check", stdout=out, stderr=err)
        except CommandError as error:
            return f"DRIFT: {error} {err.getvalue()[:500]}"
        return "clean"

    return {"expire": tasks.expire_due, "reset": tasks.reset_monthly, "check": check}[job]


def start_child(call: Callable[[], object], *, warm: bool = False) -> tuple[int, int]:
    """Fork a child that runs `call` with its own connection and reports, through a pipe, its
    wall time, the queries it sent, and how much the process grew (its peak RSS is reset
    first, so the figure is the job's own). Returns (pid, read end of the pipe).

    `warm`: as a Celery worker runs the job every few minutes, the call has run once in the
    process before (its imports and compiled queries are there), and the measured one opens
    a new connection (`CONN_MAX_AGE` 0 closes it after each task)."""
    from django.db import connection

    connection.close()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    os.close(read_end)
    try:
        if warm:
            call()
            connection.close()
        connection.ensure_connection()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = vm("VmRSS")
        count = [0]

        def counter(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            result = call()
            seconds = time.perf_counter() - start
        outcome = {
            "seconds": seconds,
            "queries": count[0],
            "rss_mb": before,
            "growth_mb": vm("VmHWM") - before,
            "result": result if isinstance(result, int | str | dict) else repr(result),
        }
    except BaseException:
        outcome = {"error": traceback.format_exc()}
    with os.fdopen(write_end, "w") as pipe:
        json.dump(outcome, pipe)
    os._exit(0)


def finish_child(pid: int, read_end: int) -> dict:
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    outcome = json.loads(text)
    if "error" in outcome:
        sys.exit(f"job failed in the child process:\n{outcome['error']}")
    return outcome


def in_child(call: Callable[[], object], *, warm: bool = False) -> dict:
    return finish_child(*start_child(call, warm=warm))


def run_bounds(jobs: list[str]) -> dict[str, dict]:
    """The SQL bound of each job: the same writes, set-based, each in one transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    bounds = {}
    for job, statements in (("expire", EXPIRY_BOUND_SQL), ("reset", RESET_BOUND_SQL)):
        if job not in jobs:
            continue
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, {"now": timezone.now()})
        bounds[job] = {"seconds": time.perf_counter() - start, "queries": len(statements)}
    return bounds


def fingerprint() -> dict[str, str]:
    """What the jobs leave, without ids or times: figures of pools, lots and accounts, and the
    entries the jobs write. Equal on the job's copy and the bound's: the same writes."""
    from django.db import connection

    with connection.cursor() as cursor:
        found = {}
        for what, sql in FINGERPRINT_SQL.items():
            cursor.execute(sql)
            found[what] = str(cursor.fetchone()[0])
    return found


# Debits beside the job -----------------------------------------------------------------------


def debit_worker(org_ids, debit_now, rate, seed, ready, stop, results) -> None:
    """One worker: its own connection, a warm-up, then 1-credit debits on random own clients
    of its share of the organisations, `rate` a second (0: one after the other), until told
    to stop; (start, seconds) of each."""
    from django.db import connection

    from clients.models import Client, ClientKind
    from credits import services

    connection.close()
    clients = list(
        Client.objects.select_related("organisation").filter(
            organisation_id__in=org_ids, kind=ClientKind.OWN
        )
    )
    rng = random.Random(seed)
    for client in rng.sample(clients, min(20, len(clients))):
        services.debit(client=client, credits=1, action_code="bench", now=debit_now)
    ready.release()
    starts, seconds, errors = [], [], {}
    interval, next_at = 1 / rate if rate else 0.0, time.monotonic()
    while not stop.is_set():
        client = rng.choice(clients)
        next_at = max(next_at + interval, time.monotonic())
        time.sleep(max(0.0, next_at - time.monotonic()))
        start = time.monotonic()
        try:
            services.debit(client=client, credits=1, action_code="bench", now=debit_now)
        except Exception as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
        starts.append(start)
        seconds.append(time.monotonic() - start)
    results.put((starts, seconds, errors))
    connection.close()


def debit_phase(data: Data, options, job: bool) -> dict:
    """Debits from `options.workers` processes, idle (for --idle-seconds) or while
    `expire_due` runs (until it ends, or for at most --during-seconds: the job then finishes
    alone).

    The debits' `now` is before the due lots' expiry: with nothing due for them, every debit
    takes the one-statement path (an expiry due would hand it to the Python path, which would
    expire the organisation itself, before the job, and measure that instead). So the debits
    meet the job only through its locks and its load, which is what the target is about."""
    from django.db import connection

    context = multiprocessing.get_context("fork")
    ready, stop, results = context.Semaphore(0), context.Event(), context.Queue()
    first = data.first_organisation + 1
    organisations = range(first, first + data.organisations)
    processes = [
        context.Process(
            target=debit_worker,
            args=(
                list(organisations[w :: options.workers]),
                data.debit_now,
                options.debit_rate,
                w,
                ready,
                stop,
                results,
            ),
        )
        for w in range(options.workers)
    ]
    connection.close()
    for process in processes:
        process.start()
    for _ in processes:
        if not ready.acquire(timeout=300):
            sys.exit("a debit worker did not start")
    window = time.monotonic()
    if job:
        child = start_child(job_call("expire"))
        deadline = window + options.during_seconds
        while os.waitid(os.P_PID, child[0], os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
    else:
        time.sleep(options.idle_seconds)
    end = time.monotonic()
    stop.set()
    latencies, errors = [], {}
    for _ in processes:
        starts, seconds, worker_errors = results.get()
        latencies += [s for t, s in zip(starts, seconds, strict=True) if window <= t < end]
        for name, count in worker_errors.items():
            errors[name] = errors.get(name, 0) + count
    for process in processes:
        process.join()
    latencies.sort()
    count = len(latencies)
    return {
        "seconds": end - window,
        "debits": count,
        "p50": latencies[count // 2] * 1000 if count else float("nan"),
        "p99": latencies[min(count - 1, int(count * 0.99))] * 1000 if count else float("nan"),
        "max": latencies[-1] * 1000 if count else float("nan"),
        "errors": errors,
        "job": finish_child(*child) if job else None,
    }


# Running -------------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def jobs_phase(data: Data, options) -> tuple[dict, dict, bool | None]:
    """The bound on one copy, the jobs (then again, nothing due) on another; whether both
    left the same rows. Without copies to make (ledger_check alone), on the data itself."""
    from django.db import connection

    jobs, rows, bounds, same = options.jobs, {}, {}, None
    if not options.skip_bound and set(jobs) & {"expire", "reset"}:
        copy_database(data.database, f"{data.database}_bound")
        use_database(f"{data.database}_bound")
        bounds = run_bounds(jobs)
        bound_prints = fingerprint()
        drop_database(f"{data.database}_bound")
    copies = bool(set(jobs) - {"check"}) or not options.skip_debits
    run_db = f"{data.database}_run" if copies else data.database
    if copies:
        copy_database(data.database, run_db)
    use_database(run_db)
    for job in (job for job in JOBS if job in jobs):
        first = in_child(job_call(job))
        again = in_child(job_call(job)) if job != "check" else None
        rested = None
        if again:
            # The next beat, minutes later, in a worker that ran the job before: autovacuum has
            # by then cleared the index entries the run left behind (each of them costs the
            # first read after the run a visit).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE credits_creditpool, credits_clientaccount")
            rested = in_child(job_call(job), warm=True)
        rows[job] = (first, again, rested)
        print(
            f"  {job}: {first['seconds']:.2f} s, {first['queries']:,} queries, "
            f"+{first['growth_mb']:.0f} MB (from {first['rss_mb']:.0f} MB): {first['result']}",
            flush=True,
        )
        if again:
            print(
                f"  {job} again: {again['seconds'] * 1000:.1f} ms, {again['queries']} queries,"
                f" {again['result']}; the next beat (VACUUM, warm worker, new connection):"
                f" {rested['seconds'] * 1000:.1f} ms",
                flush=True,
            )
    if bounds:
        job_prints = fingerprint()
        differ = [what for what in bound_prints if bound_prints[what] != job_prints[what]]
        same = not differ
        print(f"  the bound left the same rows as the jobs: {'yes' if same else differ}")
    if copies:
        drop_database(run_db)
    return rows, bounds, same


def run_size(size: int, options, template: str) -> None:
    print(f"\n### {size:,} lots and monthly accounts ({size // PER_ORGANISATION:,} organisations)")
    print(f"load average before: {load()}", flush=True)
    data, steps = build(size, template)
    what = ", ".join(f"{step} {seconds:.1f}" for step, seconds in steps.items())
    print(f"data built in {sum(steps.values()):.1f} s ({what})", flush=True)
    if options.check_drift_up_to >= size:
        check = drift_check()
        print(
            f"ledger_drift() on the data as built: {check['result']} ({check['seconds']:.1f} s)",
            flush=True,
        )
        if check["result"] != "clean":
            sys.exit("the data is not a valid ledger")
    else:
        print("ledger_drift() on the data as built: not run (--check-drift-up-to)")
    rows, bounds, same = jobs_phase(data, options)
    debits = {}
    if "expire" in options.jobs and not options.skip_debits:
        name = f"{data.database}_debits"
        copy_database(data.database, name)
        use_database(name)
        idle = debit_phase(data, options, job=False)
        during = debit_phase(data, options, job=True)
        pace = f"{options.debit_rate:g} a second each" if options.debit_rate else "flat out"
        debits = {"idle": idle, "during": during, "drift": drift_check()["result"]}
        debits["setup"] = f"{options.workers} processes, {pace}, own clients of every organisation"
        drop_database(name)
    if not options.keep:
        drop_database(data.database)
    print_table(size, rows, bounds, debits, same)
    print(f"load average after: {load()}", flush=True)


def print_table(size: int, rows: dict, bounds: dict, debits: dict, same: bool | None) -> None:
    print(
        f"\n| job ({size:,}) | time | queries | process growth MB | SQL bound | job / bound "
        "| nothing due |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|")
    for job, (first, again, rested) in rows.items():
        bound = bounds.get(job)
        bound_text = f"{bound['seconds']:.2f} s ({bound['queries']} statements)" if bound else "—"
        ratio = f"{first['seconds'] / bound['seconds']:.0f}×" if bound else "—"
        again_text = (
            f"{again['seconds'] * 1000:.0f} ms ({again['queries']} q.), "
            f"{rested['seconds'] * 1000:.0f} ms next beat"
            if again
            else "—"
        )
        print(
            f"| {NAMES[job]} | {first['seconds']:.2f} s | {first['queries']:,} | "
            f"{first['growth_mb']:.0f} | {bound_text} | {ratio} | {again_text} |"
        )
    if same is not None:
        print(f"(the bound left the same pools, lots, accounts and entries: {same})")
    if debits:
        idle, during = debits["idle"], debits["during"]
        print(f"debits of 1 credit ({debits['setup']}):")
        for label, run in (("idle", idle), ("during expire_due", during)):
            print(
                f"debits {label}: {run['debits']:,} in {run['seconds']:.1f} s, "
                f"p50 {run['p50']:.2f} ms, p99 {run['p99']:.2f} ms, max {run['max']:.1f} ms, "
                f"errors {run['errors'] or 'none'}"
            )
        print(
            f"debit p99 during / idle: {during['p99'] / idle['p99']:.1f}× (target < 2×); "
            f"expire_due took {during['job']['seconds']:.2f} s, the first "
            f"{during['seconds']:.1f} s beside the debits; "
            f"ledger after the debits: {debits['drift']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000", help="lots (and monthly accounts)")
    parser.add_argument("--jobs", default=",".join(JOBS), help="among expire,reset,check")
    parser.add_argument("--skip-debits", action="store_true", help="no debit latency phase")
    parser.add_argument("--skip-bound", action="store_true", help="no SQL bound")
    parser.add_argument("--workers", type=int, default=4, help="debit processes (default 4)")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="idle debits (default 5)")
    parser.add_argument(
        "--during-seconds", type=float, default=30.0, help="longest debits beside the job (30)"
    )
    parser.add_argument(
        "--debit-rate", type=float, default=50.0, help="debits a second per worker (0: flat out)"
    )
    parser.add_argument(
        "--check-drift-up-to",
        type=int,
        default=100_000,
        help="largest size checked through ledger_drift() after the build",
    )
    parser.add_argument("--keep", action="store_true", help="keep the built databases")
    options = parser.parse_args()
    options.jobs = options.jobs.split(",")
    if set(options.jobs) - set(JOBS):
        parser.error(f"jobs are among {', '.join(JOBS)}")
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must name a PostgreSQL database: run under scripts/with-test-services"
        )
    # Since issue 13 the settings need these outside the tests (bench.ledger does not set them).
    os.environ.setdefault("SECRET_KEY", "bench-jobs-only")
    os.environ.setdefault("SERVED_OVER_HTTPS", "false")
    setup_django()
    migrate()
    from django.db import connection

    template = connection.settings_dict["NAME"]
    facts = server_facts()
    import credits

    print(f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), Python {sys.version.split()[0]}")
    print(f"server: {facts['version']}")
    print(
        f"server settings: fsync={facts['fsync']} synchronous_commit="
        f"{facts['synchronous_commit']} full_page_writes={facts['full_page_writes']}"
    )
    print(f"code: {code_version()}, credits from {Path(credits.__file__).parent}")
    print("uptime: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    for size in (int(n) for n in options.sizes.split(",")):
        run_size(size, options, template)


if __name__ == "__main__":
    main()
