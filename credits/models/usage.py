"""A daily roll-up of consumptions, so a year's usage report reads a few thousand rows rather
than a million (S6, M4).

`UsageDay` holds, per organisation, client, action and local day (in the organisation's time
zone), the uses and credits of that day's consumptions (`UsagePersonDay` the same per
person); `UsageRollup.rolled_until` says up to when: every consumption created before it is
counted in both, none after it. Reads add the consumptions from the mark on, live, so a
report is exact whether or not the job ran.
Consumptions are immutable (credits/sql/lots_and_consumptions_kept.*.sql and
consumption_figures_fixed.*.sql), so a day once rolled up never changes.

The tables are derived: `credits.services.roll_up_usage` writes them, and they can be
emptied and rebuilt from the consumptions at any time (as happens when an organisation's time
zone changes: its days no longer start at the same instant).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation


class UsageDay(models.Model):
    # No foreign-key constraints, as on Consumption: these rows are copies of its keys, written
    # only by the roll-up, and the organisation and client are never deleted (PROTECT elsewhere).
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,  # the unique index below starts with it
        db_constraint=False,
    )
    client = models.ForeignKey(
        Client, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    action_code = models.CharField(_("action"), max_length=64)
    day = models.DateField(_("day"))
    uses = models.BigIntegerField(_("uses"))
    credits = models.BigIntegerField(_("credits"))

    class Meta:
        verbose_name = _("usage of a day")
        verbose_name_plural = _("usage by day")
        constraints = [
            # Its index serves "an organisation's days from … to …", the report's one read.
            models.UniqueConstraint(
                fields=["organisation", "day", "client", "action_code"],
                name="usage_day_unique",
                violation_error_message=_(
                    "This day's usage is already counted for the client and action."
                ),
            ),
        ]
        indexes = [
            # One client's days (the drill-down, and a member tied to one client).
            models.Index(fields=["client", "day"], name="usage_day_client"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.action_code}: {self.uses} / {self.credits}"


class UsagePersonDay(models.Model):
    """What one person spent on one local day, for "only mine" (a member's own totals). Apart
    from UsageDay so the reports by client and action, which never ask who, keep reading one
    row per client, action and day however many people spend."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,  # the unique index below starts with it
        db_constraint=False,
    )
    actor_id = models.BigIntegerField(_("who"))  # a user id, kept if the user goes
    day = models.DateField(_("day"))
    uses = models.BigIntegerField(_("uses"))
    credits = models.BigIntegerField(_("credits"))

    class Meta:
        verbose_name = _("usage of a person's day")
        verbose_name_plural = _("usage by person and day")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "actor_id", "day"],
                name="usage_person_day_unique",
                violation_error_message=_("This day's usage is already counted for the person."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} #{self.actor_id}: {self.uses} / {self.credits}"


class UsageRollup(models.Model):
    """How far an organisation's consumptions are rolled up, and in which time zone's days."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="usage_rollup"
    )
    rolled_until = models.DateTimeField(
        _("rolled up until"),
        help_text=_("Every consumption created before this instant is counted in the usage days."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64)

    class Meta:
        verbose_name = _("usage roll-up")
        verbose_name_plural = _("usage roll-ups")

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.rolled_until:%Y-%m-%d %H:%M} ({self.time_zone})"
