"""The HTTP side of bench/api.py: gunicorn started as the README runs it, an asyncio
HTTP/1.1 load generator (closed loop and paced), and the CPU clocks of each process."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import ledger

ROOT = Path(__file__).resolve().parent.parent

TARGET_RATIO = 30.0  # % of in-process consume, at the same concurrency
TARGET_P99_MS = 25.0  # at half of the peak rate
BODY = b'{"action": "bench"}'
PATH = "/api/v1/consumptions/"
RATE_PER_MINUTE = 1_000_000  # the most a key may have: the limit is counted, never reached


@dataclass(frozen=True)
class Tenant:
    """One organisation as the bench uses it: its own client, its key, the key's creator."""

    client_id: int
    key_id: int
    secret: str
    actor_id: int | None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn as the README runs it (stopped by its own pid, never by name)."""

    def __init__(self, workers: int, extra: list[str], database_url: str, log: Path) -> None:
        self.port = free_port()
        self.command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{self.port}",
            *extra,
        ]
        env = {**os.environ, "DEBUG": "false", "DATABASE_URL": database_url}
        self.log = log.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, secret: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/balance/",
            headers={"Authorization": f"Bearer {secret}"},
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited ({self.process.returncode}):\n{self.log_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(request, timeout=5) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.2)
        sys.exit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_text()}")

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text()[-5000:]

    def cpu_seconds(self) -> float:
        """The master, its live workers, and (cutime/cstime) workers it has reaped."""
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # only the gunicorn this script started
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    own = sum(int(x) for x in _stat(pid)[11:15])  # utime, stime, cutime, cstime
    children = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                child = _stat(int(entry.name))
                if int(child[1]) == pid:
                    children += int(child[11]) + int(child[12])
    return (own + children) / tick


def redis_pid() -> int:
    """The redis-server listening on REDIS_URL's port (0 when not visible here)."""
    port = str(urlsplit(os.environ["REDIS_URL"]).port or 6379)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() != "redis-server":
                    continue
                if port in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return int(entry.name)
    return 0


@dataclass
class Run:
    """What one measurement saw."""

    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, requests done in time
    statuses: dict[int, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # side → CPU seconds during the run
    busy: float = 0.0  # cores busy on the whole machine
    asked_rate: float = 0.0  # paced runs only

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0

    def cpu_ms(self, side: str) -> float:
        value = self.cpu.get(side, -1.0)
        return value / len(self.latencies) * 1000 if value >= 0 and self.latencies else -1.0

    def errors(self) -> str:
        return ", ".join(
            f"{n}×{s}" for s, n in sorted(self.statuses.items()) if s not in (200, 201)
        )


class Connection:
    """One HTTP/1.1 connection that reconnects when the server closes it."""

    def __init__(self, port: int, tenant: Tenant, tag: str, read_path: str = "") -> None:
        """POST a consumption with an Idempotency-Key of its own, or GET `read_path`."""
        self.port, self.tag, self.sent = port, tag, 0
        common = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {tenant.secret}\r\n"
        if read_path:
            self.head, self.body = f"GET {read_path} HTTP/1.1\r\n{common}\r\n".encode(), None
        else:
            self.head = (
                f"POST {PATH} HTTP/1.1\r\n{common}Content-Type: application/json\r\n"
                f"Content-Length: {len(BODY)}\r\nIdempotency-Key: "
            ).encode()
            self.body = BODY
        self.reader = self.writer = None

    async def send(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.sent += 1
        if self.body is None:
            self.writer.write(self.head)
        else:
            self.writer.write(self.head + f"{self.tag}-{self.sent}\r\n\r\n".encode() + self.body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _colon, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def closed_loop(
    port: int, tenants: list[Tenant], tag: str, seconds: float, read_path: str = ""
) -> Run:
    """Each connection sends its next request as soon as the last one answered."""
    run = Run(seconds=seconds)
    connections = [Connection(port, t, f"{tag}-{i}", read_path) for i, t in enumerate(tenants)]
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds

    async def drive(connection: Connection) -> None:
        while True:
            start = time.perf_counter()
            status = await connection.send()
            if loop.time() > until:
                return
            run.latencies.append(time.perf_counter() - start)
            run.statuses[status] = run.statuses.get(status, 0) + 1

    try:
        await asyncio.gather(*(drive(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return run


async def paced(port: int, tenants: list[Tenant], tag: str, rate: float, seconds: float) -> Run:
    """Open loop: request i is due at start + i / rate, sent then on a connection of its own
    whatever the earlier ones are doing; its latency counts from when it was due."""
    run = Run(seconds=seconds, asked_rate=rate)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    pending = []

    async def one(index: int, due: float) -> None:
        connection = Connection(port, tenants[index % len(tenants)], f"{tag}-{index}")
        try:
            status = await connection.send()
        finally:
            connection.close()
        run.latencies.append(loop.time() - due)
        run.statuses[status] = run.statuses.get(status, 0) + 1

    for index in range(int(rate * seconds)):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.ensure_future(one(index, due)))
    await asyncio.gather(*pending)
    return run


class Clocks:
    """CPU seconds of each side between start() and stop()."""

    def __init__(self, gunicorn: Gunicorn | None, redis: int) -> None:
        self.gunicorn, self.redis = gunicorn, redis

    def read(self) -> dict[str, float]:
        times = os.times()
        found = {
            "postgresql": ledger.ServerClock.seconds(),
            "generator": times.user + times.system,
            "redis": tree_cpu_seconds(self.redis) if self.redis else -1.0,
        }
        if self.gunicorn is not None:
            found["gunicorn"] = self.gunicorn.cpu_seconds()
        return found

    def start(self) -> "Clocks":
        self.before, self.jiffies = self.read(), ledger.cpu_busy_jiffies()
        return self

    def stop(self, run: Run) -> Run:
        after = self.read()
        run.busy = ledger.busy_cores(self.jiffies, ledger.cpu_busy_jiffies())
        run.cpu = {
            side: after[side] - self.before[side]
            if min(after[side], self.before[side]) >= 0
            else -1
            for side in after
        }
        return run


def ms(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value >= 0 else "?"
