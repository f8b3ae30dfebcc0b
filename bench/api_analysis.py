"""Where the time of one API request goes (bench/api.py's analysis): what it sends to
PostgreSQL and Redis, each piece timed alone, Django's WSGI app in-process, and cProfiles of
that and of a gunicorn worker."""

import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench import ledger
from bench.api_http import BODY, PATH, Gunicorn, Run, Tenant, closed_loop, ms


def wsgi_environ(tenant: Tenant, key: str) -> dict:
    """The environ gunicorn hands Django for one request of the benchmark."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {tenant.secret}",
        "HTTP_IDEMPOTENCY_KEY": key,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(BODY)),
        "wsgi.input": io.BytesIO(BODY),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call_wsgi(application, tenant: Tenant, key: str) -> int:
    """One request through Django's WSGI handler, as gunicorn's worker makes it (the
    response closed, which sends request_finished: connections older than CONN_MAX_AGE
    close)."""
    status = []
    response = application(wsgi_environ(tenant, key), lambda s, h, e=None: status.append(s))
    try:
        for _chunk in response:
            pass
    finally:
        response.close()
    return int(status[0][:3])


@contextlib.contextmanager
def redis_commands():
    """The commands this process sends to Redis (the rate limit's pipeline, any enqueue)."""
    from redis.connection import AbstractConnection

    seen: list[str] = []
    original = AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        parts = command if isinstance(command, list) else [command]
        names = []
        for part in parts:  # RESP: "*<n>", "$<length>", the command's name, its arguments
            tokens = bytes(part).split(b"\r\n")
            names += [
                tokens[i + 2].decode(errors="replace")
                for i, token in enumerate(tokens[:-2])
                if token.startswith(b"*") and tokens[i + 1].startswith(b"$")
            ]
        seen.append("REDIS " + " ".join(names or ["?"]))
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = send
    try:
        yield seen
    finally:
        AbstractConnection.send_packed_command = original


def request_round_trips(tenant: Tenant, tag: str) -> list[str]:
    """What one request sends (warm process, as the benchmark's requests run)."""
    from django.core.wsgi import get_wsgi_application
    from django.db.backends.signals import connection_created

    application = get_wsgi_application()
    call_wsgi(application, tenant, f"{tag}-warm")
    connects: list[str] = []

    def created(sender, connection, **kwargs):
        connects.append("CONNECT (a new PostgreSQL connection and backend)")

    connection_created.connect(created)
    try:
        with ledger.round_trips() as seen, redis_commands() as sent:
            status = call_wsgi(application, tenant, f"{tag}-seen")
    finally:
        connection_created.disconnect(created)
    assert status == 201, status
    return connects + [what for what, _s in seen] + sent


def wsgi_rate(tenant: Tenant, tag: str, seconds: float, conn_max_age: int) -> Run:
    """Django's WSGI application called in this process, no HTTP, one request at a time."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    connection.close()
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = conn_max_age
    try:
        for n in range(50):
            call_wsgi(application, tenant, f"{tag}-warm-{n}")
        run, until, n = Run(seconds=seconds), time.monotonic() + seconds, 0
        cpu = os.times()
        while time.monotonic() < until:
            start = time.perf_counter()
            status = call_wsgi(application, tenant, f"{tag}-{n}")
            run.latencies.append(time.perf_counter() - start)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            n += 1
        after = os.times()
        run.cpu["process"] = after.user - cpu.user + after.system - cpu.system
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = saved
    return run


def profile_wsgi(tenant: Tenant, tag: str, seconds: float, lines: int) -> tuple[int, str]:
    """Django's and the API's own work per request, the connection kept (CONN_MAX_AGE 600)."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    connection.close()
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    try:
        for n in range(50):
            call_wsgi(application, tenant, f"{tag}-warm-{n}")
        profiler, count, until = cProfile.Profile(), 0, time.monotonic() + seconds
        profiler.enable()
        while time.monotonic() < until:
            call_wsgi(application, tenant, f"{tag}-{count}")
            count += 1
        profiler.disable()
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = saved
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return count, out.getvalue()


def time_split(tenant: Tenant, tag: str, calls: int = 300) -> list[tuple[str, float, float]]:
    """Each piece of one request timed alone, in this process, the connection kept: (what,
    wall ms, CPU ms) per call, means over `calls`. What the pieces leave of the whole request
    is Django's and DRF's own machinery (middleware, dispatch, parsing, rendering)."""
    import hashlib

    from django.contrib.auth import get_user_model
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.utils import timezone
    from rest_framework.renderers import JSONRenderer

    from api import services as api_services
    from api.authentication import ApiKeyAuthentication, own_client_of
    from api.serializers.consumptions import ConsumptionSerializer
    from api.throttling import count_request
    from clients.models import Client
    from credits import services

    application = get_wsgi_application()
    connection.close()
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    client = Client.objects.select_related("organisation").get(pk=tenant.client_id)
    organisation, actor = client.organisation, get_user_model().objects.get(pk=tenant.actor_id)
    made: list = []

    def request(n):
        call_wsgi(application, tenant, f"{tag}-wsgi-{n}")

    def read(n):
        environ = wsgi_environ(tenant, "")
        environ.update(REQUEST_METHOD="GET", PATH_INFO="/api/v1/balance/", CONTENT_LENGTH="0")
        response = application(environ, lambda *a: None)
        response.close()

    def authenticate(n):
        ApiKeyAuthentication()._key(tenant.secret)

    def rate_limit(n):
        count_request(tenant.key_id, time.time())

    def idempotency(n):
        record, _owned = api_services.begin_request(
            organisation=organisation,
            key=f"{tag}-idem-{n}",
            fingerprint=hashlib.sha256(BODY).hexdigest(),
            now=timezone.now(),
        )
        api_services.finish_request(
            record=record,
            status_code=201,
            content_type="application/json",
            body=BODY * 10,
            now=timezone.now(),
        )

    def own_client(n):
        # As the view finds it: from the key the authenticating query read (no query).
        own_client_of(ApiKeyAuthentication()._key(tenant.secret))

    def consume(n):
        made.append(
            services.consume(
                client=client,
                action="bench",
                now=timezone.now(),
                actor=actor,
                idempotency_key=f"api:{tag}-consume-{n}",
            )
        )

    def answer(n):
        JSONRenderer().render(ConsumptionSerializer(made[n % len(made)]).data)

    pieces = [
        ("the whole request, Django's WSGI app (POST consumption)", request),
        ("GET /api/v1/balance/ through the WSGI app, for comparison", read),
        ("authentication (ApiKeyAuthentication._key)", authenticate),
        ("rate limit (count_request, Redis)", rate_limit),
        ("Idempotency-Key record (begin_request + finish_request)", idempotency),
        ("the own client (client_for(None): read with the key)", own_client),
        ("credits.services.consume", consume),
        ("the answer (ConsumptionSerializer + JSONRenderer)", answer),
    ]
    found = []
    try:
        for what, piece in pieces:
            for n in range(20):
                piece(-1 - n)  # warm
            wall, cpu = time.perf_counter(), time.process_time()
            for n in range(calls):
                piece(n)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            found.append((what, wall / calls * 1000, cpu / calls * 1000))
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = saved
    return found


PROFILE_HOOKS = """
import cProfile, os

_profiler = None


def pre_request(worker, req):
    # Profile from the first request of the measured run on, gunicorn's own work included.
    global _profiler
    if _profiler is None and any(
        name == "IDEMPOTENCY-KEY" and value.startswith({tag!r}) for name, value in req.headers
    ):
        _profiler = cProfile.Profile()
        _profiler.enable()


def worker_exit(server, worker):
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(os.path.join({folder!r}, "worker-%d.prof" % os.getpid()))
"""


def profile_gunicorn(
    tenant: Tenant, tag: str, seconds: float, lines: int, database_url: str
) -> tuple[int, str]:
    """cProfile inside one gunicorn worker (-w 1), one connection, after a warm-up: gunicorn's
    accept, parse and write as well as Django's and the API's work."""
    with tempfile.TemporaryDirectory(prefix="bench-api-profile-") as folder:
        hooks = Path(folder) / "hooks.py"
        hooks.write_text(PROFILE_HOOKS.format(tag=f"{tag}-measured", folder=folder))
        gunicorn = Gunicorn(1, ["-c", str(hooks)], database_url, Path(folder) / "log")
        try:
            gunicorn.wait_ready(tenant.secret)
            asyncio.run(closed_loop(gunicorn.port, [tenant], f"{tag}-warm", 1.0))
            run = asyncio.run(closed_loop(gunicorn.port, [tenant], f"{tag}-measured", seconds))
        finally:
            gunicorn.stop()
        files = sorted(Path(folder).glob("worker-*.prof"))
        if not files:
            return 0, "(no profile written: see the worker's log)\n" + gunicorn.log_text()
        out = io.StringIO()
        stats = pstats.Stats(*[str(f) for f in files], stream=out)
        stats.sort_stats("cumulative").print_stats(lines)
        stats.sort_stats("tottime").print_stats(lines)
        return len(run.latencies), out.getvalue()


def analysis(options, tenant: Tenant, tag: str, database_url: str) -> None:
    print()
    sent = request_round_trips(tenant, f"{tag}-trips")
    print(f"One request (POST {PATH}, flat action, warm process), as the README's settings run")
    print(f"it: {len(sent)} round trip(s):")
    for number, what in enumerate(sent, 1):
        print(f"  {number:2}. {what}")
    print()
    print("Time split of one request, in this process, the connection kept (ms per call):")
    print("| piece | wall | CPU |")
    print("|---|--:|--:|")
    for what, wall, cpu in time_split(tenant, f"{tag}-split"):
        print(f"| {what} | {wall:.3f} | {cpu:.3f} |")
    print()
    for age in (0, 600):
        run = wsgi_rate(tenant, f"{tag}-wsgi-{age}", options.seconds, age)
        print(
            f"Django's WSGI application in this process, no HTTP, CONN_MAX_AGE={age}: "
            f"{run.rate:.0f} requests/s, p50 {run.percentile(50):.2f} ms, "
            f"p99 {run.percentile(99):.2f} ms, CPU {ms(run.cpu_ms('process'))} ms per request"
            + (f" (errors {run.errors()})" if run.errors() else "")
        )
    print()
    count, text = profile_wsgi(tenant, f"{tag}-profile", options.seconds, options.profile_lines)
    print(
        "cProfile of Django's WSGI application in this process, CONN_MAX_AGE=600"
        f" ({count} requests):"
    )
    print(text)
    count, text = profile_gunicorn(
        tenant, f"{tag}-gunicorn-profile", options.seconds, options.profile_lines, database_url
    )
    print(f"cProfile of one gunicorn worker (-w 1, one connection, {count} requests):")
    print(text)
