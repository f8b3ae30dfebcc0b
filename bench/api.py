"""Consumptions over HTTP through gunicorn, beside in-process `consume`, on one server.

    scripts/with-test-services .venv/bin/python bench/api.py [--seconds 5] [--workers 4]

The wrapper starts a throw-away PostgreSQL and Redis and exports DATABASE_URL, REDIS_URL and
PG_BIN. This script migrates that database, opens organisations as bench/ledger.py does (each
with a flat 1-credit action "bench" and 10¹² credits), gives each a read-and-write API key
allowed 1,000,000 requests a minute, and starts gunicorn as the README's production section
runs it: `gunicorn config.wsgi -w <workers> --worker-class gthread --threads 4 --keep-alive 30
-b 127.0.0.1:<free port>` (`--gunicorn-args` replaces the options after -w), DEBUG off, REDIS_URL
set (rate limits counted in Redis, as in production). Then, for each mode and connection
count, back to back:

* **HTTP**: an asyncio HTTP/1.1 client in this process (keep-alive when the server keeps the
  connection, as gthread workers do; sync workers close it after each answer, and the client
  connects again, as a real client must) with N connections sending
  `POST /api/v1/consumptions/ {"action": "bench"}` with an `Idempotency-Key` per request, in a
  closed loop (each connection sends its next request when the last one answered);
* **in-process**: N forked processes calling `credits.services.consume` in a loop, as the
  API's view calls it (the key's creator as actor, an idempotency key per call).

"many": each connection (and each process) its own organisation and key; "hot": all of them
one organisation and one key. Reported: requests/s, p50/p99 latency, the CPU per request of
the gunicorn processes (master and workers, from /proc/<pid>/stat), of PostgreSQL, of Redis
and of the load generator, the ratio HTTP ÷ in-process (target ≥ 30 %). Then, per mode, an
open-loop run paced at half the mode's peak HTTP rate (requests sent at fixed intervals
whatever the answers, latency counted from the time each was due; target p99 < 25 ms).

Beside them, GET /api/v1/balance/ at 4 connections: the floor of the stack (authentication,
rate limit, one query). Then where the time of one request goes (`--no-analysis` skips it):
what one request sends to PostgreSQL and Redis; each piece of it timed alone in this process
(authentication, rate limit, Idempotency-Key record, client, consume, answer); Django's WSGI
application called in this process without HTTP, with and without persistent connections;
a cProfile of that, and one of a gunicorn worker (-w 1) under load.

`--database-url-query conn_max_age=600` runs gunicorn with persistent database connections
(django-environ reads CONN_MAX_AGE from the URL), to compare with the README's setting.
"""

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ledger  # noqa: E402  (set-up, machine and PostgreSQL clocks)
from bench.api_analysis import analysis  # noqa: E402
from bench.api_http import (  # noqa: E402
    RATE_PER_MINUTE,
    TARGET_P99_MS,
    TARGET_RATIO,
    Clocks,
    Gunicorn,
    Run,
    Tenant,
    closed_loop,
    ms,
    paced,
    redis_pid,
)


def make_tenants(count: int, tag: str) -> tuple[list[Tenant], Tenant]:
    """`count` organisations for the many mode and one hot one, each with a write key."""
    from django.utils import timezone

    from api import services as api_services
    from clients.models import Client, Membership, Role

    many_ids, hot_id = ledger.make_organisations(count, tag)
    tenants = []
    for client_id in [*many_ids, hot_id]:
        client = Client.objects.select_related("organisation").get(pk=client_id)
        owner = Membership.objects.get(organisation=client.organisation, role=Role.OWNER).user
        made = api_services.create_key(
            organisation=client.organisation,
            name="bench",
            scope="write",
            now=timezone.now(),
            actor=owner,
            requests_per_minute=RATE_PER_MINUTE,
        )
        tenants.append(Tenant(client_id, made.key.pk, made.secret, owner.pk))
    return tenants[:-1], tenants[-1]


def http_run(gunicorn: Gunicorn, clocks: Clocks, tenants: list[Tenant], tag: str, seconds: float):
    asyncio.run(closed_loop(gunicorn.port, tenants, f"warm-{tag}", 0.5))
    clocks.start()
    return clocks.stop(asyncio.run(closed_loop(gunicorn.port, tenants, tag, seconds)))


def _consume_loop(tenant: Tenant, tag: str, until: float, latencies: list | None) -> int:
    from django.utils import timezone

    from clients.models import Client
    from credits import services

    client = Client.objects.select_related("organisation").get(pk=tenant.client_id)
    count = 0
    while time.monotonic() < until:
        start = time.perf_counter()
        services.consume(
            client=client,
            action="bench",
            now=timezone.now(),
            actor=_actor(tenant),
            idempotency_key=f"api:{tag}-{count}",
        )
        if latencies is not None:
            latencies.append(time.perf_counter() - start)
        count += 1
    return count


_ACTORS: dict = {}


def _actor(tenant: Tenant):
    """The key's creator, loaded once per process as the key's `select_related` has it."""
    if tenant.actor_id not in _ACTORS:
        from django.contrib.auth import get_user_model

        _ACTORS[tenant.actor_id] = get_user_model().objects.get(pk=tenant.actor_id)
    return _ACTORS[tenant.actor_id]


def _consumer(tag: str):
    """An in-process worker's `prepare` (`ledger.run_forked`): consume for its tenant, each
    run under its own idempotency keys; the measured run answers its latencies."""

    def prepare(index: int, tenant: Tenant):
        def run(until: float, warm: bool) -> list[float] | None:
            if warm:
                _consume_loop(tenant, f"{tag}-warm-{index}", until, None)
                return None
            latencies: list[float] = []
            _consume_loop(tenant, f"{tag}-{index}", until, latencies)
            return latencies

        return run

    return prepare


def in_process_run(clocks: Clocks, tenants: list[Tenant], tag: str, seconds: float) -> Run:
    run = Run(seconds=seconds)
    outcomes, _ = ledger.run_forked(
        _consumer(tag),
        tenants,
        seconds,
        who="in-process worker",
        start_clock=clocks.start,
        stop_clock=lambda: clocks.stop(run),
    )
    for _index, latencies, _user, _system in outcomes:
        run.latencies.extend(latencies)
    run.statuses = {201: len(run.latencies)}
    run.cpu["workers"] = sum(user + system for _index, _latencies, user, system in outcomes)
    run.cpu.pop("gunicorn", None)
    return run


@dataclass
class Row:
    mode: str
    n: int
    http: Run
    local: Run
    others: float  # cores others used before the pair

    @property
    def ratio(self) -> float:
        return self.http.rate / self.local.rate * 100 if self.local.rate else 0.0


def measure_pair(options, gunicorn, clocks, mode, n, tenants, tag) -> Row:
    _load, others = ledger.wait_for_quiet_machine(
        float("inf"), options.max_background, options.patience
    )
    http = http_run(gunicorn, clocks, tenants, f"{tag}-http", options.seconds)
    local = in_process_run(clocks, tenants, f"{tag}-local", options.seconds)
    row = Row(mode, n, http, local, others)
    print(
        f"  {mode:4} {n:2} connections: HTTP {http.rate:7.1f}/s p99 {http.percentile(99):6.1f} ms"
        f"  in-process {local.rate:7.1f}/s  ({row.ratio:5.1f} %)  others busy {others:.2f}"
        + (f"  errors: {http.errors()}" if http.errors() else ""),
        flush=True,
    )
    return row


def print_tables(options, rows: list[Row], paced_runs: dict[str, Run]) -> None:
    print()
    print(
        f"Each row: the median of {options.rounds} round(s) by ratio (HTTP, then in-process,"
        f" back to back), {options.seconds} s each; latency in ms."
    )
    print(
        "| mode | connections | HTTP req/s | HTTP p50 | HTTP p99 | in-process calls/s "
        "| in-process p50 | in-process p99 | HTTP ÷ in-process | target |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for row in rows:
        verdict = "met" if row.ratio >= TARGET_RATIO else "short"
        print(
            f"| {row.mode} | {row.n} | {row.http.rate:.0f} | {row.http.percentile(50):.1f} "
            f"| {row.http.percentile(99):.1f} | {row.local.rate:.0f} "
            f"| {row.local.percentile(50):.1f} | {row.local.percentile(99):.1f} "
            f"| {row.ratio:.1f} % | {TARGET_RATIO:.0f} % ({verdict}) |"
        )
    print()
    print("CPU per request in ms (HTTP) and per call (in-process); cores busy on the machine:")
    print(
        "| mode | connections | gunicorn (master + workers) | PostgreSQL HTTP / in-process "
        "| Redis | load generator | in-process workers | machine busy cores HTTP / in-process "
        "| others busy before |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for row in rows:
        h, local = row.http, row.local
        print(
            f"| {row.mode} | {row.n} | {ms(h.cpu_ms('gunicorn'))} "
            f"| {ms(h.cpu_ms('postgresql'))} / {ms(local.cpu_ms('postgresql'))} "
            f"| {ms(h.cpu_ms('redis'))} | {ms(h.cpu_ms('generator'))} "
            f"| {ms(local.cpu_ms('workers'))} | {h.busy:.2f} / {local.busy:.2f} "
            f"| {row.others:.2f} |"
        )
    print()
    print("Open loop, paced at half of the mode's peak HTTP rate (latency from when each was due):")
    print(
        "| mode | peak req/s | asked req/s | done req/s | p50 ms | p99 ms | max ms | target p99 "
        "| gunicorn CPU ms/req | PostgreSQL CPU ms/req | errors |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for mode, run in paced_runs.items():
        verdict = "met" if run.percentile(99) < TARGET_P99_MS else "short"
        print(
            f"| {mode} | {run.asked_rate * 2:.0f} | {run.asked_rate:.0f} | {run.rate:.0f} "
            f"| {run.percentile(50):.1f} | {run.percentile(99):.1f} | {run.percentile(100):.1f} "
            f"| < {TARGET_P99_MS:.0f} ms ({verdict}) | {ms(run.cpu_ms('gunicorn'))} "
            f"| {ms(run.cpu_ms('postgresql'))} | {run.errors() or 'none'} |"
        )
    for row in rows:
        if row.http.errors():
            print(f"errors {row.mode} {row.n}: HTTP {row.http.errors()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5, help="per measurement (default 5)")
    parser.add_argument("--connections", default="1,4,16", help="(default 1,4,16)")
    parser.add_argument("--modes", default="many,hot", help="(default many,hot)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn -w (default 4)")
    parser.add_argument(
        "--gunicorn-args",
        default="--worker-class gthread --threads 4 --keep-alive 30",
        help="gunicorn options after -w (default: the README's)",
    )
    parser.add_argument(
        "--database-url-query",
        default="",
        help="appended to DATABASE_URL for gunicorn only, e.g. conn_max_age=600",
    )
    parser.add_argument("--rounds", type=int, default=3, help="pairs per row; median kept")
    parser.add_argument("--max-background", type=float, default=0.3, help="cores others use")
    parser.add_argument("--patience", type=float, default=120, help="longest wait for it (s)")
    parser.add_argument("--no-paced", action="store_true", help="skip the open-loop runs")
    parser.add_argument("--no-analysis", action="store_true", help="skip round trips, profile")
    parser.add_argument("--profile-lines", type=int, default=30)
    options = parser.parse_args()
    counts = [int(n) for n in options.connections.split(",")]
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must name PostgreSQL: run under scripts/with-test-services")
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL must be set (rate limits counted in Redis, as in production)")

    ledger.setup_django()
    print("Setting up: migrate, organisations, grants, keys…", flush=True)
    ledger.migrate()
    tag = f"{os.getpid()}-{int(time.time())}"
    many, hot = make_tenants(max(counts), tag)
    facts = ledger.server_facts()
    ledger.ServerClock.find()
    database_url = os.environ["DATABASE_URL"]
    if options.database_url_query:
        database_url += ("&" if "?" in database_url else "?") + options.database_url_query
    extra = options.gunicorn_args.split()
    gunicorn_version = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), Python {sys.version.split()[0]}")
    print(f"server: {facts['version']}")
    print(
        f"server settings: fsync={facts['fsync']} synchronous_commit={facts['synchronous_commit']}"
        f" full_page_writes={facts['full_page_writes']} (the wrapper's)"
    )
    print(f"code: {ledger.code_version(('api', 'credits', 'clients', 'config'))}")
    print(
        f"web: {gunicorn_version}, gunicorn config.wsgi -w {options.workers} {' '.join(extra)}"
        f" DEBUG=false; DATABASE_URL query: {options.database_url_query or '(none, as the README)'}"
    )
    load, others = ledger.wait_for_quiet_machine(1.5, options.max_background, options.patience)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load)}; others {others:.2f} cores")

    rows: list[Row] = []
    paced_runs: dict[str, Run] = {}
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-")))
        gunicorn = Gunicorn(options.workers, extra, database_url, folder / "gunicorn.log")
        stack.callback(gunicorn.stop)
        gunicorn.wait_ready(hot.secret)
        clocks = Clocks(gunicorn, redis_pid())
        asyncio.run(closed_loop(gunicorn.port, many, f"{tag}-warm", 2.0))  # every worker warm
        for mode in options.modes.split(","):
            for n in counts:
                tenants = many[:n] if mode == "many" else [hot] * n
                rounds = [
                    measure_pair(
                        options, gunicorn, clocks, mode, n, tenants, f"{tag}-{mode}-{n}-{r}"
                    )
                    for r in range(options.rounds)
                ]
                rows.append(sorted(rounds, key=lambda row: row.ratio)[len(rounds) // 2])
            if options.no_paced:
                continue
            peak = max(row.http.rate for row in rows if row.mode == mode)
            tenants = many[: max(counts)] if mode == "many" else [hot]
            ledger.wait_for_quiet_machine(float("inf"), options.max_background, options.patience)
            clocks.start()
            run = asyncio.run(
                paced(gunicorn.port, tenants, f"{tag}-{mode}-paced", peak / 2, options.seconds)
            )
            paced_runs[mode] = clocks.stop(run)
            print(
                f"  {mode:4} paced at {peak / 2:.0f}/s: p50 {run.percentile(50):.1f} ms, "
                f"p99 {run.percentile(99):.1f} ms",
                flush=True,
            )
        # The floor of the stack: authentication, rate limit, one query, a small JSON answer.
        ledger.wait_for_quiet_machine(float("inf"), options.max_background, options.patience)
        readers = many[:4]
        asyncio.run(closed_loop(gunicorn.port, readers, "", 0.5, "/api/v1/balance/"))
        clocks.start()
        floor = clocks.stop(
            asyncio.run(
                closed_loop(gunicorn.port, readers, "", options.seconds, "/api/v1/balance/")
            )
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print_tables(options, rows, paced_runs)
    print()
    print(
        f"For comparison, GET /api/v1/balance/ at 4 connections (authentication, rate limit,"
        f" one query): {floor.rate:.0f} requests/s, p50 {floor.percentile(50):.1f} ms,"
        f" p99 {floor.percentile(99):.1f} ms; CPU per request: gunicorn"
        f" {ms(floor.cpu_ms('gunicorn'))} ms, PostgreSQL {ms(floor.cpu_ms('postgresql'))} ms"
        + (f"; errors {floor.errors()}" if floor.errors() else "")
    )
    if not options.no_analysis:
        analysis(options, many[0], tag, database_url)


if __name__ == "__main__":
    main()
