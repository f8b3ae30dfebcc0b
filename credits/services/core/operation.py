"""One shape for every operation that changes the ledger: lock, replay or bring up to date,
work, write, remember.

Why one helper: each service used to write this opening out by hand (lock the pool, answer a
retried request, expire what is due, …, save, remember the key), and an operation that forgot
a step (the expiry before reading a figure, or remembering its key after writing) would be
wrong in a way no test of another operation would catch.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import models, transaction

from credits.ratecards import Repriced
from credits.services.core.lazy_expiry import expire_due_locked
from credits.services.core.work import User, Work, fingerprint, lock_pool, remember, replay


@dataclass
class Operation:
    """An operation in progress under its organisation's pool lock.

    `replayed` is the id of the first result when the request is a retry of one already done
    (X3): the operation then answers with that result and writes nothing. Otherwise it sets
    `result` to what it made, which is remembered under its idempotency key once written."""

    work: Work
    replayed: int | None
    result: models.Model | None = None


@contextmanager
def locked_operation(
    organisation_id: int,
    *,
    now: datetime,
    actor: User = None,
    key: str = "",
    operation: str = "",
    inputs: Mapping[str, object] | None = None,
    rate_card_version: int | None = None,
    before_expiry: Callable[[], None] | None = None,
) -> Iterator[Operation]:
    """Run the body in one transaction, under the pool lock (the first lock of the fixed order).

    In the order `credits/sql/credits_debit.sql` checks them: a caller that priced with
    another version of the rate card is refused (`Repriced`); a retried request (the same
    `key` and `inputs`; other inputs are a conflict) is replayed; `before_expiry` refuses what
    the operation must refuse before anything is written; then what is due expires, so the
    body reads current figures. After the body, the figures and entries are written and the
    key remembered with the result. A refusal raised by the body undoes everything."""
    with transaction.atomic():
        work = Work(pool=lock_pool(organisation_id), now=now, actor=actor, key=key)
        if rate_card_version is not None and rate_card_version != work.pool.rate_card_version:
            raise Repriced()
        signature = fingerprint(operation, **(inputs or {})) if key else ""
        running = Operation(work=work, replayed=replay(work.pool, key, signature))
        if running.replayed is None:
            if before_expiry is not None:
                before_expiry()
            expire_due_locked(work)
        yield running
        if running.replayed is None:
            work.save()
            if key:
                remember(work, operation, signature, running.result.pk)
