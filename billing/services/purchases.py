"""Purchases that cannot lose money (D1, S3, S4, X3, X4).

Every payment, for credits or for a plan period, goes the same way:

1. **record**: one short transaction, under the organisation's billing-profile lock, prices
   the purchase, checks it, and writes it `charging` with a lease (`next_attempt_at`);
   it commits before anyone talks to the gateway;
2. **charge**: outside any transaction, the gateway is asked with an idempotency key derived
   from the row (`Purchase.charge_key`), so that however often and by whoever it is asked
   again, the card is charged once; the outcome is recorded (`charged`, `declined`,
   `failed`), and a lost answer leaves the row `charging` for the settle job;
3. **complete**: one transaction issues the invoice, records the payment and grants what was
   bought, and marks the row done. If it fails the row stays `charged`; the settle job
   completes it later, or refunds it through the gateway when it never can.

Enterprise terms and free plan periods take no money, so record and complete are one
transaction. `settle_purchases` is the job that finishes whatever a crash, a dropped
connection or a gateway timeout interrupted.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from billing import gateway as payment
from billing.exceptions import BillingError, IdempotencyConflict, PaymentDeclined
from billing.models import (
    BillingProfile,
    Package,
    PaymentMethod,
    Purchase,
    PurchaseKind,
    PurchaseOrigin,
    PurchaseStatus,
)
from billing.pricing import check_quantity, price_credits, price_package
from billing.services.common import User, fingerprint
from billing.services.completion import complete_recorded, describe, renewal_declined
from billing.services.profiles import CardDetails, profile_of, put_card_on_file, tokenise
from clients.models import Organisation
from credits.exceptions import CreditsError

logger = logging.getLogger("billing.purchases")

# A charge that did not come back is asked again after its lease; the creator of a purchase
# holds the first lease, so the job never races a live request for the same charge.
CHARGE_LEASE = timedelta(minutes=2)
# A charged purchase that cannot be completed is retried at these intervals, then refunded.
COMPLETION_RETRIES = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
GATEWAY_RETRY_CAP = timedelta(hours=1)
UNFINISHED = (PurchaseStatus.CHARGING, PurchaseStatus.CHARGED, PurchaseStatus.REFUNDING)


def lock_billing(organisation: Organisation) -> BillingProfile:
    """The organisation's billing lock (its profile row): every recording of a payment takes
    it first, so two purchases, plan changes or top-ups of one organisation are recorded one
    after the other. It is taken before any ledger lock (credits' pool), never after."""
    return BillingProfile.objects.select_for_update().get(pk=profile_of(organisation).pk)


def purchase(
    *,
    organisation: Organisation,
    now: datetime,
    method: str,
    package: Package | None = None,
    credits: int | None = None,
    actor: User = None,
    idempotency_key: str = "",
    origin: str = PurchaseOrigin.PERSON,
    new_card: CardDetails | None = None,
) -> Purchase:
    """Buy a package or a custom quantity, by card (the card on file, or `new_card`, which
    replaces it once the charge succeeded) or on enterprise terms (invoice due in 30 days,
    credits at once).

    Returns the purchase in the state it reached: `paid`/`invoiced` (credits usable),
    `declined`/`failed` (nothing bought, `decline_reason` says why), or `charging`/`charged`
    when the gateway or the database did not answer in time: the money is safe and the
    settle job finishes it. The same idempotency key buys once; with other input it is
    refused. A purchase changes the expiry of the credits held only where the policy says so
    (S4).
    """
    if (package is None) == (credits is None):
        raise BillingError(_("Choose a package or a number of credits."))
    if credits is not None:
        check_quantity(credits)
    if method not in (PaymentMethod.CARD, PaymentMethod.ENTERPRISE_TERMS):
        raise BillingError(_("Pay by card or on enterprise terms."))
    typed = None
    if new_card is not None:
        if method != PaymentMethod.CARD:
            raise BillingError(_("A new card is only for paying by card."))
        typed = tokenise(organisation=organisation, card=new_card, now=now)
    asked = fingerprint(package=package.pk if package else None, credits=credits, method=method)
    with transaction.atomic():
        profile = lock_billing(organisation)
        if idempotency_key:
            earlier = Purchase.objects.filter(
                organisation=organisation, idempotency_key=idempotency_key
            ).first()
            if earlier is not None:
                if earlier.fingerprint != asked:
                    raise IdempotencyConflict(
                        _("The idempotency key “%(key)s” was already used for another purchase.")
                        % {"key": idempotency_key}
                    )
                replayed = True
            else:
                replayed = False
        else:
            replayed = False
        if not replayed:
            quote = (
                price_package(organisation, package)
                if package
                else price_credits(organisation, credits)
            )
            if method == PaymentMethod.ENTERPRISE_TERMS and not profile.enterprise_terms:
                raise BillingError(_("Enterprise terms are not open to this organisation."))
            if method == PaymentMethod.CARD and not profile.has_card and typed is None:
                raise PaymentDeclined(_("Add a card before paying by card."))
            record = Purchase.objects.create(
                organisation=organisation,
                kind=PurchaseKind.CREDITS,
                origin=origin,
                package=package,
                credits=quote.credits,
                unit_price=quote.unit_price,
                amount=quote.amount,
                tax_rate=quote.tax_rate,
                tax=quote.tax,
                total=quote.total,
                currency=quote.currency,
                method=method,
                status=PurchaseStatus.CHARGING,
                next_attempt_at=now + CHARGE_LEASE,
                idempotency_key=idempotency_key,
                fingerprint=asked,
                actor=actor,
                created_at=now,
                **_card_fields(typed),
            )
            if method == PaymentMethod.ENTERPRISE_TERMS:
                complete_recorded(record, now, status=PurchaseStatus.INVOICED)
                return record
    if replayed:
        return resume(purchase=earlier, now=now)
    return charge_and_complete(purchase=record, now=now)


def _card_fields(card: payment.SavedCard | None) -> dict[str, object]:
    if card is None:
        return {}
    return {
        "card_token": card.token,
        "card_brand": card.brand,
        "card_last4": card.last4,
        "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year,
    }


def charge_and_complete(*, purchase: Purchase, now: datetime) -> Purchase:
    """Steps 2 and 3 for a recorded purchase; never raises for what happens after the
    purchase was recorded: the returned row's status says where it stands."""
    record = _charge(purchase.pk, now)
    if record.status == PurchaseStatus.CHARGED:
        record = _complete(record.pk, now)
    return record


def resume(*, purchase: Purchase, now: datetime) -> Purchase:
    """A retry of a purchase already recorded (the same idempotency key): finish it if its
    lease ran out, otherwise report where it stands. Only the caller that wins the lease
    works on it, so eight concurrent retries charge once."""
    record = Purchase.objects.get(pk=purchase.pk)
    return _step(record, now) or record


def finish_now(*, purchase: Purchase, now: datetime) -> Purchase:
    """Staff's "finish now": what the settle job would do at the next attempt, without
    waiting for a backoff. A purchase whose first charge is still inside its lease is left
    to the request that holds it."""
    Purchase.objects.filter(
        pk=purchase.pk, status__in=UNFINISHED, created_at__lte=now - CHARGE_LEASE
    ).update(next_attempt_at=now)
    return resume(purchase=purchase, now=now)


def _step(record: Purchase, now: datetime) -> Purchase | None:
    """Take an unfinished purchase one step further if this caller wins its lease; None
    when another caller holds it or nothing is left to do."""
    if record.status not in UNFINISHED or not _take_lease(record, now):
        return None
    if record.status == PurchaseStatus.CHARGING:
        return charge_and_complete(purchase=record, now=now)
    if record.status == PurchaseStatus.CHARGED:
        return _complete(record.pk, now)
    return _refund(record.pk, now)


def _take_lease(record: Purchase, now: datetime) -> bool:
    return bool(
        Purchase.objects.filter(
            pk=record.pk,
            status=record.status,
            next_attempt_at=record.next_attempt_at,
            next_attempt_at__lte=now,
        ).update(next_attempt_at=now + CHARGE_LEASE)
    )


def _charge(purchase_id: int, now: datetime) -> Purchase:
    record = Purchase.objects.select_related("organisation", "plan").get(pk=purchase_id)
    if record.status != PurchaseStatus.CHARGING:
        return record
    token = record.card_token or profile_of(record.organisation).card_token
    Purchase.objects.filter(pk=record.pk).update(charge_attempts=F("charge_attempts") + 1)
    try:
        outcome = payment.get_gateway().charge(
            token=token,
            amount=record.total,
            currency=record.currency,
            idempotency_key=record.charge_key,
            description=describe(record),
        )
    except Exception as error:  # no answer: charged or not, the next attempt asks again
        logger.exception("charge of purchase %s did not come back", record.pk)
        _note_problem(record, error, now, _gateway_backoff(record.charge_attempts + 1))
        return _reread(record.pk, PurchaseStatus.CHARGING)
    try:
        _record_outcome(record, outcome, now)
    except Exception:  # the money moved; the row says charging, so the job asks again (same key)
        logger.exception("outcome of purchase %s's charge could not be recorded", record.pk)
    return _reread(record.pk, PurchaseStatus.CHARGING)


def _record_outcome(record: Purchase, outcome: payment.ChargeResult, now: datetime) -> None:
    if outcome.ok and record.card_token:  # the card typed at checkout works: keep it
        put_card_on_file(
            organisation=record.organisation,
            card=payment.SavedCard(
                token=record.card_token,
                brand=record.card_brand,
                last4=record.card_last4,
                exp_month=record.card_exp_month,
                exp_year=record.card_exp_year,
            ),
        )
    if outcome.ok:
        Purchase.objects.filter(pk=record.pk, status=PurchaseStatus.CHARGING).update(
            status=PurchaseStatus.CHARGED,
            gateway_reference=outcome.reference,
            # the caller completes it next; the job only if that caller never comes back
            next_attempt_at=now + CHARGE_LEASE,
            last_error="",
        )
        return
    with transaction.atomic():
        refused = Purchase.objects.filter(pk=record.pk, status=PurchaseStatus.CHARGING).update(
            status=PurchaseStatus.DECLINED if outcome.declined else PurchaseStatus.FAILED,
            decline_reason=outcome.error[:200],
            next_attempt_at=None,
        )
        if refused and record.kind == PurchaseKind.PLAN_RENEWAL:
            renewal_declined(record, now)


def _reread(purchase_id: int, unknown: str) -> Purchase:
    """The row as stored; when the database cannot be read, a stand-in saying `unknown`,
    so that a caller who paid gets "being processed" rather than an error."""
    try:
        return Purchase.objects.select_related("invoice", "lot").get(pk=purchase_id)
    except Exception:
        logger.exception("purchase %s could not be read back", purchase_id)
        return Purchase(pk=purchase_id, status=unknown)


def _gateway_backoff(attempts: int) -> timedelta:
    return min(CHARGE_LEASE * (2 ** max(attempts - 1, 0)), GATEWAY_RETRY_CAP)


def _note_problem(record: Purchase, error: BaseException, now: datetime, wait: timedelta) -> None:
    """Best effort: when the database itself is what failed, this fails too, and the row
    keeps the lease it had, which runs out soon enough for the job."""
    try:
        Purchase.objects.filter(pk=record.pk).update(
            last_error=f"{type(error).__name__}: {error}"[:2000], next_attempt_at=now + wait
        )
    except Exception:
        logger.exception("could not note the problem of purchase %s", record.pk)


def _complete(purchase_id: int, now: datetime) -> Purchase:
    try:
        with transaction.atomic():
            record = (
                Purchase.objects.select_for_update(of=("self",))
                .select_related("organisation", "package", "plan")
                .get(pk=purchase_id)
            )
            if record.status != PurchaseStatus.CHARGED:
                return record
            complete_recorded(record, now, status=PurchaseStatus.PAID)
            return record
    except (BillingError, CreditsError) as refusal:  # will never succeed: give the money back
        logger.warning("purchase %s cannot be completed (%s): refunding", purchase_id, refusal)
        _start_refund(purchase_id, str(refusal), now)
    except Exception as error:
        logger.exception("purchase %s was charged but not completed; the job will", purchase_id)
        try:
            record = Purchase.objects.get(pk=purchase_id)
            attempts = record.completion_attempts + 1
            if attempts > len(COMPLETION_RETRIES):
                Purchase.objects.filter(pk=purchase_id).update(completion_attempts=attempts)
                _start_refund(purchase_id, f"{type(error).__name__}: {error}", now)
            else:
                Purchase.objects.filter(pk=purchase_id, status=PurchaseStatus.CHARGED).update(
                    completion_attempts=attempts,
                    last_error=f"{type(error).__name__}: {error}"[:2000],
                    next_attempt_at=now + COMPLETION_RETRIES[attempts - 1],
                )
        except Exception:
            logger.exception("could not note the problem of purchase %s", purchase_id)
    return _reread(purchase_id, PurchaseStatus.CHARGED)


def _start_refund(purchase_id: int, reason: str, now: datetime) -> Purchase:
    Purchase.objects.filter(pk=purchase_id, status=PurchaseStatus.CHARGED).update(
        status=PurchaseStatus.REFUNDING, last_error=reason[:2000], next_attempt_at=now
    )
    return _refund(purchase_id, now)


def _refund(purchase_id: int, now: datetime) -> Purchase:
    record = Purchase.objects.get(pk=purchase_id)
    if record.status != PurchaseStatus.REFUNDING:
        return record
    try:
        outcome = payment.get_gateway().refund(
            reference=record.gateway_reference,
            amount=record.total,
            currency=record.currency,
            idempotency_key=f"refund-{record.charge_key}",
        )
    except Exception as error:
        logger.exception("refund of purchase %s did not come back", record.pk)
        _note_problem(record, error, now, GATEWAY_RETRY_CAP)
        return Purchase.objects.get(pk=record.pk)
    if outcome.ok:
        Purchase.objects.filter(pk=record.pk, status=PurchaseStatus.REFUNDING).update(
            status=PurchaseStatus.REFUNDED,
            refund_reference=outcome.reference,
            next_attempt_at=None,
            completed_at=now,
        )
    else:
        logger.error("refund of purchase %s refused: %s", record.pk, outcome.error)
        _note_problem(record, RuntimeError(outcome.error), now, GATEWAY_RETRY_CAP)
    return Purchase.objects.get(pk=record.pk)


def settle_purchases(*, now: datetime, batch: int = 500) -> dict[str, int]:
    """The job: every purchase a crash, a lost answer or a failed completion left unfinished,
    whose lease ran out, is taken forward one step further (charge again with the same key,
    complete, or refund). Re-running it is harmless; two runs never work on the same row."""
    due = list(
        Purchase.objects.filter(status__in=UNFINISHED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    outcomes: dict[str, int] = {}
    for record in Purchase.objects.filter(pk__in=due).order_by("next_attempt_at", "pk"):
        settled = _step(record, now)
        if settled is not None:
            outcomes[settled.status] = outcomes.get(settled.status, 0) + 1
    if due:
        left = Purchase.objects.filter(status__in=UNFINISHED).count()
        logger.info("settled unfinished purchases: %s; %d still unfinished", outcomes, left)
    return outcomes
