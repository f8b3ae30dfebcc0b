"""Enqueuing jobs after commit, without ever turning a committed write into an error.

The write is already durable when the job is enqueued; if the broker is down the enqueue is
logged and the periodic sweep of the job's app finds the work by its state in the database
(X4). So an enqueue failure is never raised to the caller (a paid purchase must not answer 500
because Redis is away).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger("portal.jobs")


def enqueue(task: Any, *args: object) -> bool:
    """Send `task.delay(*args)` now; log and swallow any failure. Returns whether it went."""
    try:
        task.delay(*args)
    except Exception:  # the broker, its network, its serialiser: all left to the sweep
        logger.exception("could not enqueue %s%r; the sweep will pick it up", task.name, args)
        return False
    return True


def enqueue_on_commit(task_getter: Callable[[], Any], *args: object) -> None:
    """Enqueue once the current transaction commits (at once outside one). The task is
    looked up lazily so services need not import their tasks module at import time."""
    transaction.on_commit(lambda: enqueue(task_getter(), *args))
