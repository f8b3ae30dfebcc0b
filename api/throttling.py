"""Rate limits per API key: a fixed one-minute window counted in Redis when `REDIS_URL` is
set (so every web process shares the count), in the process otherwise (tests, the demo).

One round trip per request (INCR and EXPIRE in one pipeline). If Redis does not answer the
request goes through and the failure is logged: a limit is a protection, never a reason to
refuse paying customers' work.
"""

import logging
import math
import threading
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from api.models import ApiKey

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class _LocalCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, int], int] = {}

    def hit(self, key_id: int, window: int) -> int:
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key_id, window), 0) + 1
            self._counts[(key_id, window)] = count
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_counter = _LocalCounter()
_redis = None
_redis_lock = threading.Lock()


def _redis_client():
    global _redis
    if _redis is None:
        with _redis_lock:
            if _redis is None:
                import redis

                _redis = redis.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25
                )
    return _redis


def count_request(key_id: int, now: float) -> int:
    """This request's number in the key's current window."""
    window = int(now // WINDOW_SECONDS)
    if not settings.REDIS_URL:
        return local_counter.hit(key_id, window)
    name = f"api:rate:{key_id}:{window}"
    pipe = _redis_client().pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, WINDOW_SECONDS * 2)
    return pipe.execute()[0]


class PerKeyRate(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        now = time.time()
        try:
            count = count_request(key.pk, now)
        except Exception:
            log.exception("API rate limit not counted (Redis unreachable); request allowed")
            return True
        if count <= key.requests_per_minute:
            return True
        self._wait = math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS)
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
