"""Webhook test fixtures: a real HTTP receiver on 127.0.0.1, an address where nothing listens,
endpoints made through the services, and the portal tests' organisations.

`receiver.script = [500, 200]` answers 500, then 200 (then 200 by default); `receiver.delay`
makes every answer slow; `receiver.requests` keeps what arrived (headers, body, path), in order.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.portal.conftest import PASSWORD, login, make_portal  # noqa: F401
from webhooks import services

__all__ = ["PASSWORD", "Received", "Receiver"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that gave up (the portal's timeout) breaks the pipe: not a test failure."""


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[int] = []
        self.delay = 0.0
        self.body = b'{"ok":true}'
        self.headers: dict[str, str] = {}
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator["Receiver"]:
        made = cls()
        made.thread.start()
        try:
            yield made
        finally:
            made.server.shutdown()
            made.server.server_close()

    def _handler(receiver) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver():
    with Receiver.running() as made:
        yield made


@pytest.fixture
def closed_url() -> str:
    """A URL on a loopback port where nothing listens (closed again when the probe ends)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


@pytest.fixture(autouse=True)
def _receivers_on_loopback(settings):
    """The receivers of these tests listen on 127.0.0.1, which production refuses."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def make_endpoint(db):
    def make(organisation, url: str, *, events=(), all_events: bool = False, **extra):
        return services.register_endpoint(
            organisation=organisation,
            url=url,
            events=list(events),
            all_events=all_events or not events,
            now=extra.pop("now", timezone.now()),
            **extra,
        )

    return make
