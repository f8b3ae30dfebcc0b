"""What the portal tells an organisation's owners by e-mail, and what keeps each message to
once: expiry reminders (D3), low-balance alerts (B1), automatic top-up notices (B2).

Every e-mail is a `Notice` first: recorded and committed (with the row that makes it happen
once), then handed to the mail server outside any transaction, then marked sent. A refusal
stays `failed` and the next run of the jobs sends it again (credits.services.alerts). The
notices are also the owners' log of "what was sent" on the alerts page.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clients.models import Organisation
from credits.models.ledger import Lot


class NoticeKind(models.TextChoices):
    EXPIRY_REMINDER = "expiry_reminder", _("Expiry reminder")
    INACTIVITY_REMINDER = "inactivity_reminder", _("Inactivity reminder")
    LOW_BALANCE = "low_balance", _("Low balance")
    TOP_UP_FAILURE = "top_up_failure", _("Automatic top-up failed")
    TOP_UP_DISABLED = "top_up_disabled", _("Automatic top-up turned off")
    TOP_UP_CAPPED = "top_up_capped", _("Automatic top-up: monthly cap reached")


class NoticeStatus(models.TextChoices):
    """pending: recorded, not yet handed over (or handed over by a job that never came back:
    found after its lease, it is sent again; at least once beats never); sent: the mail
    server accepted it; failed: refused, retried at `next_attempt_at` (none: gave up);
    none: the organisation has no owner with an e-mail address."""

    PENDING = "pending", _("To send")
    SENT = "sent", _("Sent")
    FAILED = "failed", pgettext_lazy("e-mail status", "Failed")
    NONE = "none", _("No recipient")


class Notice(models.Model):
    """One e-mail to an organisation's owners, as it was written (subject, body, recipients
    at the time), so a retry sends the same message and the log shows what went out."""

    organisation = models.ForeignKey(  # served by notice_org_recent
        Organisation, on_delete=models.CASCADE, related_name="notices", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NoticeKind.choices)
    # Notices that must go at most once per something (a month's cap...) carry a key.
    key = models.CharField(_("key"), max_length=100, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    recipients = models.JSONField(_("recipients"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="notice_org_recent"),
            # The retry sweep reads only what is still to send, whatever the log's size.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="notice_to_send",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"],
                condition=~Q(key=""),
                name="notice_key_once_per_organisation",
                violation_error_message=_("This notice was already recorded for the organisation."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class ExpiryReminder(models.Model):
    """The record that one reminder went (or is going) out: for a lot, once per lead time and
    expiry date; for the inactivity expiry (lot empty), once per lead time and deadline.

    The expiry moment is part of both keys: a purchase that extends the credits held (S4)
    moves a lot's expiry, and a new use moves the inactivity deadline (D3); the new date
    earns its own reminders, the old one's records stay as history."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="expiry_reminders"
    )
    # Served by the (lot, lead_days, expires_at) unique index, like the inactivity rows by
    # the (organisation, lead_days, expires_at) one.
    lot = models.ForeignKey(
        Lot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        db_index=False,
    )
    lead_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    expires_at = models.DateTimeField(_("expires at"))
    credits = models.BigIntegerField(_("credits remaining when sent"))
    notice = models.ForeignKey(
        Notice, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("notice")
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "lead_days", "expires_at"],
                condition=Q(lot__isnull=False),
                name="reminder_once_per_lot_and_lead_time",
                violation_error_message=_(
                    "This reminder was already recorded for the lot, lead time and expiry."
                ),
            ),
            models.UniqueConstraint(
                fields=["organisation", "lead_days", "expires_at"],
                condition=Q(lot__isnull=True),
                name="reminder_once_per_inactivity_deadline",
                violation_error_message=_(
                    "This reminder was already recorded for the lead time and inactivity deadline."
                ),
            ),
        ]

    def __str__(self) -> str:
        day = f"{self.expires_at:%Y-%m-%d}"
        return f"{self.organisation}: {self.credits} on {day} ({self.lead_days} days before)"


class LowBalanceAlert(models.Model):
    """Once per crossing (B1): armed until an alert goes, disarmed until available credits
    are back at or above the threshold."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="low_balance_alert"
    )
    armed = models.BooleanField(_("armed"), default=True)
    alerted_at = models.DateTimeField(_("last alert"), null=True, blank=True)
    rearmed_at = models.DateTimeField(_("re-armed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("low-balance alert")
        verbose_name_plural = _("low-balance alerts")

    def __str__(self) -> str:
        return f"{self.organisation}: {'armed' if self.armed else 'alerted'}"
