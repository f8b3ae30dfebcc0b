"""Credits out: debits and holds (reserve, capture, release)."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from clients.models import Client
from credits import bounds
from credits.exceptions import (
    ForeignClient,
    HoldExpired,
    HoldNotActive,
    InvalidAmount,
    QuoteUsed,
)
from credits.funding import Split, decide_funding
from credits.models import (
    ClientAccount,
    Consumption,
    CreditPool,
    EntryKind,
    Hold,
    HoldStatus,
    Quote,
)
from credits.ratecards import Repriced
from credits.services import database_debit
from credits.services.core import (
    User,
    Work,
    check_credits,
    check_key,
    expire_due_locked,
    fingerprint,
    locked_operation,
    refuse_inactive,
    release_hold,
    roll_monthly_window,
    take_from_lots,
)


def _check_texts(action_code: str, description: str, idempotency_key: str) -> None:
    """What a consumption or a hold keeps in columns of fixed length (X6)."""
    bounds.check_text(action_code, bounds.ACTION_CODE_LENGTH, _("An action's code"))
    bounds.check_text(description, bounds.DESCRIPTION_LENGTH, _("A description"))
    check_key(idempotency_key)


def _fund(work: Work, client: Client, credits: int) -> tuple[ClientAccount, Split]:
    """Decide, under the lock, where a client's spend comes from; refuse it whole if any
    source falls short."""
    if client.organisation_id != work.pool.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    refuse_inactive(client)
    account = work.account(client.pk)
    roll_monthly_window(work, account, client.organisation.time_zone)
    return account, decide_funding(pool=work.pool, account=account, credits=credits)


def debit(
    *,
    client: Client,
    credits: int,
    action_code: str,
    now: datetime,
    description: str = "",
    params: dict | None = None,
    actor: User = None,
    idempotency_key: str = "",
    quote_id: int | None = None,
    rate_card_version: int | None = None,
) -> Consumption:
    """Spend a client's credits on an action. Zero credits (a free action, C1) records the
    use without touching any figure.

    `consume` passes the quote it claims (`quote_id`: refused with QuoteUsed once claimed) and
    the version of the rate card it priced with (`rate_card_version`: `Repriced` when the card
    changed since); both are checked under the pool lock before anything is written, the
    version before the idempotency key and the quote after it (credits/sql/credits_debit.sql).

    On PostgreSQL the debit is one statement (`database_debit`); it hands the debit back to
    the Python path below when expiry is due, and SQLite always takes the Python path."""
    check_credits(credits, allow_zero=True)
    _check_texts(action_code, description, idempotency_key)
    params = params or {}
    db = database_debit.database()
    if db is not None:
        if credits:
            refuse_inactive(client)
        consumption = database_debit.debit_in_database(
            db,
            client=client,
            credits=credits,
            action_code=action_code,
            now=now,
            description=description,
            params=params,
            actor=actor,
            idempotency_key=idempotency_key,
            fingerprint=_debit_fingerprint(
                client, credits, action_code, params, idempotency_key, quote_id
            ),
            quote_id=quote_id,
            rate_card_version=rate_card_version,
        )
        if consumption is not None:
            return consumption
    if credits == 0:
        return _free_debit(
            client=client,
            action_code=action_code,
            now=now,
            description=description,
            params=params,
            actor=actor,
            quote_id=quote_id,
            rate_card_version=rate_card_version,
        )
    return _debit(
        client=client,
        credits=credits,
        action_code=action_code,
        now=now,
        description=description,
        params=params,
        actor=actor,
        idempotency_key=idempotency_key,
        quote_id=quote_id,
        rate_card_version=rate_card_version,
    )


def _debit_inputs(
    client: Client, credits: int, action_code: str, params: dict, quote_id: int | None
) -> dict[str, object]:
    """What makes two debits the same request. A quote's id is part of it: the same key with
    another quote is another request."""
    values: dict[str, object] = {
        "client": client.pk,
        "credits": credits,
        "action": action_code,
        "params": params,
    }
    if quote_id is not None:
        values["quote"] = quote_id
    return values


def _debit_fingerprint(
    client: Client,
    credits: int,
    action_code: str,
    params: dict,
    idempotency_key: str,
    quote_id: int | None = None,
) -> str:
    """The fingerprint `credits_debit` stores with the key, as `locked_operation` computes
    it. Only a keyed request is ever compared, so an unkeyed one skips the hashing."""
    if not idempotency_key:
        return ""
    return fingerprint("debit", **_debit_inputs(client, credits, action_code, params, quote_id))


def _draw(work: Work, account: ClientAccount, split: Split) -> None:
    """A debit and a hold take the same from the client: its assigned credits, its limit's
    counter (when it counts), and the pool's assigned total."""
    account.assigned_remaining -= split.from_assigned
    account.used += account.use(split.from_pool)
    work.pool.assigned -= split.from_assigned


def _claimable(organisation_id: int, quote_id: int | None) -> None:
    """Lock the quote and refuse it once claimed (the Python twin of credits_debit's)."""
    if quote_id is None:
        return
    claimed = (
        Quote.objects.select_for_update()
        .filter(pk=quote_id, organisation_id=organisation_id)
        .values_list("consumption_id", flat=True)
        .get()
    )
    if claimed is not None:
        raise QuoteUsed(_("This quote was already used."))


def _claim(quote_id: int | None, consumption: Consumption) -> None:
    if quote_id is not None:
        Quote.objects.filter(pk=quote_id).update(consumption=consumption)


@transaction.atomic
def _free_debit(
    *,
    client: Client,
    action_code: str,
    now: datetime,
    description: str,
    params: dict,
    actor: User,
    quote_id: int | None,
    rate_card_version: int | None,
) -> Consumption:
    """A free action (C1) is recorded without the pool lock: it changes no figure.

    SQL twin: credits_debit's first branch (no pool lock, no key, no expiry)."""
    if rate_card_version is not None:
        current = CreditPool.objects.filter(pk=client.organisation_id).values_list(
            "rate_card_version", flat=True
        )
        if current.first() != rate_card_version:
            raise Repriced()
    _claimable(client.organisation_id, quote_id)
    consumption = Consumption.objects.create(
        organisation_id=client.organisation_id,
        client=client,
        action_code=action_code,
        description=description,
        params=params,
        credits=0,
        actor=actor,
        created_at=now,
    )
    _claim(quote_id, consumption)
    return consumption


def _debit(
    *,
    client: Client,
    credits: int,
    action_code: str,
    now: datetime,
    description: str,
    params: dict,
    actor: User,
    idempotency_key: str,
    quote_id: int | None,
    rate_card_version: int | None,
) -> Consumption:
    """The debit under the pool lock (SQLite, or PostgreSQL when `credits_debit` hands it
    back because expiry is due)."""
    with locked_operation(
        client.organisation_id,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation="debit",
        inputs=_debit_inputs(client, credits, action_code, params, quote_id),
        rate_card_version=rate_card_version,
        before_expiry=lambda: _claimable(client.organisation_id, quote_id),
    ) as operation:
        if operation.replayed is not None:
            return Consumption.objects.get(pk=operation.replayed)
        work = operation.work
        account, split = _fund(work, client, credits)
        consumption = operation.result = Consumption.objects.create(
            organisation_id=client.organisation_id,
            client=client,
            action_code=action_code,
            description=description,
            params=params,
            credits=credits,
            from_assigned=split.from_assigned,
            from_pool=split.from_pool,
            actor=actor,
            created_at=now,
        )
        take_from_lots(
            work,
            credits,
            EntryKind.DEBIT,
            client_id=client.pk,
            consumption_id=consumption.pk,
            assigned_delta=-split.from_assigned,
            used_delta=account.use(split.from_pool),
        )
        _draw(work, account, split)
        work.pool.last_activity_at = now
        _claim(quote_id, consumption)
    return consumption


def hold(
    *,
    client: Client,
    credits: int,
    expires_at: datetime,
    now: datetime,
    action_code: str = "",
    params: dict | None = None,
    description: str = "",
    actor: User = None,
    idempotency_key: str = "",
    rate_card_version: int | None = None,
) -> Hold:
    """Reserve credits for work that runs later (S2): they leave what is available now and
    count against the client's assignment and limit as a debit would. `hold_action` passes
    the rate-card version it priced with: `Repriced` when the card changed since."""
    check_credits(credits)
    _check_texts(action_code, description, idempotency_key)
    if expires_at <= now:
        raise InvalidAmount(_("A hold must expire in the future."))
    params = params or {}
    with locked_operation(
        client.organisation_id,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation="hold",
        inputs={"client": client.pk, "credits": credits, "action": action_code, "params": params},
        rate_card_version=rate_card_version,
    ) as operation:
        if operation.replayed is not None:
            return Hold.objects.get(pk=operation.replayed)
        work = operation.work
        account, split = _fund(work, client, credits)
        reservation = operation.result = Hold.objects.create(
            organisation_id=client.organisation_id,
            client=client,
            credits=credits,
            from_assigned=split.from_assigned,
            from_pool=split.from_pool,
            action_code=action_code,
            params=params,
            description=description,
            expires_at=expires_at,
            created_at=now,
        )
        _draw(work, account, split)
        work.pool.held += credits
        work.expiry_at(expires_at)
        work.entry(
            EntryKind.HOLD,
            client_id=client.pk,
            hold_id=reservation.pk,
            held_delta=credits,
            assigned_delta=-split.from_assigned,
            used_delta=account.use(split.from_pool),
        )
    return reservation


def _lock_active_hold(reservation: Hold) -> tuple[Hold, HoldNotActive | None]:
    """The hold, locked, and the refusal to raise once the transaction has committed (a hold
    found expired has just been released by bringing the pool up to date, and that stands)."""
    locked = Hold.objects.select_for_update().get(pk=reservation.pk)
    if locked.status == HoldStatus.EXPIRED:
        return locked, HoldExpired(_("This hold expired; its credits were released."))
    if locked.status != HoldStatus.ACTIVE:
        return locked, HoldNotActive(
            _("This hold is already %(status)s.") % {"status": locked.get_status_display()}
        )
    return locked, None


def capture(
    *,
    hold: Hold,
    now: datetime,
    credits: int | None = None,
    actor: User = None,
    description: str = "",
) -> Consumption:
    """Turn a hold into a consumption of `credits` (all of it by default); the rest goes back
    where it came from. A hold past its expiry is released instead and the capture refused."""
    if credits is not None:
        check_credits(credits)
    bounds.check_text(description, bounds.DESCRIPTION_LENGTH, _("A description"))
    with locked_operation(hold.organisation_id, now=now, actor=actor) as operation:
        work = operation.work
        account = work.account(hold.client_id)  # fixed order: pool, account, then the hold
        locked, refusal = _lock_active_hold(hold)
        if refusal is None:
            taken = locked.credits if credits is None else credits
            if taken > locked.credits:
                raise InvalidAmount(
                    _("Cannot capture %(taken)d credits from a hold of %(held)d.")
                    % {"taken": taken, "held": locked.credits}
                )
            consumption = _capture_locked(work, account, locked, taken, description)
    if refusal is not None:
        raise refusal
    return consumption


def _capture_locked(
    work: Work, account: ClientAccount, locked: Hold, taken: int, description: str
) -> Consumption:
    taken_assigned = min(taken, locked.from_assigned)
    taken_pool = taken - taken_assigned
    back_assigned = locked.from_assigned - taken_assigned
    back_pool = locked.from_pool - taken_pool
    consumption = Consumption.objects.create(
        organisation_id=locked.organisation_id,
        client_id=locked.client_id,
        action_code=locked.action_code,
        description=description or locked.description,
        params=locked.params,
        credits=taken,
        from_assigned=taken_assigned,
        from_pool=taken_pool,
        hold=locked,
        actor=work.actor,
        created_at=work.now,
    )
    account.assigned_remaining += back_assigned
    account.used -= account.use(back_pool)
    work.pool.held -= locked.credits
    work.pool.assigned += back_assigned
    work.pool.last_activity_at = work.now
    work.entry(
        EntryKind.CAPTURE,
        client_id=locked.client_id,
        hold_id=locked.pk,
        consumption_id=consumption.pk,
        held_delta=-locked.credits,
        assigned_delta=back_assigned,
        used_delta=-account.use(back_pool),
    )
    take_from_lots(
        work,
        taken,
        EntryKind.CAPTURE,
        include_expired=True,
        client_id=locked.client_id,
        hold_id=locked.pk,
        consumption_id=consumption.pk,
    )
    locked.status = HoldStatus.CAPTURED
    locked.resolved_at = work.now
    locked.save(update_fields=["status", "resolved_at"])
    expire_due_locked(work, force=True)  # credits a lot kept only for this hold now expire
    return consumption


def release(*, hold: Hold, now: datetime, actor: User = None) -> Hold:
    """Give a hold's credits back, unspent."""
    with locked_operation(hold.organisation_id, now=now, actor=actor) as operation:
        work = operation.work
        work.account(hold.client_id)
        locked, refusal = _lock_active_hold(hold)
        if refusal is None:
            release_hold(work, locked, HoldStatus.RELEASED)
            expire_due_locked(work, force=True)
    if refusal is not None:
        raise refusal
    return locked
