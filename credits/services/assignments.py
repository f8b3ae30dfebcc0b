"""Assignments to clients (G3, G4, S5) and spending limits (D4)."""

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from clients.models import Client, ClientKind, Organisation
from credits import bounds
from credits.exceptions import (
    ForeignClient,
    InsufficientCredits,
    InvalidAmount,
    NotReassignable,
)
from credits.models import (
    Assignment,
    AssignmentKind,
    ClientAccount,
    EntryKind,
    LimitKind,
)
from credits.periods import month_start, monthly_window_restart
from credits.services.core import (
    User,
    Work,
    check_credits,
    check_key,
    lock_pool,
    locked_operation,
    refuse_inactive,
    restart_window,
    roll_monthly_window,
)


def _check_texts(reference: str, idempotency_key: str) -> None:
    """The reference is kept by the assignment (200 characters) and its entry."""
    bounds.check_text(reference, bounds.REFERENCE_LENGTH, _("A reference"))
    check_key(idempotency_key)


def assign(
    *,
    organisation: Organisation,
    client: Client,
    credits: int,
    now: datetime,
    reference: str = "",
    comment: str = "",
    actor: User = None,
    idempotency_key: str = "",
) -> Assignment:
    """Move unassigned credits to one client of the same organisation (S7)."""
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("Credits cannot move to another organisation's client."))
    return _move_assignment(
        AssignmentKind.ASSIGN,
        _refuse_assign,
        client=client,
        credits=credits,
        now=now,
        reference=reference,
        comment=comment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def unassign(
    *,
    organisation: Organisation,
    client: Client,
    credits: int,
    now: datetime,
    reference: str = "",
    comment: str = "",
    actor: User = None,
    idempotency_key: str = "",
) -> Assignment:
    """Take assigned credits back to the pool, where the organisation's policy allows it (the
    serious-game preset never does, G3)."""
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    return _move_assignment(
        AssignmentKind.UNASSIGN,
        _refuse_unassign,
        client=client,
        credits=credits,
        now=now,
        reference=reference,
        comment=comment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def _refuse_assign(work: Work, client: Client, credits: int) -> None:
    refuse_inactive(client)
    unassigned = work.pool.balance - work.pool.held - work.pool.assigned
    if credits > unassigned:
        raise InsufficientCredits(needed=credits, available=unassigned)


def _refuse_unassign(work: Work, client: Client, credits: int) -> None:
    if not work.pool.assignments_reversible:
        raise NotReassignable(_("Assigned credits cannot be taken back in this organisation."))
    account = work.account(client.pk)
    if credits > account.assigned_remaining:
        raise InsufficientCredits(needed=credits, available=account.assigned_remaining)


def _move_assignment(
    kind: str,
    refuse: Callable[[Work, Client, int], None],
    *,
    client: Client,
    credits: int,
    now: datetime,
    reference: str,
    comment: str,
    actor: User,
    idempotency_key: str,
) -> Assignment:
    """Both directions are one operation: the same key, checks and entries; only what each
    refuses differs (`refuse`, which reads the figures under the lock)."""
    check_credits(credits)
    _check_texts(reference, idempotency_key)
    with locked_operation(
        client.organisation_id,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation=kind,
        inputs={"client": client.pk, "credits": credits, "reference": reference},
    ) as operation:
        if operation.replayed is not None:
            return Assignment.objects.get(pk=operation.replayed)
        work = operation.work
        refuse(work, client, credits)
        delta = credits if kind == AssignmentKind.ASSIGN else -credits
        account = work.account(client.pk)
        account.assigned_remaining += delta
        work.pool.assigned += delta
        assignment = operation.result = Assignment.objects.create(
            organisation_id=work.pool.pk,
            client=client,
            kind=kind,
            credits=credits,
            reference=reference,
            comment=comment,
            actor=work.actor,
            created_at=work.now,
        )
        entry_kind = EntryKind.ASSIGN if kind == AssignmentKind.ASSIGN else EntryKind.UNASSIGN
        work.entry(
            entry_kind,
            client_id=client.pk,
            assignment_id=assignment.pk,
            assigned_delta=delta,
            reference=reference,
        )
    return assignment


def set_spending_limit(
    *,
    client: Client,
    kind: str,
    now: datetime,
    limit: int | None = None,
    draws_from_pool: bool | None = None,
    actor: User = None,
) -> ClientAccount:
    """Set what a client may draw from the pool (D4, S5). Switching between monthly and fixed
    (or from none) starts a new window with the used counter at 0 — plus whatever the client's
    active holds still reserve, which will be spent in the new window. Without a limit nothing
    is counted: the counter goes to 0."""
    if kind not in LimitKind.values:
        raise InvalidAmount(_("Unknown kind of spending limit: %s") % kind)
    if kind == LimitKind.NONE:
        limit = None
    else:
        check_credits(limit, allow_zero=True)
    with locked_operation(client.organisation_id, now=now, actor=actor) as operation:
        work = operation.work
        account = work.account(client.pk)
        if kind != account.limit_kind:
            start = month_start(now, client.organisation.time_zone) if kind == "monthly" else now
            restart_window(work, account, start, counting=kind != LimitKind.NONE)
        account.limit_kind = kind
        account.limit = limit
        if draws_from_pool is not None:
            account.draws_from_pool = draws_from_pool or client.kind == ClientKind.OWN
        account.save(update_fields=["limit_kind", "limit", "draws_from_pool"])
    return account


def reset_monthly(*, now: datetime) -> int:
    """The monthly job: monthly limits whose window started before this month (in each
    organisation's time zone) start a new one. Re-running it is harmless. Returns how many."""
    accounts = ClientAccount.objects.filter(limit_kind=LimitKind.MONTHLY).select_related(
        "organisation"
    )
    due = [
        account
        for account in accounts
        if monthly_window_restart(
            limit_kind=account.limit_kind,
            window_start=account.window_start,
            now=now,
            time_zone=account.organisation.time_zone,
        )
    ]
    reset = 0
    for account in due:
        with transaction.atomic():
            work = Work(pool=lock_pool(account.organisation_id), now=now)
            locked = work.account(account.pk)
            before = locked.window_start
            roll_monthly_window(work, locked, account.organisation.time_zone)
            reset += locked.window_start != before
            work.save()
    return reset
