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
    _check_credits,
    _check_key,
    _fingerprint,
    _lock_pool,
    _refuse_inactive,
    _remember,
    _replay,
    _roll_monthly_window,
    _take_from_lots,
    _Work,
)
from credits.services.expiry import _begin, _expire_due_locked, _release_hold


def _check_texts(action_code: str, description: str, idempotency_key: str) -> None:
    """What a consumption or a hold keeps in columns of fixed length (X6)."""
    bounds.check_text(action_code, bounds.ACTION_CODE_LENGTH, _("An action's code"))
    bounds.check_text(description, bounds.DESCRIPTION_LENGTH, _("A description"))
    _check_key(idempotency_key)


def _fund(work: _Work, client: Client, credits: int) -> tuple[ClientAccount, Split]:
    """Decide, under the lock, where a client's spend comes from; refuse it whole if any
    source falls short."""
    if client.organisation_id != work.pool.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    _refuse_inactive(client)
    account = work.account(client.pk)
    _roll_monthly_window(work, account, client.organisation.time_zone)
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
    _check_credits(credits, allow_zero=True)
    _check_texts(action_code, description, idempotency_key)
    params = params or {}
    db = database_debit.database()
    if db is not None:
        if credits:
            _refuse_inactive(client)
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


def _debit_fingerprint(
    client: Client,
    credits: int,
    action_code: str,
    params: dict,
    idempotency_key: str,
    quote_id: int | None = None,
) -> str:
    """Only a keyed request is ever compared, so an unkeyed one skips the hashing. A quote's
    id is part of the request: the same key with another quote is another request."""
    if not idempotency_key:
        return ""
    values: dict[str, object] = {
        "client": client.pk,
        "credits": credits,
        "action": action_code,
        "params": params,
    }
    if quote_id is not None:
        values["quote"] = quote_id
    return _fingerprint("debit", **values)


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


def _begin_debit(
    client: Client,
    *,
    now: datetime,
    actor: User,
    key: str,
    fingerprint: str,
    quote_id: int | None,
    rate_card_version: int | None,
) -> tuple[_Work, int | None]:
    """`_begin` with the debit's own checks in credits_debit's order: lock the pool; a
    changed rate card is repriced; a retried request answers its first result; a claimed
    quote is refused; then expiry (the function hands expiry to this path, which owns it)."""
    work = _Work(pool=_lock_pool(client.organisation_id), now=now, actor=actor, key=key)
    if rate_card_version is not None and rate_card_version != work.pool.rate_card_version:
        raise Repriced()
    replayed = _replay(work.pool, key, fingerprint)
    if replayed is None:
        _claimable(client.organisation_id, quote_id)
        _expire_due_locked(work)
    return work, replayed


@transaction.atomic
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
    quote_id: int | None = None,
    rate_card_version: int | None = None,
) -> Consumption:
    if credits == 0:
        # SQL twin: credits_debit's first branch (no pool lock, no key, no expiry).
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
    fingerprint = _debit_fingerprint(
        client, credits, action_code, params, idempotency_key, quote_id
    )
    work, replayed = _begin_debit(
        client,
        now=now,
        actor=actor,
        key=idempotency_key,
        fingerprint=fingerprint,
        quote_id=quote_id,
        rate_card_version=rate_card_version,
    )
    if replayed is not None:
        return Consumption.objects.get(pk=replayed)
    account, split = _fund(work, client, credits)
    consumption = Consumption.objects.create(
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
    _take_from_lots(
        work,
        credits,
        EntryKind.DEBIT,
        client_id=client.pk,
        consumption_id=consumption.pk,
        assigned_delta=-split.from_assigned,
        used_delta=account.use(split.from_pool),
    )
    account.assigned_remaining -= split.from_assigned
    account.used += account.use(split.from_pool)
    work.pool.assigned -= split.from_assigned
    work.pool.last_activity_at = now
    work.save()
    _claim(quote_id, consumption)
    _remember(work, "debit", fingerprint, consumption.pk)
    return consumption


@transaction.atomic
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
    _check_credits(credits)
    _check_texts(action_code, description, idempotency_key)
    if expires_at <= now:
        raise InvalidAmount(_("A hold must expire in the future."))
    params = params or {}
    fingerprint = _fingerprint(
        "hold", client=client.pk, credits=credits, action=action_code, params=params
    )
    work, replayed = _begin(
        client.organisation_id, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
    if rate_card_version is not None and rate_card_version != work.pool.rate_card_version:
        raise Repriced()  # before the replay, as the debit; what expiry wrote is undone
    if replayed is not None:
        return Hold.objects.get(pk=replayed)
    account, split = _fund(work, client, credits)
    reservation = Hold.objects.create(
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
    account.assigned_remaining -= split.from_assigned
    account.used += account.use(split.from_pool)
    work.pool.assigned -= split.from_assigned
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
    work.save()
    _remember(work, "hold", fingerprint, reservation.pk)
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
        _check_credits(credits)
    bounds.check_text(description, bounds.DESCRIPTION_LENGTH, _("A description"))
    with transaction.atomic():
        work, _replayed = _begin(hold.organisation_id, now=now, actor=actor)
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
        work.save()
    if refusal is not None:
        raise refusal
    return consumption


def _capture_locked(
    work: _Work, account: ClientAccount, locked: Hold, taken: int, description: str
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
    _take_from_lots(
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
    _expire_due_locked(work, force=True)  # credits a lot kept only for this hold now expire
    return consumption


def release(*, hold: Hold, now: datetime, actor: User = None) -> Hold:
    """Give a hold's credits back, unspent."""
    with transaction.atomic():
        work, _replayed = _begin(hold.organisation_id, now=now, actor=actor)
        work.account(hold.client_id)
        locked, refusal = _lock_active_hold(hold)
        if refusal is None:
            _release_hold(work, locked, HoldStatus.RELEASED)
            _expire_due_locked(work, force=True)
        work.save()
    if refusal is not None:
        raise refusal
    return locked
