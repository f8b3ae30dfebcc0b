"""Automatic top-up (B2): when available credits fall under the owner's threshold, buy the
configured quantity with the card on file, once per crossing, within a monthly cap.

Once per crossing, whatever the concurrency: the crossing is *claimed* by a conditional
UPDATE of `AutoTopUp.armed` from true to false, in its own short transaction; of eight
debits crossing the threshold at once, one claims it and the others find it disarmed. The
claimant then buys through `billing.services.purchase` (recorded and committed before the
card is charged, so no money is lost) with the key `auto-top-up-<organisation>-<n>`, n being
one more than the organisation's automatic top-ups so far. Once that purchase has finished,
the row is re-armed when available credits are back at or above the threshold.

While disarmed, `next_attempt_at` is the claim's lease (claim time + CLAIM_LEASE) until the
crossing's purchase has finished, then empty. A claim whose worker died before its purchase
finished is taken up by the job once the lease has passed: it finds the crossing's purchase
(created since the claim) and reads its outcome, or buys with the same key, so a crash never
leaves the organisation without its top-up and never buys twice. While armed,
`next_attempt_at` is the time before which no new attempt is made (an hour after a failure,
the first of next month after the cap was reached).

Failures (declined, failed, no card, price list gone) e-mail the owners and retry after an
hour; the third in a row turns the top-up off with a notice; a success resets the count.
E-mails are notices of the credits app (`credits.services.record_notice`), recorded with the
state that makes them once, sent after commit.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from billing.exceptions import BillingError
from billing.models import (
    AutoTopUp,
    PaymentMethod,
    Purchase,
    PurchaseOrigin,
    PurchaseStatus,
)
from billing.money import cents
from billing.pricing import PriceQuote, price_credits
from billing.services.profiles import profile_of
from billing.services.purchases import purchase
from clients.models import Organisation
from credits import services as credit_services
from credits.models import CreditPool, NoticeKind
from credits.periods import month_start
from credits.selectors.alerts import Money

logger = logging.getLogger("billing.top_up")

CLAIM_LEASE = timedelta(minutes=10)
RETRY_AFTER = timedelta(hours=1)
MAX_FAILURES = 3
MAX_THRESHOLD = 10**12
MAX_MONTHLY_CAP = Decimal("100000000.00")
# What counts against the monthly cap: money taken or being taken.
COUNTED = [PurchaseStatus.PAID, PurchaseStatus.CHARGING, PurchaseStatus.CHARGED]
BOUGHT = (PurchaseStatus.PAID, PurchaseStatus.INVOICED)
BOUGHT_NOTHING = (PurchaseStatus.DECLINED, PurchaseStatus.FAILED, PurchaseStatus.REFUNDED)


def spent_this_month(organisation: Organisation, *, now: datetime) -> Decimal:
    """Total of this calendar month's automatic top-ups (paid or being paid), the month in
    the organisation's time zone: what the monthly cap is measured against."""
    start = month_start(now, organisation.time_zone)
    return Purchase.objects.filter(
        organisation=organisation,
        origin=PurchaseOrigin.AUTO_TOP_UP,
        status__in=COUNTED,
        created_at__gte=start,
        created_at__lt=start + relativedelta(months=1),
    ).aggregate(total=Coalesce(Sum("total"), Decimal("0.00")))["total"]


# At or above the threshold, read by the database in the statement that acts on it.
ABOVE = Q(organisation__pool__balance__gte=F("organisation__pool__held") + F("threshold"))


def _rearm(top_ups: QuerySet[AutoTopUp]) -> int:
    """Re-arm the finished crossings of these top-ups that are back at or above their
    threshold: one UPDATE whose condition reads the pool itself, so a figure read earlier
    (perhaps before a debit and a claim) can never re-arm a crossing. A claim still in
    flight (its lease set) is never re-armed: its own outcome settles it."""
    return top_ups.filter(ABOVE, enabled=True, armed=False, next_attempt_at__isnull=True).update(
        armed=True
    )


def _available(organisation: Organisation) -> int:
    pool = CreditPool.objects.filter(pk=organisation.pk).values("balance", "held").first()
    return pool["balance"] - pool["held"] if pool else 0


def _whole(value: object, low: int, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_THRESHOLD:
        raise BillingError(message)
    return value


def _cap(value: object, one_top_up: PriceQuote) -> Decimal:
    """Money is exact: a Decimal (or its text) to the cent, never a float."""
    try:
        cap = None if isinstance(value, (float, bool)) else Decimal(str(value))
    except InvalidOperation:
        cap = None
    if cap is None or not cap.is_finite():
        raise BillingError(_("Give the monthly cap as an amount with at most two decimals."))
    # The bounds before the rounding: 1e100000 cannot be rounded to the cent.
    if cap > MAX_MONTHLY_CAP:
        raise BillingError(
            _("The monthly cap is at most %(max)s.")
            % {"max": Money(MAX_MONTHLY_CAP, one_top_up.currency)}
        )
    if cap < one_top_up.total:
        raise BillingError(
            _("The monthly cap must cover at least one top-up: %(total)s.")
            % {"total": Money(one_top_up.total, one_top_up.currency)}
        )
    if cap != cents(cap):
        raise BillingError(_("Give the monthly cap as an amount with at most two decimals."))
    return cap


def configure_auto_top_up(
    *,
    organisation: Organisation,
    enabled: bool,
    threshold: int,
    credits: int,
    monthly_cap: Decimal,
    now: datetime,
) -> AutoTopUp:
    """Save the owner's standing order. Refused, saving nothing: no card on file while
    turning it on, a quantity the price list cannot sell (0, beyond a purchase's bounds), a
    cap under one top-up's total. Turning it on (again) starts afresh: armed, no failures."""
    threshold = _whole(
        threshold, 1 if enabled else 0, _("The threshold is a whole number of credits, at least 1.")
    )
    credits = _whole(credits, 1, _("Buy at least 1 credit per top-up."))
    one_top_up = price_credits(organisation, credits)  # BillingError / OutOfBounds say why
    cap = _cap(monthly_cap, one_top_up)
    if enabled and not profile_of(organisation).has_card:
        raise BillingError(_("Add a card on the billing page before turning on automatic top-up."))
    with transaction.atomic():
        row = AutoTopUp.objects.select_for_update().filter(organisation=organisation).first()
        if row is None:
            row = AutoTopUp(organisation=organisation)
        turning_on = enabled and not row.enabled
        row.enabled = enabled
        row.threshold = threshold
        row.credits = credits
        row.monthly_cap = cap
        row.updated_at = now
        if turning_on:
            row.armed = True
            row.consecutive_failures = 0
            row.next_attempt_at = None
            row.disabled_reason = ""
        row.save()
    return row


def run_auto_top_up(*, organisation: Organisation, now: datetime) -> Purchase | None:
    """Top up this organisation if its available credits are under its threshold and the
    crossing is not claimed yet; re-arm it if they are back at or above. Call it outside a
    transaction (it charges a card and sends e-mail), after a debit or from the job. Returns
    the purchase this call made or found, if any."""
    top_up = AutoTopUp.objects.filter(organisation=organisation, enabled=True).first()
    if top_up is None:
        return None
    if _available(organisation) >= top_up.threshold:
        _rearm(AutoTopUp.objects.filter(pk=organisation.pk))
        return None
    if top_up.armed:
        lease = now + CLAIM_LEASE
        claimed = (
            AutoTopUp.objects.filter(pk=organisation.pk, enabled=True, armed=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(armed=False, next_attempt_at=lease)
        )
        return _top_up(organisation, lease=lease, now=now) if claimed else None
    if top_up.next_attempt_at is not None and top_up.next_attempt_at <= now:
        return _take_up(organisation, lease=top_up.next_attempt_at, now=now)
    return None


def _take_up(organisation: Organisation, *, lease: datetime, now: datetime) -> Purchase | None:
    """A claim whose lease ran out: its purchase is the newest automatic top-up made since
    the claim; finished, its outcome is recorded; unfinished, the settle job is on it; none,
    the claim is carried out now (with the key the first attempt would have used)."""
    found = (
        Purchase.objects.filter(
            organisation=organisation,
            origin=PurchaseOrigin.AUTO_TOP_UP,
            created_at__gte=lease - CLAIM_LEASE,
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if found is None:
        return _top_up(organisation, lease=lease, now=now)
    return _outcome(organisation, lease=lease, bought=found, now=now)


def _top_up(organisation: Organisation, *, lease: datetime, now: datetime) -> Purchase | None:
    top_up = AutoTopUp.objects.get(pk=organisation.pk)
    if _available(organisation) >= top_up.threshold:
        # Read again after the claim: the figure read before it may be older than a top-up
        # that finished and re-armed meanwhile. No purchase; the crossing is released.
        AutoTopUp.objects.filter(pk=organisation.pk, armed=False, next_attempt_at=lease).update(
            armed=True, next_attempt_at=None
        )
        return None
    try:
        quote = price_credits(organisation, top_up.credits)
    except BillingError as error:
        return _failed(organisation, lease=lease, reason=str(error), total=None, now=now)
    spent = spent_this_month(organisation, now=now)
    if spent + quote.total > top_up.monthly_cap:
        _capped(organisation, top_up, lease=lease, quote=quote, spent=spent, now=now)
        return None
    number = (
        Purchase.objects.filter(
            organisation=organisation, origin=PurchaseOrigin.AUTO_TOP_UP
        ).count()
        + 1
    )
    try:
        bought = purchase(
            organisation=organisation,
            now=now,
            method=PaymentMethod.CARD,
            credits=top_up.credits,
            origin=PurchaseOrigin.AUTO_TOP_UP,
            idempotency_key=f"auto-top-up-{organisation.pk}-{number}",
        )
    except BillingError as error:  # no card any more, bounds, a key reused: nothing recorded
        return _failed(organisation, lease=lease, reason=str(error), total=quote, now=now)
    return _outcome(organisation, lease=lease, bought=bought, now=now)


def _outcome(
    organisation: Organisation, *, lease: datetime, bought: Purchase, now: datetime
) -> Purchase:
    if bought.status in BOUGHT:
        with transaction.atomic():
            AutoTopUp.objects.filter(pk=organisation.pk, armed=False, next_attempt_at=lease).update(
                next_attempt_at=None
            )
            AutoTopUp.objects.filter(pk=organisation.pk).update(consecutive_failures=0)
    elif bought.status in BOUGHT_NOTHING:
        reason = bought.decline_reason or bought.last_error or bought.get_status_display()
        quote = price_quote_of(bought)
        _failed(organisation, lease=lease, reason=reason, total=quote, now=now)
    # charging, charged, refunding: the settle job finishes it; the claim's lease brings
    # this crossing back here once it has.
    return bought


def price_quote_of(bought: Purchase) -> PriceQuote:
    return PriceQuote(
        bought.credits,
        bought.unit_price,
        None,
        bought.amount,
        bought.tax_rate,
        bought.tax,
        bought.total,
        bought.currency,
    )


def _failed(
    organisation: Organisation,
    *,
    lease: datetime,
    reason: str,
    total: PriceQuote | None,
    now: datetime,
) -> None:
    """Count the failure once (only while this claim still stands), e-mail the owners, and
    retry in an hour; the third in a row turns the top-up off."""
    with transaction.atomic():
        top_up = AutoTopUp.objects.select_for_update().get(pk=organisation.pk)
        if top_up.armed or top_up.next_attempt_at != lease:
            return  # counted already, or re-armed meanwhile
        top_up.consecutive_failures += 1
        context = {
            "credits": top_up.credits,
            "total": Money(total.total, total.currency) if total else None,
            "reason": reason,
            "failures": top_up.consecutive_failures,
            "max_failures": MAX_FAILURES,
            "retry_at": now + RETRY_AFTER,
        }
        top_up.armed = True
        if top_up.consecutive_failures >= MAX_FAILURES:
            top_up.enabled = False
            top_up.next_attempt_at = None
            top_up.disabled_reason = reason[:200]
            kind, template = NoticeKind.TOP_UP_DISABLED, "top_up_disabled"
        else:
            top_up.next_attempt_at = now + RETRY_AFTER
            kind, template = NoticeKind.TOP_UP_FAILURE, "top_up_failure"
        top_up.save(
            update_fields=[
                "armed",
                "enabled",
                "next_attempt_at",
                "consecutive_failures",
                "disabled_reason",
            ]
        )
        notice = credit_services.record_notice(
            organisation=organisation, kind=kind, template=template, context=context, now=now
        )
    logger.warning("automatic top-up of organisation %s failed: %s", organisation.pk, reason)
    credit_services.send_notice(notice=notice, now=now)


def _capped(
    organisation: Organisation,
    top_up: AutoTopUp,
    *,
    lease: datetime,
    quote: PriceQuote,
    spent: Decimal,
    now: datetime,
) -> None:
    """This month's cap would be passed: no purchase; the owners are told once a month; the
    next attempt waits for the first of next month (in the organisation's time zone)."""
    start = month_start(now, organisation.time_zone)
    resumes = start + relativedelta(months=1)
    with transaction.atomic():
        released = AutoTopUp.objects.filter(
            pk=organisation.pk, armed=False, next_attempt_at=lease
        ).update(armed=True, next_attempt_at=resumes)
        if not released:
            return
        notice = credit_services.record_notice(
            organisation=organisation,
            kind=NoticeKind.TOP_UP_CAPPED,
            template="top_up_capped",
            context={
                "threshold": top_up.threshold,
                "total": Money(quote.total, quote.currency),
                "spent": Money(spent, quote.currency),
                "cap": Money(top_up.monthly_cap, quote.currency),
                "resumes": resumes,
            },
            now=now,
            key=f"top-up-capped-{start:%Y-%m}",
        )
    if notice is not None:
        credit_services.send_notice(notice=notice, now=now)


@dataclass(frozen=True)
class TopUpRun:
    rearmed: int
    checked: int
    bought: int


def run_auto_top_ups(*, now: datetime) -> TopUpRun:
    """The every-minute job: re-arm, in one UPDATE, every top-up whose organisation is back
    at or above its threshold; then run the top-up of every organisation that one query
    finds under its threshold with a crossing to claim (armed and due) or a claim whose
    lease ran out. Safe to run twice or at once (the claim and the purchase key)."""
    rearmed = _rearm(AutoTopUp.objects.all())
    due = (
        AutoTopUp.objects.filter(
            enabled=True,
            organisation__pool__balance__lt=F("organisation__pool__held") + F("threshold"),
        )
        .filter(Q(armed=True, next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .select_related("organisation")
        .order_by("pk")
    )
    checked = bought = 0
    for top_up in list(due):
        checked += 1
        try:
            outcome = run_auto_top_up(organisation=top_up.organisation, now=now)
        except Exception:  # one organisation's trouble never stops the others' top-ups
            logger.exception("automatic top-up of organisation %s", top_up.pk)
            continue
        bought += outcome is not None and outcome.status in BOUGHT
    return TopUpRun(rearmed=rearmed, checked=checked, bought=bought)
