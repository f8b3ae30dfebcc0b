"""One POST to a receiver, with urllib (no new dependency), bounded in time, never raising.

* The connection goes to the address `webhooks.addresses.check` approved (pinned), with the
  URL's host name kept for the `Host` header and for TLS (SNI and certificate check).
* Connecting may take CONNECT_TIMEOUT; the whole exchange TOTAL_TIMEOUT, enforced by a timer
  that shuts the socket, so a receiver dripping one byte a second cannot hold a worker.
* Redirects are not followed (they could lead anywhere, private addresses included), and no
  proxy from the environment is used; a 3xx is an unsuccessful answer like a 4xx or 5xx.
* Only the first kilobyte of the answer is read: it is what the owner sees in the attempt.
"""

import contextlib
import http.client
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from functools import partial

from webhooks import addresses
from webhooks.exceptions import UnsafeAddress
from webhooks.models import EXCERPT_MAX_BYTES

CONNECT_TIMEOUT = 3.0  # seconds
TOTAL_TIMEOUT = 10.0  # seconds, from the first byte sent to the last read
USER_AGENT = "CreditPortal-Webhooks/1.0"


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Deadline:
    """Shuts the connections' sockets when the total time is up."""

    def __init__(self, seconds: float) -> None:
        self.ends_at = time.monotonic() + seconds
        self.connections: list[http.client.HTTPConnection] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def left(self) -> float:
        return max(self.ends_at - time.monotonic(), 0.001)

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        for connection in self.connections:
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Pinned:
    """Connects to the checked address instead of looking the host up again."""

    def __init__(self, *args, address: str, deadline: _Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._address = address
        self._deadline = deadline
        deadline.connections.append(self)

    def _create_connection(self, address, timeout=None, source_address=None):
        """Connect within CONNECT_TIMEOUT; then each read may wait for what is left of the
        total (the timer cuts a receiver that keeps the exchange alive beyond it)."""
        sock = socket.create_connection((self._address, address[1]), CONNECT_TIMEOUT)
        sock.settimeout(self._deadline.left())
        return sock


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    pass


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, connection) -> None:
        super().__init__()
        self._connection = connection

    def http_open(self, req):
        return self.do_open(self._connection, req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, connection) -> None:
        super().__init__()
        self._connection = connection

    def https_open(self, req):
        return self.do_open(self._connection, req, context=self._context)


def _opener(target: addresses.Target, deadline: _Deadline) -> urllib.request.OpenerDirector:
    """Only these two handlers: no redirects, no proxies, no error processing (every status
    comes back as an answer)."""
    opener = urllib.request.OpenerDirector()
    pinned = {"address": target.address, "deadline": deadline}
    opener.add_handler(_HttpHandler(partial(_PinnedHTTP, **pinned)))
    opener.add_handler(_HttpsHandler(partial(_PinnedHTTPS, **pinned)))
    return opener


def _excerpt(raw: bytes) -> str:
    return raw[:EXCERPT_MAX_BYTES].decode("utf-8", errors="replace")[:EXCERPT_MAX_BYTES]


def _describe(error: BaseException, deadline: _Deadline) -> str:
    if deadline.expired or isinstance(error, TimeoutError | socket.timeout):
        return f"Timed out (connect {CONNECT_TIMEOUT:g} s, total {TOTAL_TIMEOUT:g} s)"
    reason = getattr(error, "reason", None)
    if isinstance(error, urllib.request.URLError) and reason is not None:
        error = reason if isinstance(reason, BaseException) else error
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; the receiver's status code and first kilobyte, or why no answer
    came. Never raises, never follows a redirect, never takes longer than about TOTAL_TIMEOUT
    (plus the DNS lookup)."""
    started = time.monotonic()

    def answer(status: int | None = None, excerpt: str = "", error: str = "") -> Answer:
        duration = round((time.monotonic() - started) * 1000)
        return Answer(status, excerpt, error[:500], duration)

    try:
        target = addresses.check(url)
    except UnsafeAddress as refusal:
        return answer(error=str(refusal))
    request = urllib.request.Request(
        target.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    deadline = _Deadline(TOTAL_TIMEOUT)
    try:
        with deadline, _opener(target, deadline).open(request, timeout=CONNECT_TIMEOUT) as reply:
            status = reply.status
            excerpt = _excerpt(reply.read(EXCERPT_MAX_BYTES))
    except Exception as error:  # every failure of the network or the receiver is an answer
        return answer(error=_describe(error, deadline))
    return answer(status, excerpt)
