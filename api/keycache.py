"""API keys read by recent requests, kept in the process for `API_KEY_CACHE_SECONDS`.

Why: reading a key with its organisation, client, creator and the organisation's own client
is one query, but Django takes 2.5 ms to build it (measured in tests/api, bench/RESULTS.md
"API over HTTP"), more than the consumption it authenticates. The secret is still checked
against the stored hash at every request; what the cache delays is a change made in another
process: a key revoked there, or its rate changed, takes effect here within the cache's
lifetime (5 s by default). A revocation in this process takes effect at once.
"""

import threading
import time

from django.conf import settings

_lock = threading.Lock()
_keys: dict[str, tuple[object, float]] = {}
MAX_KEYS = 10_000


def get(prefix: str) -> object | None:
    entry = _keys.get(prefix)
    if entry is None or time.monotonic() - entry[1] >= settings.API_KEY_CACHE_SECONDS:
        return None
    return entry[0]


def put(prefix: str, key: object) -> None:
    if settings.API_KEY_CACHE_SECONDS <= 0:
        return
    with _lock:
        if len(_keys) >= MAX_KEYS:
            _keys.clear()
        _keys[prefix] = (key, time.monotonic())


def forget(prefix: str) -> None:
    with _lock:
        _keys.pop(prefix, None)


def clear() -> None:
    with _lock:
        _keys.clear()
