"""Credits in: grants (purchases, plan allowances, promotions) and back-office adjustments."""

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

from clients.models import Organisation
from credits import bounds
from credits.exceptions import (
    CreditsAlreadySpent,
    InsufficientCredits,
    InvalidAmount,
)
from credits.models import (
    CreditPool,
    EntryKind,
    ExpiryKind,
    LedgerEntry,
    Lot,
    LotSource,
)
from credits.services.core import (
    User,
    Work,
    check_credits,
    check_key,
    inactivity_deadline,
    locked_operation,
    take_from_lots,
)

DEFAULT = object()  # "use the organisation's policy" for grant's expiry


def _default_expiry(pool: CreditPool, now: datetime) -> datetime | None:
    if pool.expiry_kind == ExpiryKind.AFTER_PURCHASE:
        return now + relativedelta(months=pool.expiry_months)
    return None


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
    check_credits(credits)
    unit_cost = bounds.check_unit_cost(unit_cost)
    bounds.check_text(reference, bounds.REFERENCE_LENGTH, _("A reference"))
    check_key(idempotency_key)
    if source not in LotSource.values:
        raise InvalidAmount(_("Unknown source of credits: %s") % source)
    if source == LotSource.PLAN_ALLOWANCE and not isinstance(expires_at, datetime):
        raise InvalidAmount(_("A plan allowance expires at the end of its cycle."))
    inputs = {
        "credits": credits,
        "source": source,
        "expires_at": "policy" if expires_at is DEFAULT else expires_at,
        "reference": reference,
    }
    with locked_operation(
        organisation.pk,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation="grant",
        inputs=inputs,
    ) as operation:
        if operation.replayed is not None:
            return Lot.objects.get(pk=operation.replayed)
        work = operation.work
        if expires_at is DEFAULT:
            expires_at = _default_expiry(work.pool, now)
        if expires_at is not None and expires_at <= now:
            raise InvalidAmount(_("Credits cannot be granted already expired."))
        lot = operation.result = Lot.objects.create(
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
        work.expiry_at(expires_at)
        deadline = inactivity_deadline(work.pool)
        if work.pool.last_activity_at is None or (deadline is not None and deadline <= now):
            # The inactivity clock starts with the first credits, and starts again for credits
            # that arrive after the old ones expired for want of use (D3).
            work.pool.last_activity_at = now
        if source == LotSource.PURCHASE:
            work.pool.last_activity_at = now
            if work.pool.purchase_extends_expiry and expires_at is not None:
                _extend_held_credits(work, until=expires_at, except_lot=lot)
    return lot


def _extend_held_credits(work: Work, *, until: datetime, except_lot: Lot) -> None:
    extended = list(
        Lot.objects.filter(
            organisation_id=work.pool.pk,
            live=True,
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
    if abs(credits) > bounds.MAX_CREDITS:
        raise bounds.too_many_credits()
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidAmount(_("An adjustment needs a reason."))
    # The reason is the reference of the lot (or of the entries) it writes.
    bounds.check_text(reason, bounds.REFERENCE_LENGTH, _("The reason"))
    check_key(idempotency_key)
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
    with locked_operation(
        organisation.pk,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation="adjust",
        inputs={"credits": credits, "reason": reason},
    ) as operation:
        if operation.replayed is not None:
            return LedgerEntry.objects.get(pk=operation.replayed)
        work = operation.work
        unassigned = work.pool.balance - work.pool.held - work.pool.assigned
        if -credits > unassigned:
            raise InsufficientCredits(needed=-credits, available=unassigned)
        take_from_lots(work, -credits, EntryKind.ADJUSTMENT, reference=reason)
        operation.result = work.entries[0]
    return operation.result


def revoke_lot(*, lot: Lot, reason: str, now: datetime, actor: User = None) -> LedgerEntry:
    """Take a lot's credits back when its purchase is cancelled (a voided invoice). Refused
    once any of them were spent or expired, since credits are not refunded (S7), and while
    they are assigned to clients or held (the unassigned credits must cover the lot)."""
    bounds.check_text(reason, bounds.ENTRY_REFERENCE_LENGTH, _("The reason"))
    with locked_operation(lot.organisation_id, now=now, actor=actor) as operation:
        work = operation.work
        locked = Lot.objects.get(pk=lot.pk)
        if locked.remaining < locked.quantity:
            raise CreditsAlreadySpent(
                _(
                    "%(used)d of these %(quantity)d credits were already used or expired; "
                    "credits are not refundable."
                )
                % {"used": locked.quantity - locked.remaining, "quantity": locked.quantity}
            )
        unassigned = work.pool.balance - work.pool.held - work.pool.assigned
        if locked.remaining > unassigned:
            raise InsufficientCredits(needed=locked.remaining, available=unassigned)
        entry = work.entry(
            EntryKind.REVOCATION, credits=-locked.remaining, lot_id=locked.pk, reference=reason
        )
        locked.remaining = 0
        locked.save(update_fields=["remaining"])
    return entry
