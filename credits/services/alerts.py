"""E-mails to an organisation's owners: expiry reminders (D3, K2), low-balance alerts (B1),
and the notices of the automatic top-up (B2, written by billing through `record_notice`).

Each goes the way invitations go (clients.services.members): the notice and the row that
makes it happen once (a reminder record, a disarmed alert, a top-up's state) are recorded
and committed together; only then is the e-mail handed to the mail server, outside any
transaction; then it is marked sent. A refusal leaves it `failed` with a time for the next
attempt, and every run of the jobs sends what is due again (`send_pending_notices`). A worker
that dies while sending leaves the notice claimed for SENDING_LEASE; it is then sent again
(at least once beats never).

Once-ness lives in the database, not in the jobs' timing: a reminder has a unique record per
lot, lead time and expiry date (per organisation, lead time and deadline for an inactivity
expiry); a low-balance alert is a conditional UPDATE of its state row from armed to
disarmed, re-armed when available credits are back at or above the threshold. Two jobs at
once, or a job run twice, send each message once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clients.models import Organisation
from credits.bounds import MAX_CREDITS, MAX_DAYS
from credits.exceptions import InvalidAmount
from credits.models import (
    CreditPool,
    ExpiryReminder,
    LowBalanceAlert,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from credits.selectors import alerts as selectors
from credits.services.accounts import update_policy
from webhooks import events as webhook_events

logger = logging.getLogger(__name__)

# A notice being handed to the mail server by a job that never came back is sent again
# after this; a refused one is retried after 5 minutes, then 3 times longer each time up to
# 6 hours, and given up after MAX_ATTEMPTS (about two days).
SENDING_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)
MAX_ATTEMPTS = 12
MAX_LEAD_DAYS = MAX_DAYS


def render_notice(organisation: Organisation, template: str, context: dict) -> tuple[str, str]:
    """The subject and body of `emails/<template>_subject.txt` and `emails/<template>.txt`,
    in the organisation's language, dates in its time zone."""
    context = {"organisation": organisation, **context}
    with translation.override(organisation.language), timezone.override(organisation.time_zone):
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        body = render_to_string(f"emails/{template}.txt", context)
    return " ".join(subject.split())[:300], body.strip() + "\n"


def record_notice(
    *,
    organisation: Organisation,
    kind: str,
    template: str,
    context: dict,
    now: datetime,
    key: str = "",
) -> Notice | None:
    """Write a notice to the owners, to send once the caller's transaction commits (call it
    inside the transaction that records why it goes, then `send_notice` after). With a `key`,
    a second notice with the same key is not written (None), e.g. once per month."""
    subject, body = render_notice(organisation, template, context)
    recipients = selectors.owner_emails(organisation)
    notice = Notice(
        organisation=organisation,
        kind=kind,
        key=key,
        subject=subject,
        body=body,
        recipients=recipients,
        status=NoticeStatus.PENDING if recipients else NoticeStatus.NONE,
        next_attempt_at=now if recipients else None,
        created_at=now,
    )
    if not key:
        notice.save()
        return notice
    try:
        with transaction.atomic():
            notice.save()
    except IntegrityError:  # this key's notice exists: once is enough
        return None
    return notice


def _retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 3 ** max(attempts - 1, 0), LONGEST_RETRY)


def send_notice(*, notice: Notice, now: datetime) -> Notice:
    """Hand a recorded notice to the mail server, once: the attempt is claimed first (two
    jobs, or a job and the request that recorded it, never both send it), then the answer is
    recorded. Never inside a transaction; never raises for the mail server's refusal."""
    if notice.status not in (NoticeStatus.PENDING, NoticeStatus.FAILED) or not notice.recipients:
        return notice
    attempt = notice.attempts + 1
    claimed = Notice.objects.filter(
        pk=notice.pk,
        attempts=notice.attempts,
        status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED],
    ).update(attempts=attempt, next_attempt_at=now + SENDING_LEASE)
    if not claimed:
        return Notice.objects.get(pk=notice.pk)
    message = EmailMessage(
        subject=notice.subject,
        body=notice.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=notice.recipients,
    )
    this_attempt = Notice.objects.filter(pk=notice.pk, attempts=attempt)
    try:
        message.send()
    except Exception as error:  # any refusal of any mail backend is recorded
        logger.warning("notice %s not sent (attempt %d): %r", notice.pk, attempt, error)
        this_attempt.update(
            status=NoticeStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:1000],
            next_attempt_at=now + _retry_delay(attempt) if attempt < MAX_ATTEMPTS else None,
        )
    else:
        this_attempt.update(status=NoticeStatus.SENT, sent_at=now, error="", next_attempt_at=None)
    return Notice.objects.get(pk=notice.pk)


def send_pending_notices(*, now: datetime, batch: int = 200) -> int:
    """The retry sweep every alert job ends with: notices refused by the mail server, or
    recorded but never handed over, whose time has come. Returns how many went out."""
    due = Notice.objects.filter(
        status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")[:batch]
    sent = 0
    for notice in list(due):
        sent += send_notice(notice=notice, now=now).status == NoticeStatus.SENT
    return sent


@dataclass(frozen=True)
class ReminderRun:
    organisations: int
    reminders: int
    sent: int


def _reminder_context(organisation: Organisation, due: list[selectors.DueReminder]) -> dict:
    """What the e-mail lists: the lots grouped by day of expiry in the organisation's
    calendar, and the inactivity deadline if it is near."""
    zone = ZoneInfo(organisation.time_zone)
    lots = sorted((r for r in due if r.lot_id is not None), key=lambda r: r.expires_at)
    days = []
    for day, group in groupby(lots, key=lambda r: r.expires_at.astimezone(zone).date()):
        days.append({"day": day, "credits": sum(r.credits for r in group)})
    inactivity = next((r for r in due if r.lot_id is None), None)
    return {
        "days": days,
        "total": sum(day["credits"] for day in days),
        "inactivity": inactivity,
        "inactivity_day": inactivity.expires_at.astimezone(zone).date() if inactivity else None,
    }


def send_expiry_reminders(*, now: datetime) -> ReminderRun:
    """The reminders job: one e-mail per organisation listing what expires when, at each
    lead time once (never for credits already spent: only live lots, and the e-mail states
    what remains now); then the retries of earlier notices. Safe to run twice or at once."""
    due = selectors.due_lot_reminders(now=now) + selectors.due_inactivity_reminders(now=now)
    due.sort(key=lambda reminder: reminder.organisation_id)
    organisations = Organisation.objects.in_bulk({reminder.organisation_id for reminder in due})
    notices = []
    for organisation_id, group in groupby(due, key=lambda reminder: reminder.organisation_id):
        reminders = list(group)
        organisation = organisations[organisation_id]
        kind = (
            NoticeKind.EXPIRY_REMINDER
            if any(r.lot_id is not None for r in reminders)
            else NoticeKind.INACTIVITY_REMINDER
        )
        try:
            with transaction.atomic():
                notice = record_notice(
                    organisation=organisation,
                    kind=kind,
                    template="expiry_reminder",
                    context=_reminder_context(organisation, reminders),
                    now=now,
                )
                ExpiryReminder.objects.bulk_create(
                    ExpiryReminder(
                        organisation_id=organisation_id,
                        lot_id=r.lot_id,
                        lead_days=r.lead_days,
                        expires_at=r.expires_at,
                        credits=r.credits,
                        notice=notice,
                        created_at=now,
                    )
                    for r in reminders
                )
                webhook_events.credits_expiring(
                    organisation_id=organisation_id, reminders=reminders, now=now
                )
        except IntegrityError:  # another run recorded them a moment ago: it sends them
            logger.info("expiry reminders of organisation %s already recorded", organisation_id)
            continue
        notices.append(notice)
    sent = sum(send_notice(notice=n, now=now).status == NoticeStatus.SENT for n in notices)
    sent += send_pending_notices(now=now)
    return ReminderRun(organisations=len(notices), reminders=len(due), sent=sent)


def _alert_low_balance(
    organisation: Organisation, *, available: int, threshold: int, now: datetime
) -> Notice | None:
    """Disarm the alert and record its e-mail in one transaction (the conditional UPDATE
    makes it once per crossing: of two at once, one finds it disarmed), then send it."""
    LowBalanceAlert.objects.bulk_create(
        [LowBalanceAlert(organisation_id=organisation.pk)], ignore_conflicts=True
    )
    with transaction.atomic():
        claimed = LowBalanceAlert.objects.filter(pk=organisation.pk, armed=True).update(
            armed=False, alerted_at=now
        )
        if not claimed:
            return None
        # Read again after the claim: the figure read before it may predate credits that
        # came back (and re-armed the alert) meanwhile.
        pool = CreditPool.objects.filter(pk=organisation.pk).values("balance", "held").get()
        available = pool["balance"] - pool["held"]
        if available >= threshold:
            transaction.set_rollback(True)
            return None
        notice = record_notice(
            organisation=organisation,
            kind=NoticeKind.LOW_BALANCE,
            template="low_balance",
            context={"available": available, "threshold": threshold},
            now=now,
        )
        webhook_events.low_balance(
            organisation_id=organisation.pk,
            balance=pool["balance"],
            held=pool["held"],
            threshold=threshold,
            now=now,
        )
    return send_notice(notice=notice, now=now)


def check_balance_alerts(*, organisation: Organisation, now: datetime) -> Notice | None:
    """One organisation: e-mail its owners if its available credits (balance − held) are
    under its threshold and the alert is armed; re-arm it if they are back at or above. Call
    it outside a transaction (it sends e-mail). Returns the notice it sent, if any."""
    pool = (
        CreditPool.objects.filter(pk=organisation.pk)
        .values("balance", "held", "low_balance_threshold")
        .first()
    )
    if pool is None:
        return None
    available, threshold = pool["balance"] - pool["held"], pool["low_balance_threshold"]
    if threshold == 0 or available >= threshold:
        # The condition is read again by the UPDATE itself: a figure read a moment ago must
        # not re-arm an alert that a debit since then made due (and sent).
        LowBalanceAlert.objects.filter(
            Q(pk=organisation.pk, armed=False) & selectors.back_above_threshold()
        ).update(armed=True, rearmed_at=now)
        return None
    return _alert_low_balance(organisation, available=available, threshold=threshold, now=now)


def run_balance_alerts(*, now: datetime) -> int:
    """The every-minute job: re-arm, in one UPDATE, every alert whose pool is back at or
    above its threshold; then alert, once, every organisation that one query finds under its
    threshold with its alert armed; then retry notices due. Returns the alerts sent."""
    LowBalanceAlert.objects.filter(Q(armed=False) & selectors.back_above_threshold()).update(
        armed=True, rearmed_at=now
    )
    rows = selectors.pools_under_threshold()
    organisations = Organisation.objects.in_bulk([row.organisation_id for row in rows])
    sent = 0
    for row in rows:
        try:
            notice = _alert_low_balance(
                organisations[row.organisation_id],
                available=row.available,
                threshold=row.threshold,
                now=now,
            )
        except Exception:  # one organisation's trouble never stops the others' alerts
            logger.exception("low-balance alert of organisation %s", row.organisation_id)
            continue
        sent += notice is not None and notice.status == NoticeStatus.SENT
    send_pending_notices(now=now)
    return sent


def _whole(value: object, low: int, high: int, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidAmount(message)
    return value


def set_alert_policy(
    *,
    organisation: Organisation,
    reminder_days: int,
    second_reminder_days: int,
    low_balance_threshold: int,
) -> CreditPool:
    """The owner's lead times and threshold (D3, B1). Refuses, changing nothing, what is
    out of range or a second reminder that would not come after the first."""
    reminder_days = _whole(
        reminder_days,
        0,
        MAX_LEAD_DAYS,
        _("A reminder comes 0 to %(max)d days before the expiry.") % {"max": MAX_LEAD_DAYS},
    )
    second_reminder_days = _whole(
        second_reminder_days,
        0,
        MAX_LEAD_DAYS,
        _("A reminder comes 0 to %(max)d days before the expiry.") % {"max": MAX_LEAD_DAYS},
    )
    if second_reminder_days and second_reminder_days >= reminder_days:
        raise InvalidAmount(
            _("The second reminder comes after the first: give it fewer days before the expiry.")
        )
    low_balance_threshold = _whole(
        low_balance_threshold,
        0,
        MAX_CREDITS,
        _("The threshold is a whole number of credits from 0 (no alert) to %(max)s.")
        % {"max": f"{MAX_CREDITS:,}"},
    )
    return update_policy(
        organisation=organisation,
        reminder_days=reminder_days,
        second_reminder_days=second_reminder_days,
        low_balance_threshold=low_balance_threshold,
    )
