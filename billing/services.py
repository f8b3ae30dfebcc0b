"""Every write of billing: purchases, invoices, payments, subscriptions (rules of the house).

Billing never touches the ledger: paid credits enter through `credits.services.grant`, and a
cancelled purchase leaves through `credits.services.revoke_lot`. Jobs (PDF, e-mail) are
enqueued on commit, and a sweep catches any whose enqueue was lost.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from billing import gateway as payment
from billing.models import (
    BillingProfile,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Package,
    Payment,
    PaymentMethod,
    Plan,
    PriceList,
    PriceTier,
    Purchase,
    PurchaseStatus,
    Subscription,
    SubscriptionStatus,
)
from billing.money import cents
from clients.models import Organisation
from credits import services as credit_services
from credits.models import LotSource

User = AbstractBaseUser | None
PAYMENT_TERMS_DAYS = 30
RETRY_AFTER_DAYS = (1, 3, 5)  # failed renewal charges are retried, then the plan is suspended


class BillingError(Exception):
    """A refusal of billing; nothing was charged, granted or issued when it is raised."""

    http_status = 400


class PaymentDeclined(BillingError):
    http_status = 402


class IdempotencyConflict(BillingError):
    http_status = 409


class InvoiceLocked(BillingError):
    http_status = 409


# --- prices (G2, S3) -----------------------------------------------------------------------


@dataclass(frozen=True)
class PriceQuote:
    credits: int
    unit_price: Decimal
    tier: PriceTier | None
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    currency: str


def profile_of(organisation: Organisation) -> BillingProfile:
    profile, _created = BillingProfile.objects.get_or_create(
        organisation=organisation,
        defaults={"legal_name": organisation.name},
    )
    return profile


def price_list_for(organisation: Organisation) -> PriceList:
    """A partner's own list beats the default list of the organisation's currency (G2)."""
    profile = profile_of(organisation)
    if profile.price_list_id:
        return profile.price_list
    found = PriceList.objects.filter(currency=organisation.currency, is_default=True).first()
    if found is None:
        raise BillingError(_("No price list for %s.") % organisation.currency)
    return found


def _taxed(organisation: Organisation, amount: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    rate = profile_of(organisation).tax_rate
    tax = cents(amount * rate / 100)
    return rate, tax, amount + tax


def price_credits(organisation: Organisation, credits: int) -> PriceQuote:
    """The price of a custom quantity: every credit at the rate of the tier the quantity
    falls in (the highest tier starting at or below it), rounded once to the cent."""
    if not isinstance(credits, int) or isinstance(credits, bool) or credits < 1:
        raise BillingError(_("Choose a whole number of credits."))
    price_list = price_list_for(organisation)
    tier = price_list.tiers.filter(min_credits__lte=credits).order_by("-min_credits").first()
    if tier is None:
        first = price_list.tiers.order_by("min_credits").first()
        raise BillingError(
            _("Buy at least %(minimum)d credits.") % {"minimum": first.min_credits if first else 1}
        )
    amount = cents(tier.unit_price * credits)
    rate, tax, total = _taxed(organisation, amount)
    return PriceQuote(credits, tier.unit_price, tier, amount, rate, tax, total, price_list.currency)


def price_package(organisation: Organisation, package: Package) -> PriceQuote:
    if package.price_list_id != price_list_for(organisation).pk or not package.is_active:
        raise BillingError(_("This package is not on sale for this organisation."))
    amount = cents(package.price)
    unit_price = (package.price / package.credits).quantize(Decimal("0.0001"))
    rate, tax, total = _taxed(organisation, amount)
    return PriceQuote(
        package.credits, unit_price, None, amount, rate, tax, total, package.price_list.currency
    )


# --- invoices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


def _next_number(series: str, year: int) -> int:
    """Lock the series' counter row and take the next number: gapless and unique, because the
    number is taken in the same transaction that writes the invoice."""
    InvoiceCounter.objects.get_or_create(series=series, year=year)
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _buyer(organisation: Organisation) -> dict[str, str]:
    profile = profile_of(organisation)
    return {
        "name": profile.legal_name or organisation.name,
        "address": profile.address,
        "vat_number": profile.vat_number,
        "email": profile.email,
    }


def _local_date(moment: datetime, organisation: Organisation):
    return moment.astimezone(ZoneInfo(organisation.time_zone)).date()


def issue_invoice(
    *,
    organisation: Organisation,
    lines: list[Line],
    now: datetime,
    due_days: int = 0,
    status: str = InvoiceStatus.OPEN,
    kind: str = InvoiceKind.INVOICE,
    credit_note_for: Invoice | None = None,
) -> Invoice:
    """Write an invoice (or credit note) with its number, lines and totals; its PDF is
    rendered and e-mailed by a job enqueued once the transaction commits."""
    series = (
        settings.CREDIT_NOTE_SERIES if kind == InvoiceKind.CREDIT_NOTE else settings.INVOICE_SERIES
    )
    issued_on = _local_date(now, organisation)
    sequence = _next_number(series, issued_on.year)
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    rate, tax, total = _taxed(organisation, subtotal)
    invoice = Invoice.objects.create(
        organisation=organisation,
        kind=kind,
        series=series,
        year=issued_on.year,
        sequence=sequence,
        number=f"{series}-{issued_on.year}-{sequence:06d}",
        status=status,
        currency=organisation.currency,
        subtotal=subtotal,
        tax_rate=rate,
        tax=tax,
        total=total,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=due_days),
        issued_at=now,
        seller=dict(settings.BILLING_SELLER),
        buyer=_buyer(organisation),
        credit_note_for=credit_note_for,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for line in lines
    )
    transaction.on_commit(lambda: _enqueue_invoice_jobs(invoice.pk))
    return invoice


def _enqueue_invoice_jobs(invoice_id: int) -> None:
    from billing import tasks

    tasks.deliver_invoice.delay(invoice_id)


def render_invoice_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """Render the PDF with WeasyPrint and store it; already rendered is left alone unless
    forced (admin's "regenerate"), so the job is safe to run twice."""
    from django.core.files.base import ContentFile
    from weasyprint import HTML

    if invoice.pdf and not force:
        return invoice
    html = render_to_string(
        "billing/invoice.html", {"invoice": invoice, "lines": list(invoice.lines.all())}
    )
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    if invoice.pdf:
        invoice.pdf.delete(save=False)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(document), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return invoice


def email_invoice(*, invoice: Invoice, now: datetime) -> bool:
    """Send the invoice with its PDF to the buyer, once (D1). Returns whether it was sent."""
    recipient = invoice.buyer.get("email") or _owner_email(invoice.organisation)
    if invoice.emailed_at is not None or not recipient:
        return False
    render_invoice_pdf(invoice=invoice)
    invoice.refresh_from_db()
    kind = invoice.get_kind_display()
    message = EmailMessage(
        subject=f"{kind} {invoice.number}",
        body=render_to_string("billing/invoice_email.txt", {"invoice": invoice}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    with invoice.pdf.open("rb") as pdf:
        message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    claimed = Invoice.objects.filter(pk=invoice.pk, emailed_at__isnull=True).update(emailed_at=now)
    if claimed:
        message.send()
    return bool(claimed)


def _owner_email(organisation: Organisation) -> str:
    owner = organisation.memberships.filter(role="owner").select_related("user").first()
    return owner.user.email if owner else ""


@transaction.atomic
def record_payment(
    *, invoice: Invoice, now: datetime, method: str, reference: str = "", amount=None
) -> Payment:
    """Money received: the invoice is paid once payments cover its total (admin: mark paid)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID or invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise InvoiceLocked(_("A void invoice or a credit note takes no payment."))
    if invoice.status == InvoiceStatus.PAID:
        raise InvoiceLocked(_("This invoice is already paid."))
    paid = sum(invoice.payments.values_list("amount", flat=True), Decimal("0.00"))
    amount = cents(invoice.total - paid if amount is None else amount)
    if amount <= 0 or paid + amount > invoice.total:
        raise BillingError(_("A payment must be positive and not exceed what is due."))
    recorded = Payment.objects.create(
        invoice=invoice, amount=amount, method=method, reference=reference, paid_at=now
    )
    if paid + amount == invoice.total:
        invoice.status = InvoiceStatus.PAID
        invoice.save(update_fields=["status"])
    return recorded


def mark_overdue(*, now: datetime) -> int:
    """Open invoices past their due date become overdue (D1); re-running changes nothing."""
    overdue = 0
    for invoice in Invoice.objects.filter(status=InvoiceStatus.OPEN).select_related("organisation"):
        if invoice.due_on < _local_date(now, invoice.organisation):
            overdue += Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.OPEN).update(
                status=InvoiceStatus.OVERDUE
            )
    return overdue


@transaction.atomic
def void_invoice(*, invoice: Invoice, reason: str, now: datetime, actor: User = None) -> Invoice:
    """Cancel an invoice with a credit note (nothing is ever deleted). An invoice for credits
    is voided only if none of them were used: credits are not refundable (S7)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind == InvoiceKind.CREDIT_NOTE or invoice.status == InvoiceStatus.VOID:
        raise InvoiceLocked(_("This invoice is already void."))
    if not reason.strip():
        raise BillingError(_("Say why the invoice is voided."))
    purchase = Purchase.objects.filter(invoice=invoice).select_related("lot").first()
    if purchase is not None and purchase.lot is not None:
        credit_services.revoke_lot(
            lot=purchase.lot, reason=f"{invoice.number} voided: {reason}", now=now, actor=actor
        )
    lines = [
        Line(f"{line.description} ({invoice.number})", line.quantity, line.unit_price, -line.amount)
        for line in invoice.lines.all()
    ]
    note = issue_invoice(
        organisation=invoice.organisation,
        lines=lines,
        now=now,
        status=InvoiceStatus.PAID,
        kind=InvoiceKind.CREDIT_NOTE,
        credit_note_for=invoice,
    )
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status"])
    return note


# --- purchases (D1, S3, S4, G2) ------------------------------------------------------------


def _fingerprint(**values: object) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


@transaction.atomic
def save_card(
    *,
    organisation: Organisation,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    now: datetime,
) -> BillingProfile:
    """Update the payment method through the gateway; only its token, brand, last four digits
    and expiry are kept (M3)."""
    try:
        card = payment.get_gateway().save_card(
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            cvc=cvc,
            today=_local_date(now, organisation),
        )
    except payment.CardRefused as refusal:
        raise PaymentDeclined(str(refusal)) from refusal
    profile = BillingProfile.objects.select_for_update().get(pk=profile_of(organisation).pk)
    profile.card_token = card.token
    profile.card_brand = card.brand
    profile.card_last4 = card.last4
    profile.card_exp_month = card.exp_month
    profile.card_exp_year = card.exp_year
    profile.save()
    return profile


def purchase(
    *,
    organisation: Organisation,
    now: datetime,
    method: str,
    package: Package | None = None,
    credits: int | None = None,
    actor: User = None,
    idempotency_key: str = "",
) -> Purchase:
    """Buy a package or a custom quantity, by card or on enterprise terms (D1).

    Paid or invoiced: an invoice is issued and the credits are granted at once, with the
    package's validity or the organisation's policy (a purchase may extend the expiry of the
    credits held, S4). Declined: the attempt is recorded with the reason, nothing granted.
    The same idempotency key buys once; with other input it is refused.
    """
    if (package is None) == (credits is None):
        raise BillingError(_("Choose a package or a number of credits."))
    if method not in (PaymentMethod.CARD, PaymentMethod.ENTERPRISE_TERMS):
        raise BillingError(_("Pay by card or on enterprise terms."))
    fingerprint = _fingerprint(
        package=package.pk if package else None, credits=credits, method=method
    )
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(pk=profile_of(organisation).pk)
        if idempotency_key:
            earlier = Purchase.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if earlier is not None:
                if earlier.fingerprint != fingerprint:
                    raise IdempotencyConflict(
                        _("The idempotency key “%(key)s” was already used for another purchase.")
                        % {"key": idempotency_key}
                    )
                return earlier
        quote = (
            price_package(organisation, package)
            if package
            else price_credits(organisation, credits)
        )
        if method == PaymentMethod.ENTERPRISE_TERMS and not profile.enterprise_terms:
            raise BillingError(_("Enterprise terms are not open to this organisation."))
        if method == PaymentMethod.CARD and not profile.has_card:
            raise PaymentDeclined(_("Add a card before paying by card."))
        record = Purchase(
            organisation=organisation,
            package=package,
            credits=quote.credits,
            unit_price=quote.unit_price,
            amount=quote.amount,
            currency=quote.currency,
            method=method,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            actor=actor,
            created_at=now,
        )
        if method == PaymentMethod.CARD:
            charged = payment.get_gateway().charge(
                token=profile.card_token,
                amount=quote.total,
                currency=quote.currency,
                idempotency_key=idempotency_key or f"purchase-{now.isoformat()}",
                description=f"{quote.credits} credits",
            )
            if not charged.ok:
                record.status = (
                    PurchaseStatus.DECLINED if charged.declined else PurchaseStatus.FAILED
                )
                record.decline_reason = charged.error
                record.save()
                return record
            record.gateway_reference = charged.reference
        record.status = (
            PurchaseStatus.PAID if method == PaymentMethod.CARD else PurchaseStatus.INVOICED
        )
        record.save()
        _invoice_and_grant(record, package, now, actor)
        return record


def _invoice_and_grant(record: Purchase, package: Package | None, now: datetime, actor) -> None:
    organisation = record.organisation
    description = (
        package.name if package else _("%(credits)d credits") % {"credits": record.credits}
    )
    invoice = issue_invoice(
        organisation=organisation,
        lines=[Line(description, record.credits, record.unit_price, record.amount)],
        now=now,
        due_days=0 if record.method == PaymentMethod.CARD else PAYMENT_TERMS_DAYS,
    )
    if record.method == PaymentMethod.CARD:
        record_payment(
            invoice=invoice, now=now, method=PaymentMethod.CARD, reference=record.gateway_reference
        )
    expires_at = (
        now + relativedelta(months=package.validity_months)
        if package is not None and package.validity_months
        else credit_services.DEFAULT
    )
    lot = credit_services.grant(
        organisation=organisation,
        credits=record.credits,
        source=LotSource.PURCHASE,
        expires_at=expires_at,
        unit_cost=record.unit_price,
        reference=invoice.number,
        actor=actor,
        idempotency_key=f"purchase-{record.pk}",
        now=now,
    )
    record.invoice = invoice
    record.lot = lot
    record.save(update_fields=["invoice", "lot"])


# --- plans and subscriptions (M2, M3) ------------------------------------------------------


def _charge_card(organisation: Organisation, amount: Decimal, key: str, what: str):
    profile = profile_of(organisation)
    if amount == 0:
        return payment.ChargeResult(ok=True, reference="free")
    return payment.get_gateway().charge(
        token=profile.card_token,
        amount=amount,
        currency=organisation.currency,
        idempotency_key=key,
        description=what,
    )


def _bill_plan_period(
    subscription: Subscription, plan: Plan, start: datetime, end: datetime, now: datetime
) -> Invoice:
    """Invoice a paid period and grant its allowance, which expires with the period (M2)."""
    organisation = subscription.organisation
    amount = cents(plan.monthly_price)
    invoice = issue_invoice(
        organisation=organisation,
        lines=[
            Line(
                _("%(plan)s plan, %(start)s to %(end)s")
                % {
                    "plan": plan.name,
                    "start": _local_date(start, organisation),
                    "end": _local_date(end, organisation),
                },
                1,
                plan.monthly_price,
                amount,
            )
        ],
        now=now,
    )
    record_payment(invoice=invoice, now=now, method=PaymentMethod.CARD)
    if plan.included_credits:
        lot = credit_services.grant(
            organisation=organisation,
            credits=plan.included_credits,
            source=LotSource.PLAN_ALLOWANCE,
            expires_at=end,
            reference=f"{plan.name} {_local_date(start, organisation):%Y-%m}",
            idempotency_key=f"allowance-{subscription.pk}-{start.isoformat()}",
            now=now,
        )
        subscription.allowance_lot_id = lot.pk
    return invoice


@transaction.atomic
def subscribe(
    *, organisation: Organisation, plan: Plan, now: datetime, actor: User = None
) -> Subscription:
    """Start a plan: the first month is charged at once and its allowance granted."""
    if Subscription.objects.filter(
        organisation=organisation, status__in=["active", "past_due"]
    ).exists():
        raise BillingError(_("This organisation already has a plan; change it instead."))
    if not profile_of(organisation).has_card and plan.monthly_price > 0:
        raise PaymentDeclined(_("Add a card before choosing a paid plan."))
    end = now + relativedelta(months=1)
    charged = _charge_card(
        organisation,
        cents(plan.monthly_price),
        f"subscribe-{organisation.pk}-{now.isoformat()}",
        plan.name,
    )
    if not charged.ok:
        raise PaymentDeclined(charged.error)
    subscription, _created = Subscription.objects.update_or_create(
        organisation=organisation,
        defaults={
            "plan": plan,
            "status": SubscriptionStatus.ACTIVE,
            "period_start": now,
            "renews_on": end,
            "cancel_at_period_end": False,
            "next_plan": None,
            "failed_attempts": 0,
            "next_retry_at": None,
        },
    )
    _bill_plan_period(subscription, plan, now, end, now)
    subscription.save()
    return subscription


def _lock_subscription(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "organisation")
        .get(pk=subscription.pk)
    )


@transaction.atomic
def change_plan(*, subscription: Subscription, plan: Plan, now: datetime) -> Subscription:
    """Upgrade at once (the price difference for the rest of the period, and the extra
    allowance until the period ends); downgrade at the next renewal (M3)."""
    subscription = _lock_subscription(subscription)
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise BillingError(_("Only an active plan can be changed."))
    if plan.pk == subscription.plan_id:
        subscription.next_plan = None
        subscription.save(update_fields=["next_plan"])
        return subscription
    current = subscription.plan
    if plan.monthly_price <= current.monthly_price:
        subscription.next_plan = plan
        subscription.save(update_fields=["next_plan"])
        return subscription
    period = (subscription.renews_on - subscription.period_start).total_seconds()
    left = max((subscription.renews_on - now).total_seconds(), 0)
    fraction = Decimal(left) / Decimal(period)
    amount = cents((plan.monthly_price - current.monthly_price) * fraction)
    organisation = subscription.organisation
    charged = _charge_card(
        organisation, amount, f"upgrade-{subscription.pk}-{plan.pk}-{now.isoformat()}", plan.name
    )
    if not charged.ok:
        raise PaymentDeclined(charged.error)
    invoice = issue_invoice(
        organisation=organisation,
        lines=[
            Line(
                _("Upgrade from %(old)s to %(new)s, rest of the period")
                % {"old": current.name, "new": plan.name},
                1,
                amount,
                amount,
            )
        ],
        now=now,
    )
    record_payment(invoice=invoice, now=now, method=PaymentMethod.CARD, reference=charged.reference)
    extra = plan.included_credits - current.included_credits
    if extra > 0:
        credit_services.grant(
            organisation=organisation,
            credits=extra,
            source=LotSource.PLAN_ALLOWANCE,
            expires_at=subscription.renews_on,
            reference=f"Upgrade to {plan.name}",
            idempotency_key=f"upgrade-{subscription.pk}-{plan.pk}-{subscription.period_start.isoformat()}",
            now=now,
        )
    subscription.plan = plan
    subscription.next_plan = None
    subscription.save(update_fields=["plan", "next_plan"])
    return subscription


@transaction.atomic
def cancel_subscription(*, subscription: Subscription, now: datetime) -> Subscription:
    """The plan runs to the end of the paid period, then stops (M3)."""
    subscription = _lock_subscription(subscription)
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise BillingError(_("This plan is already cancelled."))
    subscription.cancel_at_period_end = True
    subscription.save(update_fields=["cancel_at_period_end"])
    return subscription


def _renew_locked(subscription: Subscription, now: datetime) -> str:
    if subscription.cancel_at_period_end:
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.save()
        return "cancelled"
    if subscription.next_plan_id:
        subscription.plan = subscription.next_plan
        subscription.next_plan = None
    start = subscription.renews_on
    end = start + relativedelta(months=1)
    charged = _charge_card(
        subscription.organisation,
        cents(subscription.plan.monthly_price),
        f"renewal-{subscription.pk}-{start.isoformat()}-{subscription.failed_attempts}",
        subscription.plan.name,
    )
    if not charged.ok:
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
        return subscription.status
    _bill_plan_period(subscription, subscription.plan, start, end, now)
    subscription.period_start = start
    subscription.renews_on = end
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.failed_attempts = 0
    subscription.next_retry_at = None
    subscription.save()
    return "renewed"


def renew_due(*, now: datetime) -> dict[str, int]:
    """The renewal job: active plans at their renewal date, and past-due plans at their next
    retry. Each subscription is locked and re-read, so running twice renews once."""
    outcomes: dict[str, int] = {}
    due = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, renews_on__lte=now)
    retry = Subscription.objects.filter(status=SubscriptionStatus.PAST_DUE, next_retry_at__lte=now)
    for subscription_id in sorted(
        set(due.values_list("pk", flat=True)) | set(retry.values_list("pk", flat=True))
    ):
        with transaction.atomic():
            locked = (
                Subscription.objects.select_for_update(of=("self",))
                .select_related("plan", "organisation", "next_plan")
                .get(pk=subscription_id)
            )
            still_due = (
                locked.status == SubscriptionStatus.ACTIVE and locked.renews_on <= now
            ) or (
                locked.status == SubscriptionStatus.PAST_DUE
                and locked.next_retry_at is not None
                and locked.next_retry_at <= now
            )
            if not still_due:
                continue
            outcome = _renew_locked(locked, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
