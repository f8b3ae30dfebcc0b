"""What spending leaves behind: holds (credits reserved for work that runs later, S2) and
consumptions (the debit of one action: who, which client, which action, how many credits and
from where, C4, S6). Only `credits.services` writes them; their figures are fixed once
written (triggers: `credits/sql/lots_and_consumptions_kept.*.sql` refuses DELETE,
`credits/sql/consumption_figures_fixed.*.sql` any change of a consumption's figures)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation
from credits.models.fields import (
    CreditCountField,
    PositiveCreditCountField,
)


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


class Hold(models.Model):
    """Credits reserved for a client's work that runs later (S2); resolves exactly once."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="holds")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="holds")
    credits = PositiveCreditCountField(_("credits"))
    from_assigned = CreditCountField(_("from assigned credits"))
    from_pool = CreditCountField(_("from the pool"))
    status = models.CharField(
        _("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE
    )
    action_code = models.CharField(_("action"), max_length=64, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        indexes = [
            models.Index(
                fields=["organisation", "expires_at"],
                condition=Q(status="active"),
                name="hold_active_by_expiry",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits=F("from_assigned") + F("from_pool")),
                name="hold_funding_adds_up",
                violation_error_message=_(
                    "A hold's credits must equal what it takes from assigned credits and from "
                    "the pool."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Hold #{self.pk} {self.credits} ({self.get_status_display()})"


class Consumption(models.Model):
    """One spend by a client: who, which action, its parameters, how many credits (the lots
    that paid are the ledger entries pointing here)."""

    # Every index and every foreign-key check is paid on every debit. The (organisation|client,
    # -created_at) indexes below serve these keys, so they carry no index of their own; and
    # they carry no database constraint (a deferred check per key and row was a sixth of the
    # server's work per debit). What the constraint guarded still holds: only `credits`
    # writes these rows, from the pool and account it has locked; the organisation and the
    # client cannot be deleted while their pool and account (which keep their constraints)
    # exist; consumptions and lots refuse DELETE (credits/sql/lots_and_consumptions_kept.*.sql);
    # and ledger_check proves every link points at a row of the same organisation, which a
    # constraint never checked (S7).
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="consumptions",
        db_index=False,
        db_constraint=False,
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="consumptions",
        db_index=False,
        db_constraint=False,
    )
    action_code = models.CharField(_("action"), max_length=64)
    description = models.CharField(_("description"), max_length=300, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    credits = CreditCountField(_("credits"))
    from_assigned = CreditCountField(_("from assigned credits"), default=0)
    from_pool = CreditCountField(_("from the pool"), default=0)
    hold = models.OneToOneField(
        Hold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consumption",
        verbose_name=_("hold"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("person"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("consumption")
        verbose_name_plural = _("consumptions")
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="consumption_org_recent"),
            models.Index(fields=["client", "-created_at"], name="consumption_client_recent"),
            # Only rows with an actor are indexed (for deleting a user: SET_NULL).
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="consumption_actor"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits=F("from_assigned") + F("from_pool")),
                name="consumption_funding_adds_up",
                violation_error_message=_(
                    "A consumption's credits must equal what it took from assigned credits and "
                    "from the pool."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_code}: {self.credits}"
