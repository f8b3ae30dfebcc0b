"""What a completed payment writes, by kind (credits, a plan's first month, an upgrade, a
renewal), in the one transaction of `billing.services.purchases`' third step: the invoice,
the payment, and what was bought. Also what a declined renewal does to its plan (M3)."""

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from billing.exceptions import BillingError
from billing.models import (
    PaymentMethod,
    Purchase,
    PurchaseKind,
    Subscription,
    SubscriptionStatus,
)
from billing.services.common import local_date
from billing.services.invoices import Line, issue_invoice, record_payment
from clients.models import Organisation
from credits import services as credit_services
from credits.models import LotSource
from webhooks import events as webhook_events

PAYMENT_TERMS_DAYS = 30


def describe(record: Purchase) -> str:
    with translation.override(record.organisation.language):
        if record.kind == PurchaseKind.CREDITS:
            if record.package_id:
                return record.package.name
            return _("%(credits)s credits") % {
                "credits": number_format(record.credits, force_grouping=True)
            }
        start = local_date(record.period_start, record.organisation)
        end = local_date(record.period_end, record.organisation)
        if record.kind == PurchaseKind.PLAN_UPGRADE:
            return _("Upgrade to the %(plan)s plan, %(start)s to %(end)s") % {
                "plan": record.plan.name,
                "start": start,
                "end": end,
            }
        return _("%(plan)s plan, %(start)s to %(end)s") % {
            "plan": record.plan.name,
            "start": start,
            "end": end,
        }


def complete_recorded(record: Purchase, now: datetime, *, status: str) -> None:
    """In one transaction: the invoice, the payment, and what was bought."""
    organisation = record.organisation
    by_card = record.method == PaymentMethod.CARD
    quantity = record.credits if record.kind == PurchaseKind.CREDITS else 1
    unit_price = record.unit_price if record.kind == PurchaseKind.CREDITS else record.amount
    invoice = issue_invoice(
        organisation=organisation,
        lines=[Line(describe(record), quantity, unit_price, record.amount)],
        now=now,
        due_days=0 if by_card else PAYMENT_TERMS_DAYS,
        tax_rate=record.tax_rate,
    )
    if by_card:
        record_payment(
            invoice=invoice, now=now, method=PaymentMethod.CARD, reference=record.gateway_reference
        )
    record.invoice = invoice
    GRANTS[record.kind](record, now)
    record.status = status
    record.completed_at = now
    record.next_attempt_at = None
    record.last_error = ""
    record.save()
    webhook_events.purchase_completed(record, now=now)


def _grant_credits(record: Purchase, now: datetime) -> None:
    package = record.package
    expires_at = (
        now + relativedelta(months=package.validity_months)
        if package is not None and package.validity_months
        else credit_services.DEFAULT
    )
    record.lot = credit_services.grant(
        organisation=record.organisation,
        credits=record.credits,
        source=LotSource.PURCHASE,
        expires_at=expires_at,
        unit_cost=record.unit_price,
        reference=record.invoice.number,
        actor=record.actor,
        idempotency_key=f"purchase-{record.pk}",
        now=now,
    )


def _lock_subscription(organisation: Organisation) -> Subscription | None:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "organisation")
        .filter(organisation=organisation)
        .first()
    )


def _grant_allowance(record: Purchase, now: datetime, credits: int, what: str) -> int | None:
    """A plan's credits for the period, expiring with it (M2)."""
    if credits <= 0:
        return None
    lot = credit_services.grant(
        organisation=record.organisation,
        credits=credits,
        source=LotSource.PLAN_ALLOWANCE,
        expires_at=record.period_end,
        reference=what,
        idempotency_key=f"allowance-purchase-{record.pk}",
        now=now,
    )
    record.lot = lot
    return lot.pk


def _start_plan(record: Purchase, now: datetime) -> None:
    subscription, _created = Subscription.objects.update_or_create(
        organisation=record.organisation,
        defaults={
            "plan": record.plan,
            "status": SubscriptionStatus.ACTIVE,
            "period_start": record.period_start,
            "renews_on": record.period_end,
            "cancel_at_period_end": False,
            "next_plan": None,
            "failed_attempts": 0,
            "next_retry_at": None,
        },
    )
    subscription.allowance_lot_id = _grant_allowance(
        record, now, record.plan.included_credits, _period_reference(record)
    )
    subscription.save(update_fields=["allowance_lot_id"])


def _upgrade_plan(record: Purchase, now: datetime) -> None:
    subscription = _lock_subscription(record.organisation)
    if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
        raise BillingError(_("Only an active plan can be changed."))
    _grant_allowance(record, now, record.credits, _("Upgrade to %s") % record.plan.name)
    subscription.plan = record.plan
    subscription.next_plan = None
    subscription.save(update_fields=["plan", "next_plan"])


def _renew_plan(record: Purchase, now: datetime) -> None:
    subscription = _lock_subscription(record.organisation)
    if subscription is None:
        raise BillingError(_("This plan no longer exists."))
    subscription.plan = record.plan
    subscription.next_plan = None
    subscription.period_start = record.period_start
    subscription.renews_on = record.period_end
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.failed_attempts = 0
    subscription.next_retry_at = None
    subscription.allowance_lot_id = _grant_allowance(
        record, now, record.plan.included_credits, _period_reference(record)
    )
    subscription.save()


def _period_reference(record: Purchase) -> str:
    return f"{record.plan.name} {local_date(record.period_start, record.organisation):%Y-%m}"


GRANTS = {
    PurchaseKind.CREDITS: _grant_credits,
    PurchaseKind.PLAN_START: _start_plan,
    PurchaseKind.PLAN_UPGRADE: _upgrade_plan,
    PurchaseKind.PLAN_RENEWAL: _renew_plan,
}

RETRY_AFTER_DAYS = (1, 3, 5)  # failed renewal charges are retried, then the plan is suspended


def renewal_declined(record: Purchase, now: datetime) -> None:
    """Dunning (M3): past due, retried after 1, 3 and 5 days, then suspended."""
    subscription = _lock_subscription(record.organisation)
    if subscription is None or subscription.renews_on != record.period_start:
        return
    subscription.failed_attempts += 1
    if subscription.failed_attempts > len(RETRY_AFTER_DAYS):
        subscription.status = SubscriptionStatus.SUSPENDED
        subscription.next_retry_at = None
    else:
        subscription.status = SubscriptionStatus.PAST_DUE
        subscription.next_retry_at = now + timedelta(
            days=RETRY_AFTER_DAYS[subscription.failed_attempts - 1]
        )
    subscription.save()
