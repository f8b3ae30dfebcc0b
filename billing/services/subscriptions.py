"""Plans and subscriptions (M2, M3), paid the way every purchase is paid
(`billing.services.purchases`): recorded, committed, charged with a key derived from the
record, then completed in one transaction; the settle job finishes what was interrupted."""

from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils.translation import gettext as _

from billing.exceptions import BillingError, PaymentDeclined, PaymentPending
from billing.models import (
    PaymentMethod,
    Plan,
    Purchase,
    PurchaseKind,
    PurchaseOrigin,
    PurchaseStatus,
    Subscription,
    SubscriptionStatus,
)
from billing.money import cents
from billing.pricing import taxed
from billing.services.common import User
from billing.services.completion import complete_recorded
from billing.services.purchases import (
    CHARGE_LEASE,
    UNFINISHED,
    charge_and_complete,
    lock_billing,
)
from clients.models import Organisation


def _record_plan_payment(
    *,
    organisation: Organisation,
    kind: str,
    plan: Plan,
    amount: Decimal,
    credits: int,
    start: datetime,
    end: datetime,
    now: datetime,
    origin: str = PurchaseOrigin.PERSON,
    actor: User = None,
) -> Purchase:
    """Write the plan payment `charging`; a period of zero is completed at once (no card
    is asked for nothing). Runs inside the caller's transaction, under its billing lock."""
    rate, tax, total = taxed(organisation, amount)
    record = Purchase.objects.create(
        organisation=organisation,
        kind=kind,
        origin=origin,
        plan=plan,
        period_start=start,
        period_end=end,
        credits=credits,
        unit_price=amount,
        amount=amount,
        tax_rate=rate,
        tax=tax,
        total=total,
        currency=organisation.currency,
        method=PaymentMethod.CARD,
        status=PurchaseStatus.CHARGING,
        next_attempt_at=now + CHARGE_LEASE,
        actor=actor,
        created_at=now,
    )
    if total == 0:
        complete_recorded(record, now, status=PurchaseStatus.PAID)
    return record


def _record_plan_month(
    *,
    organisation: Organisation,
    kind: str,
    plan: Plan,
    start: datetime,
    now: datetime,
    origin: str = PurchaseOrigin.PERSON,
    actor: User = None,
) -> Purchase:
    """A whole month of `plan` from `start` (a start or a renewal): its monthly price for its
    monthly allowance; an upgrade pays a share of a month instead (`change_plan`)."""
    return _record_plan_payment(
        organisation=organisation,
        kind=kind,
        plan=plan,
        amount=cents(plan.monthly_price),
        credits=plan.included_credits,
        start=start,
        end=start + relativedelta(months=1),
        now=now,
        origin=origin,
        actor=actor,
    )


def _settled(record: Purchase, now: datetime) -> Purchase:
    """Charge and complete after commit, and say plainly how it ended."""
    if record.status == PurchaseStatus.CHARGING:
        record = charge_and_complete(purchase=record, now=now)
    if record.status in (PurchaseStatus.DECLINED, PurchaseStatus.FAILED):
        raise PaymentDeclined(record.decline_reason)
    if record.status in UNFINISHED:
        raise PaymentPending(
            _("Your payment is being processed; the plan changes as soon as it is confirmed.")
        )
    return record


def subscribe(
    *, organisation: Organisation, plan: Plan, now: datetime, actor: User = None
) -> Subscription:
    """Start a plan: the first month is charged at once and its allowance granted, expiring
    with the month (M2)."""
    with transaction.atomic():
        profile = lock_billing(organisation)
        if Subscription.objects.filter(
            organisation=organisation,
            status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE],
        ).exists():
            raise BillingError(_("This organisation already has a plan; change it instead."))
        if Purchase.objects.filter(
            organisation=organisation, kind=PurchaseKind.PLAN_START, status__in=UNFINISHED
        ).exists():
            raise PaymentPending(_("A plan is already being paid for; it starts in a moment."))
        if not plan.is_active or plan.currency != organisation.currency:
            raise BillingError(_("This plan is not on sale for this organisation."))
        if not profile.has_card and plan.monthly_price > 0:
            raise PaymentDeclined(_("Add a card before choosing a paid plan."))
        record = _record_plan_month(
            organisation=organisation,
            kind=PurchaseKind.PLAN_START,
            plan=plan,
            start=now,
            now=now,
            actor=actor,
        )
    _settled(record, now)
    return Subscription.objects.select_related("plan").get(organisation=organisation)


def _locked_subscription(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "organisation")
        .get(pk=subscription.pk)
    )


def change_plan(
    *, subscription: Subscription, plan: Plan, now: datetime, actor: User = None
) -> Subscription:
    """Upgrade at once (the price difference for the rest of the period, and the extra
    allowance until the period ends); downgrade at the next renewal (M3)."""
    with transaction.atomic():
        lock_billing(subscription.organisation)
        subscription = _locked_subscription(subscription)
        if subscription.status != SubscriptionStatus.ACTIVE:
            raise BillingError(_("Only an active plan can be changed."))
        if not plan.is_active or plan.currency != subscription.plan.currency:
            raise BillingError(_("This plan is not on sale for this organisation."))
        if plan.pk == subscription.plan_id:
            subscription.next_plan = None
            subscription.save(update_fields=["next_plan"])
            return subscription
        current = subscription.plan
        if plan.monthly_price <= current.monthly_price:
            subscription.next_plan = plan
            subscription.save(update_fields=["next_plan"])
            return subscription
        if Purchase.objects.filter(
            organisation=subscription.organisation,
            kind=PurchaseKind.PLAN_UPGRADE,
            status__in=UNFINISHED,
        ).exists():
            raise PaymentPending(_("An upgrade is already being paid for."))
        period = (subscription.renews_on - subscription.period_start).total_seconds()
        left = max((subscription.renews_on - now).total_seconds(), 0)
        amount = cents(
            (plan.monthly_price - current.monthly_price) * Decimal(left) / Decimal(period)
        )
        record = _record_plan_payment(
            organisation=subscription.organisation,
            kind=PurchaseKind.PLAN_UPGRADE,
            plan=plan,
            amount=amount,
            credits=max(plan.included_credits - current.included_credits, 0),
            start=subscription.period_start,
            end=subscription.renews_on,
            now=now,
            actor=actor,
        )
    _settled(record, now)
    return Subscription.objects.select_related("plan").get(pk=subscription.pk)


@transaction.atomic
def cancel_subscription(*, subscription: Subscription, now: datetime) -> Subscription:
    """The plan runs to the end of the paid period, then stops (M3)."""
    subscription = _locked_subscription(subscription)
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise BillingError(_("This plan is already cancelled."))
    subscription.cancel_at_period_end = True
    subscription.save(update_fields=["cancel_at_period_end"])
    return subscription


@transaction.atomic
def resume_subscription(*, subscription: Subscription, now: datetime) -> Subscription:
    """Undo a cancellation before the period ends: the plan renews as before."""
    subscription = _locked_subscription(subscription)
    if subscription.status == SubscriptionStatus.CANCELLED or subscription.renews_on <= now:
        raise BillingError(_("This plan has ended; choose a plan again."))
    subscription.cancel_at_period_end = False
    subscription.save(update_fields=["cancel_at_period_end"])
    return subscription


def _still_due(subscription: Subscription, now: datetime) -> bool:
    return (subscription.status == SubscriptionStatus.ACTIVE and subscription.renews_on <= now) or (
        subscription.status == SubscriptionStatus.PAST_DUE
        and subscription.next_retry_at is not None
        and subscription.next_retry_at <= now
    )


def _record_renewal(subscription_id: int, now: datetime) -> Purchase | str:
    """Lock, re-read, and either end the plan or record the period's payment."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_related("organisation")
            .only("organisation")
            .get(pk=subscription_id)
        )
        lock_billing(subscription.organisation)
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "organisation", "next_plan")
            .get(pk=subscription_id)
        )
        if not _still_due(subscription, now):
            return ""
        if Purchase.objects.filter(
            organisation=subscription.organisation,
            kind=PurchaseKind.PLAN_RENEWAL,
            period_start=subscription.renews_on,
            status__in=UNFINISHED,
        ).exists():
            return "pending"  # the settle job is finishing it
        if subscription.cancel_at_period_end:
            subscription.status = SubscriptionStatus.CANCELLED
            subscription.save(update_fields=["status"])
            return "cancelled"
        plan = subscription.next_plan or subscription.plan
        start = subscription.renews_on
        return _record_plan_month(
            organisation=subscription.organisation,
            kind=PurchaseKind.PLAN_RENEWAL,
            origin=PurchaseOrigin.RENEWAL,
            plan=plan,
            start=start,
            now=now,
        )


def renew_due(*, now: datetime) -> dict[str, int]:
    """The renewal job: active plans at their renewal date, and past-due plans at their next
    retry. Each is locked and re-read, and a period is paid for once (a constraint says so),
    so running twice, or beside itself, renews once."""
    outcomes: dict[str, int] = {}
    due = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, renews_on__lte=now)
    retry = Subscription.objects.filter(status=SubscriptionStatus.PAST_DUE, next_retry_at__lte=now)
    for subscription_id in sorted(
        set(due.values_list("pk", flat=True)) | set(retry.values_list("pk", flat=True))
    ):
        recorded = _record_renewal(subscription_id, now)
        if isinstance(recorded, Purchase):
            if recorded.status == PurchaseStatus.CHARGING:
                recorded = charge_and_complete(purchase=recorded, now=now)
            if recorded.status == PurchaseStatus.PAID:
                outcome = "renewed"
            elif recorded.status in UNFINISHED:
                outcome = "pending"
            else:
                outcome = Subscription.objects.get(pk=subscription_id).status
        else:
            outcome = recorded
        if outcome:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
