"""The only module that writes the ledger (DESIGN: only `credits` touches it).

Every operation that changes a figure locks the organisation's pool row first, then the
client accounts it touches (by primary key), then works on lots and holds: one fixed order,
so two operations never wait on each other in a cycle. The pool lock also serialises the
organisation's idempotency keys, lots and holds, which is why lots are read without a lock of
their own. Every change of a figure is written as ledger entries in the same transaction.

Time is always passed in (`now`); expiry, hold expiry and monthly limit resets are applied
lazily by every operation under the lock as well as by the periodic jobs, so a figure read
right after the pool lock is always current.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from clients.models import Client, ClientKind, Organisation
from credits.exceptions import (
    AssignmentExhausted,
    ForeignClient,
    HoldExpired,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    LimitExceeded,
    NotReassignable,
)
from credits.models import (
    Assignment,
    AssignmentKind,
    ClientAccount,
    Consumption,
    CreditPool,
    EntryKind,
    ExpiryKind,
    Hold,
    HoldStatus,
    IdempotencyKey,
    LedgerEntry,
    LimitKind,
    Lot,
    LotSource,
)
from credits.presets import PRESETS

User = AbstractBaseUser | None
DEFAULT = object()  # "use the organisation's policy" for grant's expiry


# --- opening accounts ----------------------------------------------------------------------


@transaction.atomic
def open_pool(*, organisation: Organisation, preset: str = "custom") -> CreditPool:
    """Every organisation gets its pool, empty, the moment it exists."""
    pool, _created = CreditPool.objects.get_or_create(
        organisation=organisation, defaults={"preset": preset, **PRESETS[preset].pool_fields()}
    )
    return pool


@transaction.atomic
def open_client_account(*, client: Client) -> ClientAccount:
    pool = CreditPool.objects.get(pk=client.organisation_id)
    account, _created = ClientAccount.objects.get_or_create(
        client=client,
        defaults={
            "organisation_id": client.organisation_id,
            "draws_from_pool": client.kind == ClientKind.OWN or pool.clients_draw_from_pool,
        },
    )
    return account


@transaction.atomic
def apply_preset(*, organisation: Organisation, preset: str) -> CreditPool:
    """Set the policies of one of the seed systems (selectable in admin), and whether each
    client may draw from the pool, which the preset decides too."""
    pool = _lock_pool(organisation.pk)
    pool.preset = preset
    for name, value in PRESETS[preset].pool_fields().items():
        setattr(pool, name, value)
    pool.full_clean()
    pool.save()
    ClientAccount.objects.filter(organisation_id=organisation.pk).exclude(
        client__kind=ClientKind.OWN
    ).update(draws_from_pool=pool.clients_draw_from_pool)
    return pool


POLICY_FIELDS = (
    "expiry_kind",
    "expiry_months",
    "purchase_extends_expiry",
    "assignments_reversible",
    "clients_draw_from_pool",
    "reminder_days",
    "low_balance_threshold",
)


@transaction.atomic
def update_policy(*, organisation: Organisation, **policy: object) -> CreditPool:
    unknown = set(policy) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidAmount(_("Unknown policy fields: %s") % ", ".join(sorted(unknown)))
    pool = _lock_pool(organisation.pk)
    for name, value in policy.items():
        setattr(pool, name, value)
    if pool.expiry_kind == ExpiryKind.NEVER:
        pool.expiry_months = None
    pool.full_clean()
    pool.save(update_fields=[*policy, "expiry_months"])
    return pool


# --- the pieces every operation shares -----------------------------------------------------


@dataclass
class _Work:
    """What one locked operation changes; written at the end in a few statements."""

    pool: CreditPool
    now: datetime
    actor: User = None
    key: str = ""
    entries: list[LedgerEntry] = field(default_factory=list)
    accounts: dict[int, ClientAccount] = field(default_factory=dict)

    def entry(self, kind: str, **values: object) -> LedgerEntry:
        self.pool.balance += values.get("credits", 0)
        entry = LedgerEntry(
            organisation_id=self.pool.pk,
            kind=kind,
            balance_after=self.pool.balance,
            actor=self.actor,
            idempotency_key=self.key,
            created_at=self.now,
            **values,
        )
        self.entries.append(entry)
        return entry

    def account(self, client_id: int) -> ClientAccount:
        if client_id not in self.accounts:
            self.accounts[client_id] = ClientAccount.objects.select_for_update().get(pk=client_id)
        return self.accounts[client_id]

    def lock_accounts(self, client_ids: list[int]) -> None:
        """Lock several accounts at once, in primary-key order (the fixed lock order)."""
        wanted = sorted(set(client_ids) - set(self.accounts))
        for account in (
            ClientAccount.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        ):
            self.accounts[account.pk] = account

    def save(self) -> None:
        self.pool.save(update_fields=["balance", "held", "assigned", "last_activity_at"])
        for account in self.accounts.values():
            account.save(update_fields=["assigned_remaining", "used", "window_start"])
        LedgerEntry.objects.bulk_create(self.entries)


def _lock_pool(organisation_id: int) -> CreditPool:
    return CreditPool.objects.select_for_update().get(pk=organisation_id)


def _check_credits(credits: object, *, allow_zero: bool = False) -> int:
    if not isinstance(credits, int) or isinstance(credits, bool):
        raise InvalidAmount(_("Credits are whole numbers."))
    if credits < 0 or (credits == 0 and not allow_zero):
        raise InvalidAmount(_("The number of credits must be positive."))
    return credits


def _fingerprint(operation: str, **values: object) -> str:
    text = json.dumps([operation, values], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(pool: CreditPool, key: str, fingerprint: str) -> int | None:
    """The id of the first result for this key, None for a new key; a reused key with other
    input is refused (X3). The caller holds the pool lock, so keys cannot race."""
    if not key:
        return None
    stored = IdempotencyKey.objects.filter(organisation_id=pool.pk, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise IdempotencyConflict(
            _("The idempotency key “%(key)s” was already used for a different request.")
            % {"key": key}
        )
    return stored.result_id


def _remember(work: _Work, operation: str, fingerprint: str, result_id: int | None) -> None:
    if work.key:
        IdempotencyKey.objects.create(
            organisation_id=work.pool.pk,
            key=work.key,
            operation=operation,
            fingerprint=fingerprint,
            result_id=result_id,
            created_at=work.now,
        )


def month_start(now: datetime, time_zone: str) -> datetime:
    """Midnight on the first of the month, in the organisation's time zone (D4)."""
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _held_from_pool(client_id: int) -> int:
    """Pool credits reserved by the client's active holds: they stay counted against the
    limit through a reset, because they will be spent in the new window."""
    holds = Hold.objects.filter(client_id=client_id, status=HoldStatus.ACTIVE)
    return sum(holds.values_list("from_pool", flat=True))


def _restart_window(work: _Work, account: ClientAccount, window_start: datetime) -> None:
    carried = _held_from_pool(account.pk)
    if account.used != carried:
        work.entry(EntryKind.LIMIT_RESET, client_id=account.pk, used_delta=carried - account.used)
        account.used = carried
    account.window_start = window_start


def _roll_monthly_window(work: _Work, account: ClientAccount, time_zone: str) -> None:
    if account.limit_kind != LimitKind.MONTHLY:
        return
    start = month_start(work.now, time_zone)
    if account.window_start is None or account.window_start < start:
        _restart_window(work, account, start)


def _spendable_lots(pool: CreditPool, now: datetime, *, include_expired: bool) -> list[Lot]:
    """Lots in spending order: soonest expiry first, never-expiring last, oldest first on
    ties (so plan allowances go before purchased credits, M2)."""
    lots = Lot.objects.filter(organisation_id=pool.pk, remaining__gt=0)
    if not include_expired:
        lots = lots.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    return list(lots.order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk"))


def _take_from_lots(
    work: _Work, credits: int, kind: str, *, include_expired: bool = False, **links: object
) -> None:
    """Take credits from lots in spending order, one entry per lot that paid; the first entry
    also carries the links (client, consumption, deltas) of the operation."""
    left = credits
    changed: list[Lot] = []
    for lot in _spendable_lots(work.pool, work.now, include_expired=include_expired):
        taken = min(left, lot.remaining)
        lot.remaining -= taken
        changed.append(lot)
        work.entry(kind, credits=-taken, lot_id=lot.pk, **links)
        links = {k: v for k, v in links.items() if not k.endswith("_delta")}
        left -= taken
        if left == 0:
            break
    if left:
        # The pool's figures said the credits were there; the lots disagree. Refuse rather
        # than write a ledger that does not add up (ledger_check would name the drift).
        raise InsufficientCredits(needed=credits, available=credits - left)
    Lot.objects.bulk_update(changed, ["remaining"])


# --- expiry (D3, S4, S8, M2) ---------------------------------------------------------------


def proportional_shares(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split `total` over the weights in proportion, to the exact unit (S8).

    Largest-remainder: everyone gets the floor of their exact share; the units left by rounding
    down go one each to the largest remainders. Ties between equal remainders go to the larger
    weight, then to the smaller key (the older client), so the result is deterministic.
    """
    weight_sum = sum(weights.values())
    if total > weight_sum or total < 0:
        raise ValueError("cannot take more than the weights hold")
    if total == 0:
        return dict.fromkeys(weights, 0)
    shares = {key: total * weight // weight_sum for key, weight in weights.items()}
    remainders = {key: total * weight % weight_sum for key, weight in weights.items()}
    left = total - sum(shares.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], -weights[k], k))[:left]:
        shares[key] += 1
    return shares


def _inactivity_deadline(pool: CreditPool) -> datetime | None:
    if pool.expiry_kind != ExpiryKind.INACTIVITY or pool.last_activity_at is None:
        return None
    return pool.last_activity_at + relativedelta(months=pool.expiry_months)


def _expire_lot(work: _Work, lot: Lot) -> int:
    """Expire what is left of a lot: unassigned credits first, then the clients' assigned
    credits in proportion (S8). Credits reserved by active holds are not taken: they stay on
    the lot until the hold resolves, and a later run expires what the hold gave back."""
    pool = work.pool
    amount = min(lot.remaining, pool.balance - pool.held)
    if amount <= 0:
        return 0
    from_unassigned = min(amount, pool.balance - pool.held - pool.assigned)
    from_assigned = amount - from_unassigned
    lot.remaining -= amount
    lot.save(update_fields=["remaining"])
    work.entry(EntryKind.EXPIRY, credits=-amount, lot_id=lot.pk)
    if from_assigned:
        holders = list(
            ClientAccount.objects.filter(
                organisation_id=pool.pk, assigned_remaining__gt=0
            ).values_list("pk", flat=True)
        )
        work.lock_accounts(holders)
        weights = {
            pk: work.accounts[pk].assigned_remaining
            for pk in sorted(holders)
            if work.accounts[pk].assigned_remaining > 0
        }
        for client_id, share in proportional_shares(from_assigned, weights).items():
            if share:
                work.accounts[client_id].assigned_remaining -= share
                work.entry(
                    EntryKind.EXPIRY, client_id=client_id, assigned_delta=-share, lot_id=lot.pk
                )
        pool.assigned -= from_assigned
    return amount


def _release_hold(work: _Work, hold: Hold, status: str) -> None:
    account = work.account(hold.client_id)
    account.assigned_remaining += hold.from_assigned
    account.used -= hold.from_pool
    work.pool.held -= hold.credits
    work.pool.assigned += hold.from_assigned
    kind = EntryKind.RELEASE if status == HoldStatus.RELEASED else EntryKind.HOLD_EXPIRY
    work.entry(
        kind,
        client_id=hold.client_id,
        hold_id=hold.pk,
        held_delta=-hold.credits,
        assigned_delta=hold.from_assigned,
        used_delta=-hold.from_pool,
    )
    hold.status = status
    hold.resolved_at = work.now
    hold.save(update_fields=["status", "resolved_at"])


def _expire_due_locked(work: _Work) -> tuple[int, int]:
    """Release holds past their expiry, then expire lots past theirs (or all, after the
    inactivity period). Returns (holds expired, credits expired)."""
    pool, now = work.pool, work.now
    due_holds = list(
        Hold.objects.select_for_update()
        .filter(organisation_id=pool.pk, status=HoldStatus.ACTIVE, expires_at__lte=now)
        .order_by("pk")
    )
    work.lock_accounts([hold.client_id for hold in due_holds])
    for hold in due_holds:
        _release_hold(work, hold, HoldStatus.EXPIRED)
    deadline = _inactivity_deadline(pool)
    lots = Lot.objects.filter(organisation_id=pool.pk, remaining__gt=0)
    if deadline is None or deadline > now:
        lots = lots.filter(expires_at__lte=now)
    expired = 0
    for lot in lots.order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk"):
        expired += _expire_lot(work, lot)
    return len(due_holds), expired


@dataclass(frozen=True)
class ExpiryRun:
    organisations: int
    holds_expired: int
    credits_expired: int


def expire_due(*, now: datetime) -> ExpiryRun:
    """The expiry job: holds and lots past their time, every organisation. Re-running it, or
    running two at once, expires each thing once (the pool lock and a re-read after it)."""
    candidates = set(
        Lot.objects.filter(remaining__gt=0, expires_at__lte=now).values_list(
            "organisation_id", flat=True
        )
    )
    candidates |= set(
        Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now).values_list(
            "organisation_id", flat=True
        )
    )
    for pool in CreditPool.objects.filter(expiry_kind=ExpiryKind.INACTIVITY, balance__gt=0):
        deadline = _inactivity_deadline(pool)
        if deadline is not None and deadline <= now:
            candidates.add(pool.pk)
    return _run_expiry(candidates, now)


def expire_holds(*, now: datetime) -> ExpiryRun:
    """The frequent job: release holds past their expiry, so scheduled work that never ran
    gives its credits back within minutes (S2)."""
    candidates = set(
        Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now).values_list(
            "organisation_id", flat=True
        )
    )
    return _run_expiry(candidates, now)


def _run_expiry(candidates: set[int], now: datetime) -> ExpiryRun:
    holds = credits = 0
    for organisation_id in sorted(candidates):
        with transaction.atomic():
            work = _Work(pool=_lock_pool(organisation_id), now=now)
            expired_holds, expired_credits = _expire_due_locked(work)
            work.save()
        holds += expired_holds
        credits += expired_credits
    return ExpiryRun(len(candidates), holds, credits)


def _begin(
    organisation_id: int,
    *,
    now: datetime,
    actor: User = None,
    key: str = "",
    fingerprint: str = "",
) -> tuple[_Work, int | None]:
    """Lock the pool; answer a retried request with its first result (writing nothing), or
    bring the pool up to date (expiry, holds) before the operation looks at any figure."""
    work = _Work(pool=_lock_pool(organisation_id), now=now, actor=actor, key=key)
    replayed = _replay(work.pool, key, fingerprint)
    if replayed is None:
        _expire_due_locked(work)
    return work, replayed


# --- credits in: grant and adjust ----------------------------------------------------------


def _default_expiry(pool: CreditPool, now: datetime) -> datetime | None:
    if pool.expiry_kind == ExpiryKind.AFTER_PURCHASE:
        return now + relativedelta(months=pool.expiry_months)
    return None


@transaction.atomic
def grant(
    *,
    organisation: Organisation,
    credits: int,
    source: str,
    now: datetime,
    expires_at: datetime | object | None = DEFAULT,
    unit_cost: object = None,
    reference: str = "",
    actor: User = None,
    idempotency_key: str = "",
) -> Lot:
    """Credits enter the pool as a lot. Without `expires_at` the organisation's policy decides
    (N months after purchase, or none); plan allowances must say when their cycle ends (M2).
    A purchase, where the policy says so, pushes the expiry of the credits still held to the
    new lot's (S4), and counts as use of the account for the inactivity rule (D3)."""
    _check_credits(credits)
    if source not in LotSource.values:
        raise InvalidAmount(_("Unknown source of credits: %s") % source)
    if source == LotSource.PLAN_ALLOWANCE and not isinstance(expires_at, datetime):
        raise InvalidAmount(_("A plan allowance expires at the end of its cycle."))
    fingerprint = _fingerprint(
        "grant",
        credits=credits,
        source=source,
        expires_at="policy" if expires_at is DEFAULT else expires_at,
        reference=reference,
    )
    work, replayed = _begin(
        organisation.pk, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
    if replayed is not None:
        return Lot.objects.get(pk=replayed)
    if expires_at is DEFAULT:
        expires_at = _default_expiry(work.pool, now)
    if expires_at is not None and expires_at <= now:
        raise InvalidAmount(_("Credits cannot be granted already expired."))
    lot = Lot.objects.create(
        organisation_id=organisation.pk,
        source=source,
        quantity=credits,
        remaining=credits,
        expires_at=expires_at,
        unit_cost=unit_cost,
        reference=reference,
        created_at=now,
    )
    work.entry(EntryKind.GRANT, credits=credits, lot_id=lot.pk, reference=reference)
    if work.pool.last_activity_at is None:
        work.pool.last_activity_at = now  # the inactivity clock starts with the first credits
    if source == LotSource.PURCHASE:
        work.pool.last_activity_at = now
        if work.pool.purchase_extends_expiry and expires_at is not None:
            _extend_held_credits(work, until=expires_at, except_lot=lot)
    work.save()
    _remember(work, "grant", fingerprint, lot.pk)
    return lot


def _extend_held_credits(work: _Work, *, until: datetime, except_lot: Lot) -> None:
    extended = list(
        Lot.objects.filter(
            organisation_id=work.pool.pk,
            remaining__gt=0,
            expires_at__gt=work.now,
            expires_at__lt=until,
        )
        .exclude(source=LotSource.PLAN_ALLOWANCE)
        .exclude(pk=except_lot.pk)
    )
    for lot in extended:
        lot.expires_at = until
        work.entry(
            EntryKind.EXTENSION,
            lot_id=lot.pk,
            reference=_("Expiry extended to %(date)s by lot #%(lot)d")
            % {"date": until.date().isoformat(), "lot": except_lot.pk},
        )
    Lot.objects.bulk_update(extended, ["expires_at"])


@transaction.atomic
def adjust(
    *,
    organisation: Organisation,
    credits: int,
    reason: str,
    now: datetime,
    actor: User = None,
    idempotency_key: str = "",
) -> LedgerEntry:
    """A back-office correction (K1): positive adds an adjustment lot, negative removes
    unassigned credits in spending order. Never silent: the reason is required."""
    if not isinstance(credits, int) or isinstance(credits, bool) or credits == 0:
        raise InvalidAmount(_("An adjustment is a non-zero whole number of credits."))
    if not reason.strip():
        raise InvalidAmount(_("An adjustment needs a reason."))
    if credits > 0:
        lot = grant(
            organisation=organisation,
            credits=credits,
            source=LotSource.ADJUSTMENT,
            now=now,
            reference=reason,
            actor=actor,
            idempotency_key=idempotency_key,
        )
        return lot.entries.get(kind=EntryKind.GRANT)
    fingerprint = _fingerprint("adjust", credits=credits, reason=reason)
    work, replayed = _begin(
        organisation.pk, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
    if replayed is not None:
        return LedgerEntry.objects.get(pk=replayed)
    unassigned = work.pool.balance - work.pool.held - work.pool.assigned
    if -credits > unassigned:
        raise InsufficientCredits(needed=-credits, available=unassigned)
    _take_from_lots(work, -credits, EntryKind.ADJUSTMENT, reference=reason)
    work.save()
    first = work.entries[0]
    _remember(work, "adjust", fingerprint, first.pk)
    return first


# --- credits out: debit, holds -------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    from_assigned: int
    from_pool: int


def _fund(work: _Work, client: Client, credits: int) -> tuple[ClientAccount, _Split]:
    """Decide where a client's spend comes from (assigned credits first, then the pool if it
    may draw from it) and refuse it whole if any source falls short (D4, S5, G3)."""
    if client.organisation_id != work.pool.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    if not client.is_active:
        raise InvalidAmount(_("This client is inactive."))
    account = work.account(client.pk)
    _roll_monthly_window(work, account, client.organisation.time_zone)
    from_assigned = min(credits, account.assigned_remaining)
    from_pool = credits - from_assigned
    if from_pool:
        if not account.draws_from_pool:
            raise AssignmentExhausted(needed=credits, assigned=account.assigned_remaining)
        pool = work.pool
        available = pool.balance - pool.held - pool.assigned
        if from_pool > available:
            raise InsufficientCredits(
                needed=credits, available=account.assigned_remaining + available
            )
        if account.limit_kind != LimitKind.NONE and account.used + from_pool > account.limit:
            raise LimitExceeded(
                needed=from_pool, left=max(account.limit - account.used, 0), limit=account.limit
            )
    return account, _Split(from_assigned, from_pool)


@transaction.atomic
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
) -> Consumption:
    """Spend a client's credits on an action. Zero credits (a free action, C1) records the
    use without touching any figure."""
    _check_credits(credits, allow_zero=True)
    params = params or {}
    if credits == 0:
        return Consumption.objects.create(
            organisation_id=client.organisation_id,
            client=client,
            action_code=action_code,
            description=description,
            params=params,
            credits=0,
            actor=actor,
            created_at=now,
        )
    fingerprint = _fingerprint(
        "debit", client=client.pk, credits=credits, action=action_code, params=params
    )
    work, replayed = _begin(
        client.organisation_id, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
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
        used_delta=split.from_pool,
    )
    account.assigned_remaining -= split.from_assigned
    account.used += split.from_pool
    work.pool.assigned -= split.from_assigned
    work.pool.last_activity_at = now
    work.save()
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
) -> Hold:
    """Reserve credits for work that runs later (S2): they leave what is available now and
    count against the client's assignment and limit as a debit would."""
    _check_credits(credits)
    if expires_at <= now:
        raise InvalidAmount(_("A hold must expire in the future."))
    params = params or {}
    fingerprint = _fingerprint(
        "hold", client=client.pk, credits=credits, action=action_code, params=params
    )
    work, replayed = _begin(
        client.organisation_id, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
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
    account.used += split.from_pool
    work.pool.assigned -= split.from_assigned
    work.pool.held += credits
    work.entry(
        EntryKind.HOLD,
        client_id=client.pk,
        hold_id=reservation.pk,
        held_delta=credits,
        assigned_delta=-split.from_assigned,
        used_delta=split.from_pool,
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
    account.used -= back_pool
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
        used_delta=-back_pool,
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
    _expire_due_locked(work)  # credits a lot kept only for this hold now expire
    return consumption


def release(*, hold: Hold, now: datetime, actor: User = None) -> Hold:
    """Give a hold's credits back, unspent."""
    with transaction.atomic():
        work, _replayed = _begin(hold.organisation_id, now=now, actor=actor)
        work.account(hold.client_id)
        locked, refusal = _lock_active_hold(hold)
        if refusal is None:
            _release_hold(work, locked, HoldStatus.RELEASED)
            _expire_due_locked(work)
        work.save()
    if refusal is not None:
        raise refusal
    return locked


# --- assignments (G3, G4, S5) and limits (D4) ---------------------------------------------


@transaction.atomic
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
    _check_credits(credits)
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("Credits cannot move to another organisation's client."))
    fingerprint = _fingerprint("assign", client=client.pk, credits=credits, reference=reference)
    work, replayed = _begin(
        organisation.pk, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
    if replayed is not None:
        return Assignment.objects.get(pk=replayed)
    if not client.is_active:
        raise InvalidAmount(_("This client is inactive."))
    unassigned = work.pool.balance - work.pool.held - work.pool.assigned
    if credits > unassigned:
        raise InsufficientCredits(needed=credits, available=unassigned)
    return _move_assignment(
        work, client, credits, AssignmentKind.ASSIGN, reference, comment, fingerprint
    )


def _move_assignment(
    work: _Work,
    client: Client,
    credits: int,
    kind: str,
    reference: str,
    comment: str,
    fingerprint: str,
) -> Assignment:
    delta = credits if kind == AssignmentKind.ASSIGN else -credits
    account = work.account(client.pk)
    account.assigned_remaining += delta
    work.pool.assigned += delta
    assignment = Assignment.objects.create(
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
    work.save()
    _remember(work, kind, fingerprint, assignment.pk)
    return assignment


@transaction.atomic
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
    _check_credits(credits)
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    fingerprint = _fingerprint("unassign", client=client.pk, credits=credits, reference=reference)
    work, replayed = _begin(
        organisation.pk, now=now, actor=actor, key=idempotency_key, fingerprint=fingerprint
    )
    if replayed is not None:
        return Assignment.objects.get(pk=replayed)
    if not work.pool.assignments_reversible:
        raise NotReassignable(_("Assigned credits cannot be taken back in this organisation."))
    account = work.account(client.pk)
    if credits > account.assigned_remaining:
        raise InsufficientCredits(needed=credits, available=account.assigned_remaining)
    return _move_assignment(
        work, client, credits, AssignmentKind.UNASSIGN, reference, comment, fingerprint
    )


@transaction.atomic
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
    active holds still reserve, which will be spent in the new window."""
    if kind not in LimitKind.values:
        raise InvalidAmount(_("Unknown kind of spending limit: %s") % kind)
    if kind == LimitKind.NONE:
        limit = None
    else:
        _check_credits(limit, allow_zero=True)
    work, _replayed = _begin(client.organisation_id, now=now, actor=actor)
    account = work.account(client.pk)
    if kind != account.limit_kind:
        start = month_start(now, client.organisation.time_zone) if kind == "monthly" else now
        _restart_window(work, account, start)
    account.limit_kind = kind
    account.limit = limit
    if draws_from_pool is not None:
        account.draws_from_pool = draws_from_pool or client.kind == ClientKind.OWN
    account.save(update_fields=["limit_kind", "limit", "draws_from_pool"])
    work.save()
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
        if account.window_start is None
        or account.window_start < month_start(now, account.organisation.time_zone)
    ]
    reset = 0
    for account in due:
        with transaction.atomic():
            work = _Work(pool=_lock_pool(account.organisation_id), now=now)
            locked = work.account(account.pk)
            before = locked.window_start
            _roll_monthly_window(work, locked, account.organisation.time_zone)
            reset += locked.window_start != before
            work.save()
    return reset


def hold_expiry_default(now: datetime) -> datetime:
    """Holds made without an expiry last a week: long enough for scheduled work."""
    return now + timedelta(days=7)
